"""Building the vectors: progress and its estimate, and batches that run out of memory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cache_helpers import MINI

from esco_skill_extractor.cache import EmbeddingCache, encoding
from esco_skill_extractor.cache.encoding import describe_duration, encode_with_stats
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.errors import CacheError
from esco_skill_extractor.extraction.assembly import BUILDING_PHASE, assemble


class _SmallMemory(FakeEmbedder):
    """Runs out of memory, as CUDA does, on batches of more than ``limit`` texts."""

    def __init__(self, limit: int) -> None:
        super().__init__(device="cuda:0")
        self.limit = limit
        self.sizes: list[int] = []

    def embed(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        self.sizes.append(len(texts))
        if len(texts) > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().embed(texts, **kwargs)


def test_a_batch_that_runs_out_of_memory_is_retried_in_halves(
    mini: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, tables = mini
    small = _SmallMemory(limit=5)
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor.cache.encoding"):
        built = encode_with_stats(small, tables, "float32", 32, False)
    reference = encode_with_stats(FakeEmbedder(), tables, "float32", 32, False)
    for name in tables:
        np.testing.assert_array_equal(built.vectors[name], reference.vectors[name])
    assert small.sizes[:4] == [32, 16, 8, 4] and max(small.sizes[3:]) == 4  # halved, then kept
    assert "out of memory on cuda:0 with batches of 32 texts; going on with 16" in caplog.text


def test_out_of_memory_one_text_at_a_time_is_a_clear_error(mini: Any) -> None:
    _, tables = mini
    with pytest.raises(CacheError, match="ran out of memory on cuda:0 embedding one text at a time"):
        encode_with_stats(_SmallMemory(limit=0), tables, "float16", 8, False)


def test_other_errors_are_not_mistaken_for_memory(mini: Any) -> None:
    class Broken(FakeEmbedder):
        def embed(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
            raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        encode_with_stats(Broken(), mini[1], "float16", 8, False)


def test_progress_and_estimate_once_the_rate_is_known(
    mini: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(encoding, "_CALIBRATION_SECONDS", 0.0)
    monkeypatch.setattr(encoding, "_CALIBRATION_BATCHES", 1)
    _, tables = mini
    seen: list[tuple[int, int, float | None]] = []
    with caplog.at_level(logging.INFO, logger="esco_skill_extractor.cache.encoding"):
        built = encode_with_stats(FakeEmbedder(), tables, "float16", 4, False, lambda *a: seen.append(a))
    total = built.unique
    assert [done for done, _, _ in seen] == sorted({done for done, _, _ in seen})  # one call per batch
    assert seen[-1][:2] == (total, total) and seen[0][2] is None
    assert all(left is not None and left >= 0 for _, _, left in seen[2:])
    assert (
        f"embedding {total:,} ESCO texts with fake on cpu:" in caplog.text
        and "texts/s measured" in caplog.text
    )
    assert "To serve sooner" not in caplog.text  # a short build: no advice


def test_a_long_build_says_how_to_serve_sooner(
    mini: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(encoding, "_CALIBRATION_SECONDS", 0.0)
    monkeypatch.setattr(encoding, "_CALIBRATION_BATCHES", 1)
    monkeypatch.setattr(encoding, "_LONG_BUILD_SECONDS", 0.0)
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor.cache.encoding"):
        encode_with_stats(FakeEmbedder(), mini[1], "float16", 4, False)
    [record] = [r for r in caplog.records if "To serve sooner" in r.message]
    assert record.levelno == logging.WARNING
    assert "cache build --device cuda" in record.message and "cache import" in record.message
    assert "all-MiniLM-L6-v2" in record.message


def test_the_phase_reports_the_builds_progress(tmp_path: Path) -> None:
    def phases() -> list[str]:
        seen: list[str] = []
        assemble(
            embedder=FakeEmbedder(),
            esco_dir=MINI,
            cache_dir=tmp_path,
            show_progress=False,
            on_phase=seen.append,
        )
        return seen

    progress = [p for p in phases() if p.startswith(f"{BUILDING_PHASE} of fake: ")]
    assert progress and "texts (100%)" in progress[-1]
    assert not any("texts (" in p for p in phases())  # loaded, not built


def test_build_manifest_records_the_precision(cache: EmbeddingCache, mini: Any) -> None:
    built = cache.load_or_build(FakeEmbedder(), *mini, show_progress=False)
    assert built.manifest["build"]["precision"] == "float32"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (40, "40 s"), (61, "1 min"), (3599, "1 h 00 min"), (12_000, "3 h 20 min")],
)
def test_durations_read_as_people_write_them(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text
