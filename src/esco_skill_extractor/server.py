"""The served application: the HTTP API with the web page mounted on it.

This module is the top of the layers (with the CLI): it composes :mod:`.api`, which knows
nothing of the page, and :mod:`.web`, which builds on the API. Run it with
``esco-skill-extractor serve`` (or ``python -m esco_skill_extractor``), or any ASGI server:
``uvicorn --factory esco_skill_extractor.server:create_app``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from .api import build_api
from .web import routes as web

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .api.service import Loader
    from .extraction import SkillExtractor
    from .settings import Settings

__all__ = ["SlowClientProtocol", "create_app", "uvicorn_options"]

logger = logging.getLogger(__name__)


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


class SlowClientProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers take longer
    than ``header_timeout`` seconds to arrive (a client sending a byte every few seconds
    would otherwise hold a connection for hours; uvicorn's keep-alive timeout restarts
    with every byte). The body and the answer count against the app's deadline
    (``ESCO_REQUEST_TIMEOUT``)."""

    header_timeout: float | None = None  # None: ESCO_HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        timeout = self.header_timeout
        if timeout is None:
            from .settings import get_settings

            timeout = get_settings().header_timeout
        self._header_timer = self.loop.call_later(timeout, self._headers_overdue)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its deadline is the app's
        if not self.transport.is_closing():
            logger.info("closing a connection whose request headers did not arrive in time")
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers get the same time

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings of a server for ``settings``: slow clients timed out, a graceful
    shutdown of ``ESCO_SHUTDOWN_TIMEOUT`` seconds."""
    SlowClientProtocol.header_timeout = settings.header_timeout
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "http": "esco_skill_extractor.server:SlowClientProtocol",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }
