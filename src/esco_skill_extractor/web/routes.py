"""The web page at ``/ui`` and its static files (``/ui/static/...``).

The page is rendered on the server with what the server knows (model, ESCO version,
loading state, limits, examples); ``static/app.js`` then calls the HTTP API from the
browser and renders the results, so results update without a page reload.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ..__about__ import __version__
from ..api.deps import ServiceDep, SettingsDep
from ..api.negotiation import PAGE_PATH
from ..api.routes.meta import health_status
from ..api.service import ExtractorService
from ..embedding.registry import DEFAULT_MODEL, model_spec
from ..settings import Settings
from ..taxonomy import COLLECTIONS
from .examples import EXAMPLES

__all__ = ["LANGUAGES", "STATIC_DIR", "STATIC_PATH", "TEMPLATES_DIR", "install", "router"]

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = f"{PAGE_PATH}/static"

#: Label languages the page offers (those the loaded ESCO data lacks are shown disabled).
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}

_MAX_RESULTS = 100  # the API's limit for /extract-rich and /extract-pdf-skills
_UPLOAD_TYPES = ",".join(
    (
        ".pdf",
        ".docx",
        ".txt",
        ".text",
        ".md",
        "application/pdf",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
)
# The page renders untrusted text (the user's, ESCO labels) only through textContent; the
# policy is a second line of defence: no inline script, no third-party anything.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(tags=["web"], include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)


@cache
def _fingerprint(name: str) -> str:
    """A short content hash for cache busting (``app.js?v=...``)."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def _static_url(root_path: str, name: str) -> str:
    return f"{root_path}{STATIC_PATH}/{name}?v={_fingerprint(name)}"


def _page_config(request: Request, service: ExtractorService, settings: Settings) -> dict[str, Any]:
    """What the script needs to start: the server's state, defaults and limits."""
    health = health_status(service).model_dump(mode="json")
    extractor = service.extractor
    if extractor is not None:
        thresholds = {
            "skills": extractor.skills_threshold,
            "occupations": extractor.occupation_threshold,
        }
    else:  # what the configured model will use; the script updates them once it is ready
        spec = model_spec(settings.model or DEFAULT_MODEL)
        thresholds = {"skills": spec.skills_threshold, "occupations": spec.occupations_threshold}
    language = (settings.language or "").lower()  # "": detected per text
    return {
        "api": request.scope.get("root_path", "").rstrip("/"),
        "health": health,
        "thresholds": thresholds,
        "language": language,
        "auth_required": bool(settings.api_keys),  # the page then asks for a key and sends it
        "languages": LANGUAGES,
        "collections": list(COLLECTIONS),
        "limits": {
            "max_text_chars": settings.max_text_chars,
            "max_upload_bytes": settings.max_upload_bytes,
            "max_results": _MAX_RESULTS,
        },
        "examples": [
            {"key": e.key, "title": e.title, "language": e.language, "text": e.text} for e in EXAMPLES
        ],
    }


@router.get(PAGE_PATH, response_class=HTMLResponse, summary="The web page")
async def page(request: Request, service: ServiceDep, settings: SettingsDep) -> Response:
    """Paste or upload a text and see its ESCO skills and occupations, with the evidence."""
    config = _page_config(request, service, settings)
    root_path = config["api"]
    health = config["health"]
    # Until the taxonomy is loaded every language is offered; the script disables those
    # the data lacks once /health lists them.
    available = health["languages"] or list(LANGUAGES)
    offered = {**LANGUAGES, **{code: code for code in available if code not in LANGUAGES}}
    config["languages"] = offered
    selected = config["language"] if config["language"] in available else ""
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "config": config,
            "health": health,
            "version": __version__,
            "root_path": root_path,
            "css_url": _static_url(root_path, "app.css"),
            "js_url": _static_url(root_path, "app.js"),
            "languages": [
                {"code": code, "name": name, "available": code in available} for code, name in offered.items()
            ],
            "language_selected": selected,
            "examples": EXAMPLES,
            "upload_types": _UPLOAD_TYPES,
            "max_results": _MAX_RESULTS,
            "default_max_results": 25,
        },
        headers=_SECURITY_HEADERS,
    )


def install(app: FastAPI) -> None:
    """Add the page and its static files to ``app`` (called by ``server.create_app``)."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="ui-static")
