"""The embedding cache: build, load, stale and damaged entries, concurrent builds, and the
float16 cache with the real model (slow)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cache_helpers import MINI, _damage_flip, _Planted

from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.cache.recipe import build_views
from esco_skill_extractor.embedding import Embedder, FakeEmbedder
from esco_skill_extractor.errors import CacheCorrupted, CacheVersionMismatch
from esco_skill_extractor.taxonomy import load_taxonomy


# -- build, load, stale -----------------------------------------------------------------------
def test_build_then_hit_with_aligned_rows(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    fake = FakeEmbedder()
    built = cache.load_or_build(fake, taxonomy, tables, show_progress=False)
    unique = len({t for table in tables.values() for t in table.texts})
    assert fake.texts_embedded == unique
    assert built.path == cache.root / built.key.digest()
    for name, table in tables.items():
        vectors = built.vectors[name]
        assert isinstance(vectors, np.memmap) and not vectors.flags.writeable
        assert vectors.dtype == np.float16 and vectors.shape == (len(table.texts), 32)
        expected = FakeEmbedder().embed(list(table.texts))
        np.testing.assert_allclose(vectors.astype(np.float32), expected, atol=2e-3)
    fake.reset_counts()
    again = cache.load_or_build(fake, taxonomy, tables, show_progress=False)
    assert fake.calls == 0 and again.path == built.path
    assert (cache.stats.hits, cache.stats.builds) == (1, 1)
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["key"] == built.key.as_dict()
    assert set(manifest["versions"]) >= {"esco-skill-extractor", "numpy", "torch", "sentence-transformers"}
    assert manifest["tables"]["skills"]["rows"] == len(tables["skills"].texts)
    assert manifest["texts"] == {"total": sum(len(t.texts) for t in tables.values()), "unique": unique}


def test_float16_scores_match_float32(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    fake = FakeEmbedder(dim=64)
    half = cache.load_or_build(fake, taxonomy, tables, dtype="float16", show_progress=False)
    full = cache.load_or_build(fake, taxonomy, tables, dtype="float32", show_progress=False)
    assert half.path != full.path and full.vectors["skills"].dtype == np.float32
    queries = fake.embed(["python programming", "cook meals in a restaurant", "manage a team"])
    for name in tables:
        scores16 = np.asarray(half.vectors[name], np.float32) @ queries.T
        scores32 = np.asarray(full.vectors[name]) @ queries.T
        assert np.abs(scores16 - scores32).max() < 1e-3


def test_vectors_built_on_one_device_load_on_another(cache: EmbeddingCache, mini: Any) -> None:
    import torch

    taxonomy, tables = mini
    cache.load_or_build(FakeEmbedder(device="cuda:0"), taxonomy, tables, show_progress=False)
    on_cpu = FakeEmbedder(device="cpu")
    loaded = EmbeddingCache(cache.root).load_or_build(on_cpu, taxonomy, tables)
    assert on_cpu.calls == 0
    assert json.loads((loaded.path / "manifest.json").read_text())["build"]["device"] == "cuda:0"
    matrix = torch.from_numpy(np.asarray(loaded.vectors["skills"], dtype=np.float32))
    query = torch.from_numpy(on_cpu.embed(["python"]))
    scores = (matrix @ query.T).squeeze(1)
    assert scores.device.type == "cpu" and scores.shape == (len(tables["skills"].texts),)


def test_stale_taxonomy_is_never_served(cache: EmbeddingCache, mini: Any, tmp_path: Path) -> None:
    taxonomy, tables = mini
    cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    edited = tmp_path / "esco"
    shutil.copytree(MINI, edited)
    skills = edited / "skills_en.csv"
    skills.write_text(skills.read_text(encoding="utf-8").replace("Python", "Pithon", 1), encoding="utf-8")
    changed = load_taxonomy(edited, snapshot=False)
    changed_tables = build_views(changed)
    with pytest.raises(CacheVersionMismatch, match="differs in: .*taxonomy_hash"):
        cache.load_or_build(FakeEmbedder(), changed, changed_tables, build=False)
    fake = FakeEmbedder()
    rebuilt = cache.load_or_build(fake, changed, changed_tables, show_progress=False)
    assert fake.calls > 0 and rebuilt.key.taxonomy_hash == changed.content_hash
    assert len(cache.list()) == 2


def test_new_model_revision_is_a_new_cache(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    first = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    fake = FakeEmbedder(revision="retrained")
    second = cache.load_or_build(fake, taxonomy, tables, show_progress=False)
    assert fake.calls > 0 and second.path != first.path


def test_manifest_for_another_key_is_rebuilt(
    cache: EmbeddingCache, mini: Any, caplog: pytest.LogCaptureFixture
) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    manifest_file = built.path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["key"]["model_revision"] = "something else"
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(CacheVersionMismatch, match="model_revision"):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    fake = FakeEmbedder()
    with caplog.at_level(logging.WARNING):
        rebuilt = cache.load_or_build(fake, taxonomy, tables, show_progress=False)
    assert fake.calls > 0 and "rebuilding" in caplog.text
    assert json.loads(manifest_file.read_text())["key"] == rebuilt.key.as_dict()


def _damage_truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[:-50])


def _damage_delete(file: Path) -> None:
    file.unlink()


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_flip, _damage_delete])
def test_damaged_files_are_detected_and_rebuilt(
    cache: EmbeddingCache, mini: Any, damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    good = np.array(built.vectors["skills"])
    del built
    damage(cache.root / _only_digest(cache) / "skills.npy")
    assert not cache.verify()[0].ok
    with pytest.raises(CacheCorrupted):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    fake = FakeEmbedder()
    with caplog.at_level(logging.WARNING):
        rebuilt = cache.load_or_build(fake, taxonomy, tables, show_progress=False)
    assert fake.calls > 0 and "cannot be used" in caplog.text
    np.testing.assert_array_equal(np.asarray(rebuilt.vectors["skills"]), good)
    assert all(report.ok for report in cache.verify())


def _only_digest(cache: EmbeddingCache) -> str:
    (entry,) = cache.list()
    return entry.digest


def test_unreadable_manifest_is_corruption(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    (built.path / "manifest.json").write_text("{not json")
    with pytest.raises(CacheCorrupted, match="unreadable"):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    assert cache.list()[0].state == "corrupted"


def test_a_planted_pickle_is_never_unpickled(cache: EmbeddingCache, mini: Any, tmp_path: Path) -> None:
    from esco_skill_extractor.cache.files import file_sha256 as _file_sha256
    from esco_skill_extractor.cache.files import sample_sha256 as _sample_sha256

    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    marker = tmp_path / "pwned"
    target = built.path / "skills.npy"
    np.save(target, np.array([_Planted(marker)], dtype=object), allow_pickle=True)
    manifest = json.loads((built.path / "manifest.json").read_text())
    manifest["tables"]["skills"].update(
        bytes=target.stat().st_size, sample_sha256=_sample_sha256(target), sha256=_file_sha256(target)
    )
    (built.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CacheCorrupted, match="not a readable .npy"):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    assert not cache.verify()[0].ok
    cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    assert not marker.exists()


class _Exploding(FakeEmbedder):
    def embed(self, texts: Any, **kwargs: Any) -> np.ndarray:
        if self.calls >= 2:
            raise RuntimeError("the model failed")
        return super().embed(texts, **kwargs)


def test_a_failed_build_leaves_nothing_that_loads(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    with pytest.raises(RuntimeError, match="the model failed"):
        cache.load_or_build(_Exploding(), taxonomy, tables, batch_size=16, show_progress=False)
    assert cache.list() == []
    # a killed build leaves a temporary folder: never listed, never loaded, pruned
    key = cache.key_for(FakeEmbedder(), taxonomy, tables)
    leftover = cache.root / f".tmp-{key.digest()}-dead"
    leftover.mkdir(parents=True)
    (leftover / "skills.npy").write_bytes(b"partial")
    assert cache.list() == []
    with pytest.raises(CacheVersionMismatch, match="no embedding cache"):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    assert cache.prune([key], dry_run=True) == [leftover]
    cache.prune([key])
    assert not leftover.exists()


_WORKER = textwrap.dedent("""
    import json, sys, time
    from esco_skill_extractor.cache import EmbeddingCache
    from esco_skill_extractor.embedding import FakeEmbedder
    from esco_skill_extractor.cache.recipe import build_views
    from esco_skill_extractor.taxonomy import load_taxonomy

    class Slow(FakeEmbedder):
        def embed(self, texts, **kwargs):
            time.sleep(0.05)
            return super().embed(texts, **kwargs)

    taxonomy = load_taxonomy(sys.argv[2], snapshot=False)
    cache = EmbeddingCache(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    cached = cache.load_or_build(Slow(), taxonomy, build_views(taxonomy), batch_size=16,
                                 show_progress=False)
    print(json.dumps({"path": str(cached.path), "builds": cache.stats.builds,
                      "rows": len(cached.vectors["skills"])}), flush=True)
""")


def test_two_processes_building_end_with_one_good_cache(tmp_path: Path, mini: Any) -> None:
    root = tmp_path / "shared"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(root), str(MINI)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert sorted(r["builds"] for r in results) == [0, 1]
    assert results[0]["path"] == results[1]["path"]
    cache = EmbeddingCache(root)
    assert [e.state for e in cache.list()] == ["ok"]
    assert all(report.ok for report in cache.verify())
    assert not list(root.glob(".tmp-*"))


# -- with the real model ----------------------------------------------------------------------
@pytest.mark.slow
def test_real_model_float16_cache_scores_within_1e3(
    bundled_embedder: Embedder, mini: Any, tmp_path: Path
) -> None:
    taxonomy, tables = mini
    cache = EmbeddingCache(tmp_path / "embeddings")
    half = cache.load_or_build(bundled_embedder, taxonomy, tables, show_progress=False)
    assert half.key.model_id == "all-MiniLM-L6-v2" and half.manifest["dim"] == 384
    queries = bundled_embedder.embed(["I write Python code", "I cook in a restaurant"])
    for name, table in tables.items():
        rows = slice(0, 40)
        full = bundled_embedder.embed(list(table.texts[rows]), kind="passage")
        scores16 = np.asarray(half.vectors[name][rows], np.float32) @ queries.T
        assert np.abs(scores16 - full @ queries.T).max() < 1e-3


# -- start-up checks: full sums once, then a stamp ----------------------------------------------
def _large_cache(cache: EmbeddingCache) -> Any:
    from esco_skill_extractor.cache.key import CacheKey

    key = CacheKey(
        model_id="test-model",
        model_revision="r1",
        taxonomy_version="1",
        taxonomy_hash="h",
        taxonomy_language="en",
        recipe_name="test",
        recipe_version="1",
        texts_sha256="t",
    )
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((4000, 512)).astype(np.float32)  # 4 MB as float16
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cache.write(key, {"skills": vectors})
    return key


def test_start_up_detects_a_change_anywhere_in_a_large_file(
    cache: EmbeddingCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    from esco_skill_extractor.cache import layout

    key = _large_cache(cache)
    hashed: list[Path] = []
    real = layout.file_sha256
    monkeypatch.setattr(layout, "file_sha256", lambda path: hashed.append(path) or real(path))
    layout.stamp_file(cache.path_for(key)).unlink()  # as a cache from before stamps
    cache.load(key)  # first load: full sums, then the stamp
    assert len(hashed) == 1 and layout.stamp_file(cache.path_for(key)).is_file()
    cache.load(key)
    cache.load(key)
    assert len(hashed) == 1  # later loads: the stamp only
    # change bytes in the middle (neither the first nor the last MiB), keeping size and mtime
    file = cache.path_for(key) / "skills.npy"
    stat = file.stat()
    assert stat.st_size > 3 << 20
    with file.open("r+b") as handle:
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(CacheCorrupted, match="sha256"):
        cache.load(key)
    assert len(hashed) == 2


def test_a_read_only_cache_is_checked_in_full_each_time(
    cache: EmbeddingCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    from esco_skill_extractor.cache import layout

    key = _large_cache(cache)
    layout.stamp_file(cache.path_for(key)).unlink()
    monkeypatch.setattr(layout, "_write_stamp", lambda path, files: None)  # cannot record it
    hashed: list[Path] = []
    real = layout.file_sha256
    monkeypatch.setattr(layout, "file_sha256", lambda path: hashed.append(path) or real(path))
    cache.load(key)
    cache.load(key)
    assert len(hashed) == 2
