"""The HTTP API: ``build_api()`` builds the FastAPI application of the API alone.

The app that ``serve`` runs, the API plus the web page, is built one layer up by
:func:`esco_skill_extractor.server.create_app`.
"""

from __future__ import annotations

from .app import build_api

__all__ = ["build_api"]
