"""ESCO itself: search (semantic plus label hits) and skill and occupation details."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from ...extraction import SearchHit
from ...settings import Settings
from ...taxonomy import Taxonomy
from ..deps import ServiceDep, SettingsDep, check_texts, resolve_language
from ..formatting import (
    format_occupation_detail,
    format_occupation_hit,
    format_skill_detail,
    format_skill_hit,
)
from ..schemas import (
    ErrorResponse,
    OccupationDetail,
    OccupationSearchResponse,
    SkillDetail,
    SkillSearchResponse,
)
from ..service import ExtractorService

__all__ = ["concept_uri", "router"]

router = APIRouter(tags=["taxonomy"])

ESCO = "http://data.europa.eu/esco"
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*$")

QueryParam = Annotated[str, Query(description="Words to look for.", examples=["python"])]
LimitParam = Annotated[int, Query(ge=1, le=100, description="Most results.")]
LanguageParam = Annotated[str | None, Query(max_length=8, description="Label language.")]
UriParam = Annotated[
    str, Path(description="The concept URI (http://data.europa.eu/esco/skill/<id>) or its id.")
]

_SEARCH_ERRORS: dict[int | str, dict[str, object]] = {
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}
_DETAIL_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorResponse, "description": "No such concept."},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


def concept_uri(value: str, kind: Literal["skill", "occupation"]) -> str:
    """A full ESCO URI from a URI, a ``skill/<id>`` path or a bare id.

    Tolerates a URI whose ``//`` a client or proxy collapsed (``http:/data...``).
    """
    text = value.strip().rstrip("/")
    last = text.rsplit("/", 1)[-1]
    if text.startswith(("http:/", "https:/")) and f"/esco/{kind}/" not in text:
        return text  # some other URI: looked up as given, so the 404 names it
    return f"{ESCO}/{kind}/{last}" if _ID.match(last) else text


async def _search(
    service: ExtractorService,
    settings: Settings,
    query: str,
    limit: int,
    language: str | None,
    kind: Literal["skill", "occupation"],
) -> tuple[Taxonomy, str, list[SearchHit]]:
    check_texts([query], settings)
    taxonomy = service.require_taxonomy()
    chosen = resolve_language(language, settings, taxonomy)
    hits = await service.run(
        "search", lambda x: x.search(query, kind=kind, limit=limit, language=chosen), [query]
    )
    return taxonomy, chosen, hits


@router.get(
    "/search/skills",
    response_model=SkillSearchResponse,
    responses=_SEARCH_ERRORS,
    summary="Search ESCO skills",
)
async def search_skills(
    service: ServiceDep,
    settings: SettingsDep,
    query: QueryParam,
    limit: LimitParam = 10,
    language: LanguageParam = None,
) -> SkillSearchResponse:
    """Skills ranked by similarity to ``query``, merged with exact and near-exact label
    hits (an exact preferred label scores 1.0)."""
    taxonomy, _, hits = await _search(service, settings, query, limit, language, "skill")
    results = [format_skill_hit(h, taxonomy) for h in hits]
    return SkillSearchResponse(query=query, results=results, total=len(results))


@router.get(
    "/search/occupations",
    response_model=OccupationSearchResponse,
    responses=_SEARCH_ERRORS,
    summary="Search ESCO occupations",
)
async def search_occupations(
    service: ServiceDep,
    settings: SettingsDep,
    query: QueryParam,
    limit: LimitParam = 10,
    language: LanguageParam = None,
) -> OccupationSearchResponse:
    """Occupations ranked by similarity to ``query``, merged with label hits."""
    taxonomy, chosen, hits = await _search(service, settings, query, limit, language, "occupation")
    results = [format_occupation_hit(h, taxonomy, chosen) for h in hits]
    return OccupationSearchResponse(query=query, results=results, total=len(results))


@router.get("/skills/{uri:path}", response_model=SkillDetail, responses=_DETAIL_ERRORS, summary="One skill")
@router.get("/skill/{uri:path}", response_model=SkillDetail, include_in_schema=False)
async def skill_detail(
    uri: UriParam, service: ServiceDep, settings: SettingsDep, language: LanguageParam = None
) -> SkillDetail:
    """A skill's labels, description, collections, skill groups and the occupations that
    list it as essential or optional."""
    taxonomy = service.require_taxonomy()
    chosen = resolve_language(language, settings, taxonomy)
    return format_skill_detail(taxonomy.skill(concept_uri(uri, "skill")), taxonomy, chosen)


@router.get(
    "/occupations/{uri:path}",
    response_model=OccupationDetail,
    responses=_DETAIL_ERRORS,
    summary="One occupation",
)
@router.get("/occupation/{uri:path}", response_model=OccupationDetail, include_in_schema=False)
async def occupation_detail(
    uri: UriParam, service: ServiceDep, settings: SettingsDep, language: LanguageParam = None
) -> OccupationDetail:
    """An occupation's labels, description, ISCO group, essential and optional skills and
    their collections."""
    taxonomy = service.require_taxonomy()
    chosen = resolve_language(language, settings, taxonomy)
    occupation = taxonomy.occupation(concept_uri(uri, "occupation"))
    return format_occupation_detail(occupation, taxonomy, chosen)
