"""Service endpoints: ``/`` (what this is), ``/health``, ``/categories`` and ``/metrics``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ...__about__ import __version__
from ...embedding.registry import model_spec
from ...taxonomy import COLLECTIONS
from ..deps import ServiceDep
from ..metrics import CONTENT_TYPE, Metrics
from ..negotiation import PAGE_PATH, prefers_html
from ..schemas import CategoriesResponse, ErrorResponse, HealthResponse, RootResponse, Thresholds
from ..service import ExtractorService

__all__ = ["router"]

router = APIRouter(tags=["service"])

FEATURES = [
    "ESCO skills and occupations from free text, with scores and evidence spans",
    "rich results with ESCO categories, relations and ISCO groups",
    "PDF, DOCX and plain-text uploads",
    "batch extraction",
    "semantic and label search of ESCO",
    "skill and occupation details",
    "labels in several languages",
    "PyPI-compatible /extract-skills and /extract-occupations",
    "Prometheus metrics",
]

_VARY = {"Vary": "Accept"}  # the answer at / depends on it

ENDPOINTS = {
    "extract_rich": "/extract-rich",
    "extract_basic": "/extract-basic",
    "extract_pdf": "/extract-pdf-skills",
    "extract_batch": "/extract",
    "extract_skills": "/extract-skills",
    "extract_occupations": "/extract-occupations",
    "search_skills": "/search/skills",
    "search_occupations": "/search/occupations",
    "skill_details": "/skills/{uri}",
    "occupation_details": "/occupations/{uri}",
    "categories": "/categories",
    "health": "/health",
    "metrics": "/metrics",
    "docs": "/docs",
    "ui": PAGE_PATH,
}


def _thresholds(service: ExtractorService) -> Thresholds | None:
    extractor = service.extractor
    if extractor is None:
        return None
    return Thresholds(skills=extractor.skills_threshold, occupations=extractor.occupation_threshold)


@router.get(
    "/",
    response_model=RootResponse,
    summary="What this server is",
    responses={307: {"description": "A browser (Accept prefers text/html): to the web page."}},
)
async def root(request: Request, response: Response, service: ServiceDep) -> Response | RootResponse:
    """Name, version, model and endpoints; always 200, even while the model loads.

    The Next.js front end uses this as its health check. A browser, whose Accept header
    ranks text/html above JSON, is redirected to the web page at ``/ui``; API clients
    (``*/*``, ``application/json``, no Accept) keep getting this JSON.
    """
    if prefers_html(request.headers.get("accept")):
        root_path = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{root_path}{PAGE_PATH}", status_code=307, headers=_VARY)
    response.headers.update(_VARY)
    return RootResponse(
        message="ESCO Skill Extractor API",
        version=__version__,
        model=service.model_name,
        device=service.device,
        status=service.state,
        features=FEATURES,
        endpoints=ENDPOINTS,
    )


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Readiness",
    responses={
        503: {
            "model": HealthResponse,
            "description": "Still loading (status 'loading') or failed ('failed').",
        }
    },
)
async def health(service: ServiceDep) -> Response:
    """200 with status "healthy" once the model and embeddings are loaded.

    While they load (on a first run the embedding cache is built, which takes minutes)
    the answer is 503 with status "loading" and ``detail`` saying what is being done
    (``building_embeddings`` is true while the embedding cache is built); if loading
    failed, 503 with status "failed" and the reason. ``fallback_used`` says that the
    bundled model stands in for the default one (``fallback_reason``: why). On a first start
    with a model whose cache takes long to build, the bundled model answers meanwhile: 200,
    ``standing_in_for`` names the model being prepared and ``detail`` the build's progress.
    """
    body = health_status(service)
    status = 200 if service.state == "healthy" else 503
    headers = {"Retry-After": "10"} if service.state == "loading" else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def health_status(service: ExtractorService) -> HealthResponse:
    """What ``/health`` answers (the web page renders the same)."""
    taxonomy = service.taxonomy
    if service.standing_in_for is not None:
        detail = f"{service.model_name} answers until {service.standing_in_for} is ready: {service.phase}"
    elif service.state == "healthy":
        detail = f"ready; {service.error}" if service.error else "ready"
    elif service.state == "failed":
        detail = service.error
    else:
        detail = f"{service.phase} ({time.time() - service.created:.0f}s so far)"
    extractor = service.extractor
    return HealthResponse(
        status=service.state,
        model=service.model_name,
        device=service.device,
        data_version=taxonomy.version if taxonomy else None,
        skills_count=len(taxonomy.skills) if taxonomy else None,
        occupations_count=len(taxonomy.occupations) if taxonomy else None,
        timestamp=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        version=__version__,
        detail=detail,
        fallback_used=bool(extractor and extractor.fallback_used),
        uptime_seconds=round(time.time() - service.created, 3),
        ready_seconds=round(service.load_seconds, 3) if service.load_seconds is not None else None,
        thresholds=_thresholds(service),
        fallback_reason=extractor.fallback_reason if extractor else "",
        bundled_model=bool(extractor and model_spec(extractor.model_name).bundled),
        building_embeddings=service.building_embeddings,
        standing_in_for=service.standing_in_for,
        languages=list(taxonomy.languages) if taxonomy else [],
    )


@router.get(
    "/categories",
    response_model=CategoriesResponse,
    summary="Skills per ESCO collection",
    responses={503: {"model": ErrorResponse}},
)
async def categories(service: ServiceDep) -> CategoriesResponse:
    """How many skills each collection holds: digital, green, transversal, language,
    research, digComp."""
    taxonomy = service.require_taxonomy()
    counts = taxonomy.collection_counts()
    return CategoriesResponse(
        categories={name: counts.get(name, 0) for name in COLLECTIONS},
        total_skills=len(taxonomy.skills),
        categorized_skills=sum(1 for s in taxonomy.skills.values() if s.collections),
        data_version=taxonomy.version,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """Requests, errors and latency by route, model time, texts and segments processed,
    process memory, in Prometheus' text format."""
    collected: Metrics = request.app.state.metrics
    return Response(collected.exposition(), media_type=CONTENT_TYPE)
