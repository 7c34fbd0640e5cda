"""Concurrent requests: the model is entered by one thread at a time, off the event loop, and
concurrent texts are batched."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fixtures_api import JOB_AD, fake_extractor

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.errors import InputError
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings


class _WatchedEmbedder(FakeEmbedder):
    """Records how many threads are inside ``embed`` at once, and which threads."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.inside = 0
        self.most_inside = 0
        self.threads: set[int] = set()
        self._count = threading.Lock()

    def embed(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.threads.add(threading.get_ident())
        try:
            time.sleep(0.05)
            return super().embed(texts, **kwargs)
        finally:
            with self._count:
                self.inside -= 1


def test_concurrent_requests_are_safe_and_off_the_event_loop(tmp_path: Path) -> None:
    embedder = _WatchedEmbedder()
    extractor = fake_extractor(tmp_path, embedder)
    app = create_app(Settings(), extractor=extractor)
    texts = [f"{JOB_AD} Request number {i}: Cook wanted." for i in range(12)]
    expected = [extractor.get_skills([t])[0] for t in texts]
    extractor.clear_segment_cache()
    embedder.threads.clear()

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-skills", json=[t]) for t in texts))

    loop_thread = threading.get_ident()
    responses = asyncio.run(run_all())
    assert [r.status_code for r in responses] == [200] * len(texts)
    assert [r.json()[0] for r in responses] == expected
    assert embedder.most_inside == 1  # the model is never entered twice at once
    assert loop_thread not in embedder.threads  # inference ran off the event loop
    registry = app.state.metrics.registry
    calls = registry.get_sample_value("esco_model_batch_texts_count")
    assert registry.get_sample_value("esco_model_batch_texts_sum") == len(texts)
    assert calls < len(texts)  # concurrent requests were batched


def test_a_failing_text_does_not_fail_its_batch(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = extractor.extract

    def picky(texts: Sequence[str], **options: Any) -> Any:
        time.sleep(0.02)
        if any("BAD" in t for t in texts):
            raise InputError("a bad text")
        return real(texts, **options)

    monkeypatch.setattr(extractor, "extract", picky)
    app = create_app(Settings(), extractor=extractor)
    texts = ["Python developer", "BAD input", "Cook wanted", "SQL"] * 2

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-basic", json={"text": t}) for t in texts))

    responses = asyncio.run(run_all())
    for text, response in zip(texts, responses, strict=True):
        assert response.status_code == (422 if "BAD" in text else 200), text
