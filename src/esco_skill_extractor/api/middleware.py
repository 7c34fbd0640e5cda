"""ASGI middleware: request metrics with a last-resort 500, and the request body limit.

:class:`ObservabilityMiddleware` records every HTTP request in :class:`~.metrics.Metrics`
and is the last line of defence: an exception that no handler turned into an answer is
logged with its traceback and answered with a generic 500 JSON body, so no traceback ever
reaches a client.

:class:`BodyLimitMiddleware` caps request bodies (declared or streamed): reading past the
limit raises a 413 :class:`~fastapi.HTTPException`, which the app's handler answers as
JSON like every other error. (Starlette's own body limit answers plain text.)
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics

__all__ = ["BodyLimitMiddleware", "ObservabilityMiddleware"]

logger = logging.getLogger(__name__)

_GENERIC_500 = json.dumps(
    {
        "detail": "Internal server error: the request could not be processed. "
        "The details are in the server log."
    }
).encode()


def _route(scope: Scope) -> str:
    """The route's path template ("/skills/{uri}"), never the raw path (cardinality)."""
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    """Records every HTTP request and turns unhandled exceptions into a generic 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_and_record(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            logger.exception("unhandled error answering %s %s", scope.get("method"), scope.get("path"))
            status = 500
            if not response_started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(_GENERIC_500)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": _GENERIC_500})
        finally:
            self.metrics.in_progress.dec()
            self.metrics.observe_request(
                str(scope.get("method", "")),
                _route(scope),
                status,
                time.perf_counter() - started,
            )


class BodyLimitMiddleware:
    """A 413 (as JSON, through the app's handlers) for bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        limit = self.max_bytes
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._too_large()
            return message

        await self.app(scope, receive_with_limit, send)

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413,
            f"The request body is too large: the limit is {self.max_bytes:,} bytes "
            "(ESCO_MAX_REQUEST_BYTES, ESCO_MAX_UPLOAD_BYTES).",
        )
