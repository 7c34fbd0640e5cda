"""Access for a shared deployment: optional API keys and rate limits (ASGI middleware).

* **API keys** (``ESCO_API_KEYS``): when set, a request needs ``Authorization: Bearer <key>``
  with one of them, else 401 with a JSON ``detail`` and ``WWW-Authenticate: Bearer``. What
  anyone may read stays open: ``/``, ``/health``, the page at ``/ui`` and its assets, the
  docs (``/docs``, ``/redoc``, ``/openapi.json``), and ``/metrics`` with
  ``ESCO_METRICS_PUBLIC``. CORS preflights (``OPTIONS``) never reach this middleware: the
  CORS middleware in front answers them. Keys are compared in constant time and never
  logged; the metrics and the rate limiter know a key only by a short hash.
* **Rate limits** (``ESCO_RATE_LIMIT``, e.g. ``60/minute``): counted per key, or per client
  IP without keys, with the `limits <https://limits.readthedocs.io>`_ library's moving
  window in memory (per server process); over the limit: 429 with ``Retry-After``. Open
  paths are not counted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["AccessMiddleware", "OPEN_PATHS", "is_open"]

logger = logging.getLogger(__name__)

#: Paths anyone may call, keys or not (with every path under ``/ui/``).
OPEN_PATHS = frozenset({"/", "/health", "/ui", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def is_open(path: str, *, metrics_public: bool) -> bool:
    """Whether ``path`` is served without a key."""
    return path in OPEN_PATHS or path.startswith("/ui/") or (metrics_public and path == "/metrics")


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class AccessMiddleware:
    """401 without a valid key (when keys are configured), 429 over the rate limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Sequence[str] = (),
        rate_limit: str | None = None,
        metrics_public: bool = False,
    ) -> None:
        self.app = app
        self._keys = [key.encode() for key in api_keys]
        self._metrics_public = metrics_public
        self._limits = []
        if rate_limit:
            from limits import parse_many
            from limits.storage import MemoryStorage
            from limits.strategies import MovingWindowRateLimiter

            self._limits = parse_many(rate_limit)
            self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (not self._keys and not self._limits):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if is_open(path, metrics_public=self._metrics_public or not self._keys):
            await self.app(scope, receive, send)
            return
        who: str
        if self._keys:
            key = self._bearer(Headers(scope=scope).get("authorization", ""))
            if key is None:
                await _answer(
                    send,
                    401,
                    "An API key is required: send the header 'Authorization: Bearer <key>'.",
                    [(b"www-authenticate", b'Bearer realm="esco-skill-extractor"')],
                )
                return
            if not self._known(key):
                await _answer(
                    send,
                    401,
                    "The API key is not valid.",
                    [(b"www-authenticate", b'Bearer realm="esco-skill-extractor", error="invalid_token"')],
                )
                return
            who = "key:" + _key_id(key)
        else:
            client = scope.get("client")
            who = "ip:" + (client[0] if client else "unknown")
        if self._limits:
            refused = self._over_limit(who)
            if refused is not None:
                await _answer(
                    send,
                    429,
                    f"Too many requests: the limit is {refused[0]} per "
                    f"{'API key' if self._keys else 'client'} (ESCO_RATE_LIMIT); "
                    f"try again in {refused[1]} s.",
                    [(b"retry-after", str(refused[1]).encode())],
                )
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _bearer(header: str) -> str | None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None

    def _known(self, key: str) -> bool:
        given = key.encode()
        # compare with every key, in constant time each: no early exit tells which matched
        return any([hmac.compare_digest(given, known) for known in self._keys])

    def _over_limit(self, who: str) -> tuple[str, int] | None:
        for item in self._limits:
            if not self._limiter.hit(item, who):
                stats = self._limiter.get_window_stats(item, who)
                return str(item), max(1, math.ceil(stats.reset_time - time.time()))
        return None


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
