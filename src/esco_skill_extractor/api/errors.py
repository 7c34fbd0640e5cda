"""Error answers: every one is JSON whose ``detail`` is a readable string.

* :class:`~esco_skill_extractor.errors.EscoError` subclasses map to a status code in one
  table (:data:`STATUS_CODES`, most specific first);
* validation errors (malformed JSON, wrong types, out-of-range values) answer 422 with a
  ``detail`` naming each field and pydantic's structured list under ``errors``;
* HTTP errors (404, 405, 413, 503 ...) keep their status and headers, with a string detail;
* anything else is caught by :class:`~.metrics.ObservabilityMiddleware`: logged with its
  traceback, answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    CacheError,
    ConceptNotFound,
    EscoError,
    InputError,
    ModelError,
    TaxonomyError,
)

__all__ = ["STATUS_CODES", "describe_validation_errors", "install_error_handlers", "status_for"]

logger = logging.getLogger(__name__)

#: Library error -> HTTP status, most specific first.
STATUS_CODES: tuple[tuple[type[EscoError], int], ...] = (
    (InputError, 422),
    (ConceptNotFound, 404),
    (ModelError, 503),
    (CacheError, 503),
    (TaxonomyError, 500),
    (EscoError, 500),
)

_SOURCES = {
    "query": "query parameter",
    "path": "path parameter",
    "header": "header",
    "cookie": "cookie",
    "form": "form field",
}


def status_for(error: EscoError) -> int:
    """The HTTP status of a library error."""
    return next(code for kind, code in STATUS_CODES if isinstance(error, kind))


def _where(loc: Sequence[Any]) -> str:
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in (*_SOURCES, "body") else "body"
    if not parts:
        return "request body" if source == "body" else source
    name = str(parts[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[1:])
    if source == "body" and isinstance(parts[0], int):
        name = f"item {name}"  # a body that is a JSON array: its items
    return f"{_SOURCES[source]} '{name}'" if source in _SOURCES else name


def describe_validation_errors(errors: Sequence[dict[str, Any]]) -> str:
    """One readable line for pydantic's error list, naming each field."""
    messages = []
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            where = error.get("loc", ("body", "?"))[-1]
            messages.append(
                f"malformed JSON in the request body ({reason} at character {where})"
                if reason
                else "malformed JSON in the request body"
            )
            continue
        messages.append(f"{_where(error.get('loc', ()))}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(dict.fromkeys(messages))


def _structured(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # No "input" (it may echo a 100,000-character text) and no "ctx" (not always JSON).
    return [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return JSONResponse(
        {"detail": describe_validation_errors(errors), "errors": _structured(errors)},
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        {"detail": detail},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _esco_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EscoError)
    status = status_for(exc)
    if status >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return JSONResponse({"detail": str(exc) or type(exc).__name__}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(EscoError, _esco_error)
