"""Backups of the cache and restoring them."""

from __future__ import annotations

from typing import Any

import pytest
from cache_helpers import _damage_flip

from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.errors import CacheCorrupted, CacheError


def test_backup_and_restore(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    path = cache.backup("before-upgrade")
    assert (path / built.key.digest() / "manifest.json").is_file()
    assert cache.backups() == ["before-upgrade"]
    with pytest.raises(CacheError, match="exists already"):
        cache.backup("before-upgrade")
    with pytest.raises(CacheError, match="use letters"):
        cache.backup("../up")
    cache.prune()
    assert cache.list() == [] and cache.backups() == ["before-upgrade"]
    assert cache.restore("before-upgrade") == [built.path]
    fake = FakeEmbedder()
    cache.load_or_build(fake, taxonomy, tables)
    assert fake.calls == 0
    with pytest.raises(CacheError, match="no backup named"):
        cache.restore("nope")


def test_restore_refuses_a_damaged_backup(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    backup = cache.backup("b")
    _damage_flip(backup / built.key.digest() / "skills.npy")
    with pytest.raises(CacheCorrupted):
        cache.restore("b")
