"""The served application: the HTTP API with the web page mounted on it.

This module is the top of the layers (with the CLI): it composes :mod:`.api`, which knows
nothing of the page, and :mod:`.web`, which builds on the API. Run it with
``esco-skill-extractor serve`` (or ``python -m esco_skill_extractor``), or any ASGI server:
``uvicorn --factory esco_skill_extractor.server:create_app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api import build_api
from .web import routes as web

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .api.service import Loader
    from .extraction import SkillExtractor
    from .settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    extractor: SkillExtractor | None = None,
    *,
    loader: Loader | None = None,
) -> FastAPI:
    """Build the app that is served: the HTTP API plus the web page at ``/ui``.

    Args:
        settings: Configuration; default: :func:`~esco_skill_extractor.settings.get_settings`
            (``ESCO_*`` variables).
        extractor: A ready extractor to serve (tests, embedding); default: one built from
            ``settings`` in a background thread when the app starts.
        loader: Builds the extractor instead of the default (tests of the loading state).

    Returns:
        The app; its lifespan starts loading the extractor.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> app = create_app(extractor=my_extractor)  # doctest: +SKIP
        >>> client = TestClient(app)  # doctest: +SKIP
        >>> client.post("/extract-skills", json=["Python developer"]).json()  # doctest: +SKIP
        [['http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d']]
    """
    app = build_api(settings, extractor, loader=loader)
    web.install(app)
    return app
