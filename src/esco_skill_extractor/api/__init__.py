"""The HTTP API: ``create_app()`` builds the FastAPI application (``serve`` runs it)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
