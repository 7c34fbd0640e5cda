"""Request and response models of the HTTP API (the only pydantic models besides settings).

Two families of names live here on purpose:

* the contract of existing clients, spelled exactly as they read it: camelCase inside rich
  results (``reuseLevel``, ``usedInOccupations``, ``iscoGroup``, ``processingTime``) for the
  Next.js front end, snake_case at the top level where it already was (``data_version``,
  ``skills_count``, ``text_length``);
* our own typed results (``POST /extract``), in the library's snake_case vocabulary.

Extra fields are harmless to both clients, so rich results also carry evidence spans.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "BasicResponse",
    "BatchExtractRequest",
    "BatchExtractResponse",
    "CategoriesResponse",
    "ConceptRef",
    "DocumentBasicResponse",
    "DocumentMetadata",
    "DocumentRichResponse",
    "ErrorResponse",
    "EvidenceOut",
    "ExtractRequest",
    "ExtractionMetadata",
    "ExtractionOut",
    "HealthResponse",
    "OccupationDetail",
    "OccupationMatchOut",
    "OccupationSearchResponse",
    "OccupationSearchResult",
    "RelationCounts",
    "RequiredSkills",
    "RichOccupation",
    "RichResponse",
    "RichSkill",
    "RootResponse",
    "SkillDetail",
    "SkillMatchOut",
    "SkillSearchResponse",
    "SkillSearchResult",
    "SourceInfo",
    "Text",
    "Thresholds",
    "UsedInOccupations",
]

Threshold = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Language = Annotated[str, Field(min_length=2, max_length=8, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?$")]


def _valid_unicode(text: str) -> str:
    """Refuse a lone surrogate (``"\\ud800"`` is valid JSON but not Unicode text): 422."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"not valid Unicode: a lone surrogate (U+{ord(text[exc.start]):04X}) at character "
            f"{exc.start}; send the text as UTF-8 or escape whole surrogate pairs"
        ) from None
    return text


#: A text from a client: any string that is valid Unicode.
Text = Annotated[str, AfterValidator(_valid_unicode)]

_JOB_AD = "We are hiring a software developer. You know Python and SQL, communicate well and enjoy teamwork."


# -- requests -------------------------------------------------------------------------------
class ExtractRequest(BaseModel):
    """One text, as the front end sends it to ``/extract-rich`` and ``/extract-basic``."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"text": _JOB_AD, "max_results": 10}]}
    )

    text: Text = Field(description="The text: a job ad, a CV, a course description ...")
    skills_threshold: Threshold | None = Field(
        default=None, description="Minimum skill score in [0, 1]; default: the server's."
    )
    occupations_threshold: Threshold | None = Field(
        default=None, description="Minimum occupation score in [0, 1]; default: the server's."
    )
    max_results: int = Field(
        default=25, ge=1, le=100, description="At most this many skills and this many occupations."
    )
    language: Language | None = Field(
        default=None, description="Language of labels (en, de, ...); default: the server's."
    )


class BatchExtractRequest(BaseModel):
    """Many texts in one request, answered with our typed results (``POST /extract``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": [_JOB_AD, "Cook wanted."], "max_results": 5}]},
    )

    texts: list[Text] = Field(description="The texts, answered in order.")
    skills_threshold: Threshold | None = Field(
        default=None, description="Minimum skill score in [0, 1]; default: the server's."
    )
    occupations_threshold: Threshold | None = Field(
        default=None, description="Minimum occupation score in [0, 1]; default: the server's."
    )
    max_results: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="At most this many skills and occupations per text.",
    )
    language: Language | None = Field(default=None, description="Language of labels.")
    infer_occupations: bool = Field(
        default=True, description="Also infer occupations from the skills found (ESCO relations)."
    )


# -- shared pieces --------------------------------------------------------------------------
class ErrorResponse(BaseModel):
    """Every error: ``detail`` is always a readable string."""

    detail: str
    errors: list[dict[str, object]] | None = Field(
        default=None, description="Validation errors only: the structured list (loc, msg, type)."
    )


