"""FastAPI dependencies: the app's settings and extractor service, and request checks.

Tests replace them with ``app.dependency_overrides`` or build the app with
``create_app(settings=..., extractor=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ..errors import InputError
from ..settings import Settings
from ..taxonomy import Taxonomy
from .service import ExtractorService

__all__ = [
    "ServiceDep",
    "SettingsDep",
    "check_texts",
    "current_service",
    "current_settings",
    "extraction_language",
    "resolve_language",
]


def current_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def current_service(request: Request) -> ExtractorService:
    """The app's extractor service (loading state, model lock)."""
    service: ExtractorService = request.app.state.service
    return service


SettingsDep = Annotated[Settings, Depends(current_settings)]
ServiceDep = Annotated[ExtractorService, Depends(current_service)]


def check_texts(texts: Sequence[str], settings: Settings) -> None:
    """413 for too many texts or a text over the length limit."""
    if len(texts) > settings.max_batch_size:
        raise HTTPException(
            413,
            f"Too many texts: {len(texts):,}; the limit is {settings.max_batch_size:,} "
            "per request (ESCO_MAX_BATCH_SIZE).",
        )
    limit = settings.max_text_chars
    for position, text in enumerate(texts):
        if len(text) > limit:
            which = "The text" if len(texts) == 1 else f"Text {position}"
            raise HTTPException(
                413,
                f"{which} has {len(text):,} characters; the limit is {limit:,} (ESCO_MAX_TEXT_CHARS).",
            )


def extraction_language(language: str | None, settings: Settings, taxonomy: Taxonomy) -> str | None:
    """The language of an extraction request's texts: its own, else the server's; ``None``
    when neither is set (detected per text)."""
    chosen = language or settings.language
    return resolve_language(chosen, settings, taxonomy) if chosen else None


def resolve_language(language: str | None, settings: Settings, taxonomy: Taxonomy) -> str:
    """The label language of a request: its own, else the server's, else ESCO's primary
    language; one ESCO data has."""
    chosen = (language or settings.language or taxonomy.language).lower()
    if chosen not in taxonomy.languages:
        raise InputError(
            f"language {chosen!r} is not available; this ESCO data has labels in "
            f"{', '.join(taxonomy.languages)}"
        )
    return chosen
