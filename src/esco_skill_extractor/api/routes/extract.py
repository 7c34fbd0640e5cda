"""Extraction from JSON text: rich and basic (the front end), batch (ours), and the PyPI
package's ``/extract-skills`` and ``/extract-occupations``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from ...extraction import SkillExtractor
from ...types import Extraction
from ..deps import ServiceDep, SettingsDep, check_texts, extraction_language
from ..formatting import (
    format_extraction,
    format_processing_time,
    format_rich_occupation,
    format_rich_skill,
)
from ..schemas import (
    BasicResponse,
    BatchExtractRequest,
    BatchExtractResponse,
    ErrorResponse,
    ExtractionMetadata,
    ExtractRequest,
    RichResponse,
    Text,
    Thresholds,
)
from ..service import ExtractOptions, ExtractorService

__all__ = ["extract_one", "rich_response", "router"]

router = APIRouter(tags=["extraction"])

ERRORS: dict[int | str, dict[str, object]] = {
    413: {"model": ErrorResponse, "description": "Text too long, or too many texts."},
    422: {
        "model": ErrorResponse,
        "description": "Malformed JSON, a wrong type, a threshold outside [0, 1], or an unknown language.",
    },
    401: {"model": ErrorResponse, "description": "No valid API key (when ESCO_API_KEYS is set)."},
    429: {"model": ErrorResponse, "description": "Over the rate limit (when ESCO_RATE_LIMIT is set)."},
    503: {
        "model": ErrorResponse,
        "description": "The model is still loading, the queue is full (Retry-After), or the "
        "request passed its deadline.",
    },
}

_PYPI_EXAMPLE = ["We are looking for a software engineer with experience in Java and Python."]


def thresholds_of(
    extractor: SkillExtractor, skills: float | None, occupations: float | None, language: str | None = None
) -> Thresholds:
    """The thresholds a request uses: its own, else those of the model that reads its
    language (the primary language's when it is not known yet)."""
    default_skills, default_occupations = extractor.thresholds(language)
    return Thresholds(
        skills=default_skills if skills is None else skills,
        occupations=default_occupations if occupations is None else occupations,
    )


def _pypi_options(service: ExtractorService, infer_occupations: bool) -> ExtractOptions:
    service.require_extractor()  # 503 while loading
    # The package's defaults: each model's thresholds, the language detected per text.
    return ExtractOptions(None, None, None, None, infer_occupations)


async def extract_one(
    service: ExtractorService,
    text: str,
    *,
    skills_threshold: float | None,
    occupations_threshold: float | None,
    max_results: int,
    language: str | None,
) -> tuple[Extraction, Thresholds]:
    """Extract from one text on the model thread; returns the result and thresholds used."""
    extractor = service.require_extractor()
    options = ExtractOptions(skills_threshold, occupations_threshold, max_results, language)
    [extraction] = await service.extract("extract", [text], options)
    return extraction, thresholds_of(extractor, skills_threshold, occupations_threshold, extraction.language)


def rich_response(
    extraction: Extraction,
    service: ExtractorService,
    thresholds: Thresholds,
    started: float,
) -> RichResponse:
    """The front end's rich shape for one extraction (labels in its language)."""
    taxonomy = service.require_taxonomy()
    language = extraction.language
    skills = [format_rich_skill(m, taxonomy, language) for m in extraction.skills]
    occupations = [format_rich_occupation(m, taxonomy, language) for m in extraction.occupations]
    return RichResponse(
        skills=skills,
        occupations=occupations,
        metadata=ExtractionMetadata(
            processedText=extraction.text,
            totalSkillsFound=len(skills),
            totalOccupationsFound=len(occupations),
            processingTime=format_processing_time(time.perf_counter() - started),
            thresholds=thresholds,
            language=language,
            model=service.model_name,
        ),
    )


@router.post(
    "/extract-rich",
    response_model=RichResponse,
    responses=ERRORS,
    summary="Skills and occupations of a text, with ESCO data",
)
async def extract_rich(request: ExtractRequest, service: ServiceDep, settings: SettingsDep) -> RichResponse:
    """Skills and occupations found in ``text``, best first, each with its ESCO data
    (type, reuse level, description, alternative labels, collections, the occupations that
    use it / the ISCO group, required skills and their collections) and the evidence spans
    of the text that support it. Empty or whitespace-only text gives empty lists."""
    started = time.perf_counter()
    check_texts([request.text], settings)
    language = extraction_language(request.language, settings, service.require_taxonomy())
    extraction, thresholds = await extract_one(
        service,
        request.text,
        skills_threshold=request.skills_threshold,
        occupations_threshold=request.occupations_threshold,
        max_results=request.max_results,
        language=language,
    )
    return rich_response(extraction, service, thresholds, started)


@router.post(
    "/extract-basic",
    response_model=BasicResponse,
    responses=ERRORS,
    summary="Names of the skills and occupations of a text",
)
async def extract_basic(request: ExtractRequest, service: ServiceDep, settings: SettingsDep) -> BasicResponse:
    """Like ``/extract-rich``, answering only the names, best first."""
    check_texts([request.text], settings)
    language = extraction_language(request.language, settings, service.require_taxonomy())
    extraction, _ = await extract_one(
        service,
        request.text,
        skills_threshold=request.skills_threshold,
        occupations_threshold=request.occupations_threshold,
        max_results=request.max_results,
        language=language,
    )
    return BasicResponse(
        skills=[m.label for m in extraction.skills],
        occupations=[m.label for m in extraction.occupations],
    )


@router.post(
    "/extract",
    response_model=BatchExtractResponse,
    responses=ERRORS,
    summary="Typed results for many texts",
)
async def extract_batch(
    request: BatchExtractRequest, service: ServiceDep, settings: SettingsDep
) -> BatchExtractResponse:
    """One result per text, in order: skills and occupations with scores, ESCO
    identifiers and evidence spans (``text[start:end] == evidence.text``), in the
    library's field names."""
    started = time.perf_counter()
    check_texts(request.texts, settings)
    language = extraction_language(request.language, settings, service.require_taxonomy())
    extractor = service.require_extractor()
    options = ExtractOptions(
        request.skills_threshold,
        request.occupations_threshold,
        request.max_results,
        language,
        request.infer_occupations,
    )
    results = await service.extract("extract", request.texts, options)
    # Defaults are per model: those of the request's language (else the primary one's).
    thresholds = thresholds_of(extractor, request.skills_threshold, request.occupations_threshold, language)
    return BatchExtractResponse(
        results=[format_extraction(i, e) for i, e in enumerate(results)],
        model=service.model_name,
        thresholds=thresholds,
        processing_time=round(time.perf_counter() - started, 4),
    )


@router.post(
    "/extract-skills",
    response_model=list[list[str]],
    responses=ERRORS,
    tags=["PyPI package"],
    summary="Skill URIs of each text (PyPI-compatible)",
)
async def extract_skills(
    texts: Annotated[list[Text], Body(examples=[_PYPI_EXAMPLE])],
    service: ServiceDep,
    settings: SettingsDep,
) -> list[list[str]]:
    """The PyPI package's endpoint: a JSON array of texts in, an array of arrays of ESCO
    skill URIs out (one array per text, best first), at the server's thresholds."""
    check_texts(texts, settings)
    # As SkillExtractor.get_skills, batched with concurrent requests.
    results = await service.extract("extract-skills", texts, _pypi_options(service, False))
    return [[m.uri for m in e.skills] for e in results]


@router.post(
    "/extract-occupations",
    response_model=list[list[str]],
    responses=ERRORS,
    tags=["PyPI package"],
    summary="Occupation URIs of each text (PyPI-compatible)",
)
async def extract_occupations(
    texts: Annotated[list[Text], Body(examples=[_PYPI_EXAMPLE])],
    service: ServiceDep,
    settings: SettingsDep,
) -> list[list[str]]:
    """The PyPI package's endpoint: a JSON array of texts in, an array of arrays of ESCO
    occupation URIs out (one array per text, best first), at the server's thresholds."""
    check_texts(texts, settings)
    # As SkillExtractor.get_occupations, batched with concurrent requests.
    results = await service.extract("extract-occupations", texts, _pypi_options(service, True))
    return [[m.uri for m in e.occupations] for e in results]
