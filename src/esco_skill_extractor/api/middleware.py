"""ASGI middleware: request metrics with a last-resort 500, deadlines, and the body limit.

:class:`ObservabilityMiddleware` records every HTTP request in :class:`~.metrics.Metrics`
and is the last line of defence: an exception that no handler turned into an answer is
logged with its traceback and answered with a generic 500 JSON body, so no traceback ever
reaches a client.

:class:`BodyLimitMiddleware` caps request bodies (declared or streamed): reading past the
limit raises a 413 :class:`~fastapi.HTTPException`, which the app's handler answers as
JSON like every other error. (Starlette's own body limit answers plain text.)

:class:`DeadlineMiddleware` gives every request a deadline and stops its work when the
client leaves: the handler is cancelled (queued model work is dropped, a document being
read has its process killed) and, when no answer has started yet, a deadline is answered
503 (408 while the body was still arriving). A request whose client left is counted with
status 499.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics

__all__ = ["BodyLimitMiddleware", "DeadlineMiddleware", "ObservabilityMiddleware"]

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
        status = 499  # no answer at all: the client left before it (DeadlineMiddleware)
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


def _json_answer(status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> list[Message]:  # type: ignore[assignment]
    body = json.dumps({"detail": detail}).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


class DeadlineMiddleware:
    """Cancels a request's handler at its deadline or when its client disconnects.

    Once the request body has arrived, a watcher waits for the client's
    ``http.disconnect``; it cancels the handler when that comes before the answer is
    complete. At ``timeout`` seconds after the request began the handler is cancelled too,
    and answered 503 with ``Retry-After`` (408 when the body had not arrived yet) unless
    it had started answering.
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = anyio.Event()
        started = answered = left = False
        forwarded: list[Message] = []  # a disconnect the watcher saw, for the handler

        async def receive_watched() -> Message:
            if forwarded:
                return forwarded[0]
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_done.set()
            elif message["type"] == "http.disconnect":
                body_done.set()
            return message

        async def send_watched(message: Message) -> None:
            nonlocal started, answered
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                nonlocal left
                await body_done.wait()
                message = await receive()
                forwarded.append(message)
                if message["type"] == "http.disconnect" and not answered:
                    left = True
                    logger.info(
                        "%s %s: the client left; its work is stopped", scope.get("method"), scope.get("path")
                    )
                    group.cancel_scope.cancel()

            group.start_soon(watch)
            with anyio.move_on_after(self.timeout) as deadline:
                await self.app(scope, receive_watched, send_watched)
            group.cancel_scope.cancel()
        if deadline.cancelled_caught and not left and not started:
            logger.warning(
                "%s %s: no answer within %.0f s (ESCO_REQUEST_TIMEOUT); its work is stopped",
                scope.get("method"),
                scope.get("path"),
                self.timeout,
            )
            if body_done.is_set():
                messages = _json_answer(
                    503,
                    f"The request did not finish within {self.timeout:g} s (ESCO_REQUEST_TIMEOUT); "
                    "the server is busy or the request is too large. Try again later, or send "
                    "fewer or shorter texts.",
                    [(b"retry-after", b"10")],
                )
            else:
                messages = _json_answer(
                    408, f"The request body did not arrive within {self.timeout:g} s (ESCO_REQUEST_TIMEOUT)."
                )
            for message in messages:
                await send(message)
