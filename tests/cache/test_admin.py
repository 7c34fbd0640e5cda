"""Housekeeping: status, list and prune, and the default cache root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.embedding import FakeEmbedder


def test_status_list_prune(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    assert cache.status().current_state == "unknown"
    key = cache.key_for(FakeEmbedder(), taxonomy, tables)
    assert cache.status(key).current_state == "missing"
    cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    other = cache.load_or_build(FakeEmbedder(dim=16), taxonomy, tables, show_progress=False)
    status = cache.status(key)
    assert status.current_state == "ready" and len(status.entries) == 2
    summary = status.summary()
    assert [c["current"] for c in summary["caches"]].count(True) == 1
    assert summary["total_bytes"] > 0
    assert cache.prune([key], dry_run=True) == [other.path]
    assert other.path.exists()
    assert cache.prune([key]) == [other.path]
    assert [e.digest for e in cache.list()] == [key.digest()]
    cache.prune()
    assert cache.list() == []


def test_default_root_follows_esco_home(isolated_home: Path) -> None:
    assert EmbeddingCache().root == isolated_home / "cache" / "embeddings"
