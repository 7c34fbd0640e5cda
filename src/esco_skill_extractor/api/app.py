"""The HTTP API: :func:`build_api` wires settings, extractor, routes and errors.

This is the API alone. The app that is served (the API plus the web page at ``/ui``) is
:func:`esco_skill_extractor.server.create_app`: run it with ``esco-skill-extractor serve``
(or ``python -m esco_skill_extractor``), or any ASGI server:
``uvicorn --factory esco_skill_extractor.server:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ..__about__ import __version__
from ..settings import Settings, get_settings
from .access import AccessMiddleware
from .errors import install_error_handlers
from .loading import load_from_settings
from .metrics import Metrics
from .middleware import BodyLimitMiddleware, DeadlineMiddleware, ObservabilityMiddleware
from .routes import documents, extract, meta, taxonomy
from .service import ExtractorService, Loader

if TYPE_CHECKING:
    from ..extraction import SkillExtractor

__all__ = ["build_api"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """\
ESCO skills and occupations in free text, with scores and the evidence spans behind them.

* **Front-end endpoints** (`/extract-rich`, `/extract-basic`, `/extract-pdf-skills`,
  `/search/*`, `/categories`, `/health`) answer in the fields the Next.js front end reads.
* **PyPI-compatible** `/extract-skills` and `/extract-occupations` take a JSON array of
  texts and answer an array of arrays of ESCO URIs.
* **`/extract`** answers typed results for many texts at once.
* **`/ui`** is a web page for people (a browser asking for `/` is sent there).

Every error is JSON with a readable `detail` string. While the model loads, `/health`
answers 503 with `status: "loading"`, and extraction answers 503.
"""

_MULTIPART_OVERHEAD = 1_000_000  # form fields and boundaries around an upload


def _configure_logging(level: str) -> None:
    """Show the package's progress when nothing else set logging up (``uvicorn --factory``;
    ``serve`` and test runners configure it themselves)."""
    package = logging.getLogger("esco_skill_extractor")
    if logging.getLogger().handlers or package.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(level.upper())


def build_api(
    settings: Settings | None = None,
    extractor: SkillExtractor | None = None,
    *,
    loader: Loader | None = None,
) -> FastAPI:
    """Build the HTTP API, without the web page (see :func:`~esco_skill_extractor.server.create_app`).

    Args:
        settings: Configuration; default: :func:`get_settings` (``ESCO_*`` variables).
        extractor: A ready extractor to serve (tests, embedding); default: one built from
            ``settings`` in a background thread when the app starts.
        loader: Builds the extractor instead of the default (tests of the loading state).

    Returns:
        The app; its lifespan starts loading the extractor.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> app = build_api(extractor=my_extractor)  # doctest: +SKIP
        >>> client = TestClient(app)  # doctest: +SKIP
        >>> client.post("/extract-skills", json=["Python developer"]).json()  # doctest: +SKIP
        [['http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d']]
    """
    settings = settings if settings is not None else get_settings()
    metrics = Metrics()
    service = ExtractorService(settings, metrics, extractor=extractor, loader=loader or load_from_settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _configure_logging(settings.log_level)
        if service.state == "loading":
            logger.info("loading the extractor in the background; /health answers 503 until it is ready")
        service.start()
        yield
        service.stop(settings.shutdown_timeout)

    app = FastAPI(
        title="ESCO Skill Extractor",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics
    install_error_handlers(app)
    # The last added runs first: CORS (its headers on every answer, preflights answered
    # before any key check), then metrics (its 500s still get CORS headers; it counts
    # 401/429/503/499 too), keys and rate limits, the deadline (cancels work when the client
    # leaves), and the body limit (its 413s go through the error handlers).
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=max(settings.max_request_bytes, settings.max_upload_bytes + _MULTIPART_OVERHEAD),
    )
    app.add_middleware(DeadlineMiddleware, timeout=settings.request_timeout)
    app.add_middleware(
        AccessMiddleware,
        api_keys=settings.api_keys,
        rate_limit=settings.rate_limit,
        metrics_public=settings.metrics_public,
    )
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=settings.cors_methods,
        allow_headers=settings.cors_headers,
        allow_credentials=False,
        max_age=86400,
    )
    for module in (meta, extract, documents, taxonomy):
        app.include_router(module.router)
    return app
