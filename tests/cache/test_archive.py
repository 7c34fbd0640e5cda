"""Moving caches: export to and import from archives, and what an import refuses."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cache_helpers import _damage_flip

from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.errors import CacheCorrupted, CacheVersionMismatch


@pytest.mark.parametrize("name", ["cache.tar.gz", "cache.tar"])
def test_export_import_round_trip(cache: EmbeddingCache, mini: Any, tmp_path: Path, name: str) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    archive = cache.export(built.key, tmp_path / name)
    elsewhere = EmbeddingCache(tmp_path / "other-machine")
    entry = elsewhere.import_(archive, expect_key=built.key)
    assert entry.state == "ok" and entry.digest == built.key.digest()
    fake = FakeEmbedder()
    loaded = elsewhere.load_or_build(fake, taxonomy, tables, verify=True)
    assert fake.calls == 0
    for table in tables:
        np.testing.assert_array_equal(np.asarray(loaded.vectors[table]), np.asarray(built.vectors[table]))
    assert elsewhere.import_(archive).digest == entry.digest  # idempotent


def test_import_refuses_an_archive_for_another_configuration(
    cache: EmbeddingCache, mini: Any, tmp_path: Path
) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    archive = cache.export(built.key, tmp_path / "cache.tar.gz")
    elsewhere = EmbeddingCache(tmp_path / "other-machine")
    expected = replace(built.key, model_id="BAAI/bge-m3", model_revision="abc")
    with pytest.raises(CacheVersionMismatch, match="model_id: archive 'fake', here 'BAAI/bge-m3'"):
        elsewhere.import_(archive, expect_key=expected)
    assert elsewhere.list() == [] and not list(elsewhere.root.glob(".tmp-*"))


def _rewrite_archive(source: Path, target: Path, change: Any) -> None:
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old:
            handle = old.extractfile(member)
            assert handle is not None
            data = change(member.name, handle.read())
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))


def _flip_vectors(name: str, data: bytes) -> bytes:
    if name.endswith("skills.npy"):
        return data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
    return data


@pytest.mark.parametrize(
    "change",
    [
        _flip_vectors,
        lambda name, data: None if name.endswith("occupations.npy") else data,
        lambda name, data: None if name == "SHA256SUMS" else data,
    ],
)
def test_import_refuses_a_damaged_archive(
    cache: EmbeddingCache, mini: Any, tmp_path: Path, change: Any
) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    good = cache.export(built.key, tmp_path / "good.tar")
    bad = tmp_path / "bad.tar"
    _rewrite_archive(good, bad, change)
    elsewhere = EmbeddingCache(tmp_path / "other-machine")
    with pytest.raises(CacheCorrupted):
        elsewhere.import_(bad)
    assert elsewhere.list() == []


def test_import_refuses_path_tricks(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("SHA256SUMS", "../../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    cache = EmbeddingCache(tmp_path / "root" / "embeddings")
    with pytest.raises(CacheCorrupted):
        cache.import_(archive)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "root" / "escaped.txt").exists()


def test_export_refuses_a_corrupted_cache(cache: EmbeddingCache, mini: Any, tmp_path: Path) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    _damage_flip(built.path / "occupations.npy")
    with pytest.raises(CacheCorrupted):
        cache.export(built.key, tmp_path / "x.tar")
    assert not (tmp_path / "x.tar").exists()
