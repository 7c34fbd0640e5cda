"""Bounded work: fair rounds, a bounded queue (503 + Retry-After at once), deadlines,
cancellation when the client leaves, and shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import HTTPException
from fixtures_api import fake_extractor

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.metrics import Metrics
from esco_skill_extractor.api.service import ExtractOptions, ExtractorService
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

OPTIONS = ExtractOptions(None, None, None, "en")


class _Gate:
    """Wraps ``extractor.extract``: records every call's texts; blocks while closed."""

    def __init__(
        self, extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch, delay: float = 0.0
    ) -> None:
        self.calls: list[list[str]] = []
        self.open = threading.Event()
        self.entered = threading.Event()
        real = extractor.extract

        def extract(texts: Sequence[str], **options: Any) -> Any:
            self.calls.append(list(texts))
            self.entered.set()
            assert self.open.wait(10)
            time.sleep(delay)
            return real(texts, **options)

        monkeypatch.setattr(extractor, "extract", extract)

    @property
    def seen(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture
def extractor(tmp_path: Path) -> SkillExtractor:
    return fake_extractor(tmp_path)


def test_a_large_batch_does_not_starve_small_requests(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch, delay=0.01)
    gate.open.set()
    service = ExtractorService(Settings(), Metrics(), extractor=extractor)
    batch = [f"Python developer number {i}." for i in range(160)]

    async def main() -> tuple[bool, int]:
        big = asyncio.create_task(service.extract("extract", batch, OPTIONS))
        await asyncio.sleep(0.05)  # the batch is being worked through
        small = await service.extract("extract", ["Cook wanted."], OPTIONS)
        big_done_first = big.done()
        results = await big
        assert len(small) == 1 and len(results) == len(batch)
        return big_done_first, len(gate.calls)

    big_done_first, calls = asyncio.run(main())
    service.stop()
    assert not big_done_first  # the small request was answered in the middle of the batch
    assert calls >= 160 // 16  # the batch went in slices of at most 16 texts
    assert all(len(call) <= 64 for call in gate.calls)
    assert any("Cook wanted." in call for call in gate.calls[1:-1])


def test_a_full_queue_answers_503_with_retry_after_at_once(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch)
    service = ExtractorService(Settings(max_queue_seconds=2), Metrics(), extractor=extractor)
    service.rate = 1_000.0  # characters per second, as if measured

    async def main() -> None:
        running = asyncio.create_task(service.extract("extract", ["Python"], OPTIONS))
        await asyncio.to_thread(gate.entered.wait, 5)
        queued = asyncio.create_task(service.extract("extract", ["x" * 900], OPTIONS))  # ~1 s
        await asyncio.sleep(0)
        started = time.perf_counter()
        with pytest.raises(HTTPException) as refused:
            await service.extract("extract", ["y" * 1_500], OPTIONS)  # would wait ~1 s + 1.6 s
        assert time.perf_counter() - started < 0.5
        assert refused.value.status_code == 503
        assert refused.value.headers is not None and int(refused.value.headers["Retry-After"]) >= 1
        assert "ESCO_MAX_QUEUE_SECONDS" in str(refused.value.detail)
        # a small one still fits
        small = asyncio.create_task(service.extract("extract", ["Cook"], OPTIONS))
        await asyncio.sleep(0)
        gate.open.set()
        await asyncio.gather(running, queued, small)

    asyncio.run(main())
    service.stop()
    assert (
        service.metrics.registry.get_sample_value("esco_model_refused_total", {"operation": "extract"}) == 1
    )


def test_cancelled_requests_leave_the_queue(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch)
    service = ExtractorService(Settings(), Metrics(), extractor=extractor)

    async def main() -> None:
        running = asyncio.create_task(service.extract("extract", ["Python"], OPTIONS))
        await asyncio.to_thread(gate.entered.wait, 5)
        abandoned = asyncio.create_task(service.extract("extract", ["abandoned text"], OPTIONS))
        await asyncio.sleep(0.01)
        abandoned.cancel()
        gate.open.set()
        await running
        assert await service.extract("extract", ["Cook"], OPTIONS)

    asyncio.run(main())
    service.stop()
    assert "abandoned text" not in gate.seen


def _post(app: Any, path: str, body: bytes, *, leave_after: float | None = None) -> tuple[int | None, float]:
    """POST through the ASGI app; with ``leave_after`` the client disconnects then."""
    status: list[int] = []

    async def main() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(leave_after if leave_after is not None else 3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }
        await app(scope, receive, send)

    started = time.perf_counter()
    asyncio.run(main())
    return (status[0] if status else None), time.perf_counter() - started


def test_work_stops_when_the_client_leaves(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch)
    app = create_app(Settings(), extractor=extractor)
    service: ExtractorService = app.state.service
    blocker = threading.Thread(
        target=lambda: asyncio.run(service.extract("extract", ["Python"], OPTIONS)), daemon=True
    )
    blocker.start()
    assert gate.entered.wait(5)
    status, seconds = _post(app, "/extract-basic", b'{"text": "left behind"}', leave_after=0.2)
    assert status is None and seconds < 2  # no answer: nobody is there to read it
    gate.open.set()
    blocker.join(5)
    assert asyncio.run(service.extract("extract", ["Cook"], OPTIONS))  # the service still works
    assert "left behind" not in gate.seen
    registry = app.state.metrics.registry
    assert registry.get_sample_value(
        "esco_http_requests_total", {"method": "POST", "route": "/extract-basic", "status": "499"}
    )


def test_a_request_past_its_deadline_answers_503(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch)
    app = create_app(Settings(request_timeout=0.5), extractor=extractor)

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/extract-basic", json={"text": "too slow"})

    started = time.perf_counter()
    response = asyncio.run(main())
    assert time.perf_counter() - started < 3
    gate.open.set()
    assert response.status_code == 503
    assert "ESCO_REQUEST_TIMEOUT" in response.json()["detail"]
    assert response.headers["retry-after"]


def test_shutdown_answers_the_queue_and_ends_the_worker(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(extractor, monkeypatch)
    service = ExtractorService(Settings(), Metrics(), extractor=extractor)

    async def main() -> list[Any]:
        running = asyncio.create_task(service.extract("extract", ["Python"], OPTIONS))
        await asyncio.to_thread(gate.entered.wait, 5)
        queued = asyncio.create_task(service.extract("extract", ["queued"], OPTIONS))
        await asyncio.sleep(0.01)
        threading.Timer(0.2, gate.open.set).start()
        started = time.perf_counter()
        await asyncio.to_thread(service.stop, 5.0)
        assert time.perf_counter() - started < 3
        return await asyncio.gather(running, queued, return_exceptions=True)

    running, queued = asyncio.run(main())
    assert not isinstance(running, BaseException)  # the call in progress finished
    assert isinstance(queued, HTTPException) and queued.status_code == 503
    assert "queued" not in gate.seen
    with pytest.raises(HTTPException, match="shutting down"):
        asyncio.run(service.extract("extract", ["after"], OPTIONS))


def test_rounds_reach_every_waiting_request(extractor: SkillExtractor) -> None:
    from esco_skill_extractor.api import service as module

    service = ExtractorService(Settings(), Metrics(), extractor=extractor)
    jobs = [module._Job("extract", [f"text {i}-{j}" for j in range(40)], OPTIONS, None) for i in range(8)]
    service._pending.extend(jobs)
    served: list[set[int]] = []
    for _ in range(4):
        with service._ready_jobs:
            served.append({jobs.index(piece.job) for piece in service._take_round()})
    # 64 texts a round, 16 per request: 4 requests a round, every request within 2 rounds
    assert served[0] == {0, 1, 2, 3} and served[1] == {4, 5, 6, 7}
    assert served[2] == {0, 1, 2, 3} and served[3] == {4, 5, 6, 7}