class EvidenceOut(BaseModel):
    """A span of the input that supports a match: ``text == input[start:end]``."""

    start: int
    end: int
    text: str


class Thresholds(BaseModel):
    skills: float
    occupations: float


class ConceptRef(BaseModel):
    name: str
    uri: str


class RelationCounts(BaseModel):
    essential: int
    optional: int


class UsedInOccupations(BaseModel):
    count: int = Field(description="Occupations that list this skill.")
    examples: list[str] = Field(description="Up to 3 of their names, essential first.")
    breakdown: RelationCounts


class RequiredSkills(BaseModel):
    essential: list[str] = Field(description="Up to 10 names; those found in the text first.")
    optional: list[str] = Field(description="Up to 10 names; those found in the text first.")
    totalEssential: int
    totalOptional: int
    essentialFound: list[str] = Field(
        default_factory=list,
        description="Names of its essential skills the text covers, best supported first.",
    )
    optionalFound: list[str] = Field(
        default_factory=list,
        description="Names of its optional skills the text covers, best supported first.",
    )


# -- rich results (the Next.js front end) ----------------------------------------------------
class RichSkill(BaseModel):
    name: str
    uri: str
    type: str = Field(description='"skill/competence", "knowledge" or "".')
    reuseLevel: str
    description: str
    alternatives: list[str]
    categories: list[str] = Field(description="The skill's ESCO collections (digital, green ...).")
    usedInOccupations: UsedInOccupations
    similarity: float
    matchedLabel: str = Field(description="The label closest to the evidence.")
    evidence: list[EvidenceOut] = Field(description="Spans of the text, best supported first.")


class RichOccupation(BaseModel):
    name: str
    uri: str
    iscoGroup: str = Field(description='ISCO-08 unit group code, e.g. "2512".')
    iscoGroupName: str
    description: str
    alternatives: list[str]
    requiredSkills: RequiredSkills
    skillCategories: dict[str, int] = Field(
        description='How many of its skills are in each collection ("general": in none).'
    )
    similarity: float
    source: Literal["text", "skills", "text+skills"] = Field(
        description="Named in the text, inferred from the skills found, or both."
    )
    evidence: list[EvidenceOut]
    textScore: float = Field(default=0.0, description="Similarity to what the text says.")
    skillsScore: float = Field(
        default=0.0, description="Support from the skills found, through ESCO's relations."
    )


class ExtractionMetadata(BaseModel):
    processedText: str
    totalSkillsFound: int
    totalOccupationsFound: int
    processingTime: str = Field(description='Seconds, formatted like "0.42s".')
    thresholds: Thresholds
    language: str
    model: str


class RichResponse(BaseModel):
    skills: list[RichSkill]
    occupations: list[RichOccupation]
    metadata: ExtractionMetadata


class BasicResponse(BaseModel):
    skills: list[str] = Field(description="Skill names, best first.")
    occupations: list[str] = Field(description="Occupation names, best first.")


# -- documents -------------------------------------------------------------------------------
class DocumentMetadata(ExtractionMetadata):
    filename: str
    file_type: Literal["pdf", "docx", "text"]
    pages: int | None = Field(description="Pages of a PDF; null for other files.")
    text_length: int = Field(description="Characters of text extracted from the file.")
    rich_data: bool


class SourceInfo(BaseModel):
    filename: str
    pages: int | None
    text_length: int


class DocumentRichResponse(BaseModel):
    skills: list[RichSkill]
    occupations: list[RichOccupation]
    metadata: DocumentMetadata


class DocumentBasicResponse(BaseModel):
    skills: list[str]
    occupations: list[str]
    metadata: DocumentMetadata
    source_info: SourceInfo


# -- our typed results (POST /extract) --------------------------------------------------------
class SkillMatchOut(BaseModel):
    uri: str
    label: str
    score: float
    skill_type: str
    reuse_level: str
    collections: list[str]
    evidence: list[EvidenceOut]
    matched_label: str


class OccupationMatchOut(BaseModel):
    uri: str
    label: str
    score: float
    isco_code: str
    source: Literal["text", "skills", "text+skills"]
    evidence: list[EvidenceOut]
    text_score: float
    skills_score: float
    essential_skills_found: list[str]
    optional_skills_found: list[str]
    essential_skills_total: int
    optional_skills_total: int


class ExtractionOut(BaseModel):
    index: int = Field(description="Position of the text in the request.")
    language: str
    skills: list[SkillMatchOut]
    occupations: list[OccupationMatchOut]


class BatchExtractResponse(BaseModel):
    results: list[ExtractionOut]
    model: str
    thresholds: Thresholds
    processing_time: float = Field(description="Seconds.")


# -- search and details -----------------------------------------------------------------------
class SkillSearchResult(BaseModel):
    name: str
    uri: str
    similarity: float
    matched: str = Field(description="The label or text that matched.")
    via: Literal["label", "semantic", "label+semantic"]
    type: str
    reuseLevel: str
    categories: list[str]


class OccupationSearchResult(BaseModel):
    name: str
    uri: str
    similarity: float
    matched: str
    via: Literal["label", "semantic", "label+semantic"]
    iscoGroup: str
    description: str = Field(description="The first 200 characters.")


class SkillSearchResponse(BaseModel):
    query: str
    results: list[SkillSearchResult]
    total: int


class OccupationSearchResponse(BaseModel):
    query: str
    results: list[OccupationSearchResult]
    total: int


class SkillDetail(BaseModel):
    name: str
    uri: str
    type: str
    reuseLevel: str
    description: str
    alternatives: list[str]
    categories: list[str]
    skillGroups: list[ConceptRef]
    usedInOccupations: UsedInOccupations
    essentialFor: list[ConceptRef]
    optionalFor: list[ConceptRef]
    language: str


class OccupationDetail(BaseModel):
    name: str
    uri: str
    code: str
    iscoGroup: str
    iscoGroupName: str
    description: str
    alternatives: list[str]
    essentialSkills: list[ConceptRef]
    optionalSkills: list[ConceptRef]
    skillCategories: dict[str, int]
    language: str


# -- service ----------------------------------------------------------------------------------
class RootResponse(BaseModel):
    message: str
    version: str
    model: str
    device: str | None
    status: Literal["healthy", "loading", "failed"]
    features: list[str]
    endpoints: dict[str, str]


class HealthResponse(BaseModel):
    status: Literal["healthy", "loading", "failed"]
    model: str
    device: str | None
    data_version: str | None
    skills_count: int | None
    occupations_count: int | None
    timestamp: str = Field(description="ISO 8601, UTC.")
    version: str
    detail: str = Field(description="What the server is doing (while loading) or what failed.")
    fallback_used: bool
    uptime_seconds: float
    ready_seconds: float | None = Field(description="How long loading took.")
    thresholds: Thresholds | None
    fallback_reason: str = Field(
        default="", description="Why the default model was unavailable (when fallback_used)."
    )
    bundled_model: bool = Field(default=False, description="The model is the small bundled all-MiniLM-L6-v2.")
    building_embeddings: bool = Field(
        default=False,
        description="Loading is building the embedding cache (a first run with this model "
        "and taxonomy: minutes).",
    )
    standing_in_for: str | None = Field(
        default=None,
        description="The model whose embedding cache is being built while this one (the bundled "
        "model) answers; it takes over when ready.",
    )
    languages: list[str] = Field(
        default_factory=list, description="Languages of labels in this ESCO data, once loaded."
    )


class CategoriesResponse(BaseModel):
    categories: dict[str, int] = Field(
        description="Skills per collection: digital, green, transversal, language, research, digComp."
    )
    total_skills: int
    categorized_skills: int = Field(description="Skills in at least one collection.")
    data_version: str
