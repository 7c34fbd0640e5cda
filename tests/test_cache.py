from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from esco_skill_extractor.cache import (
    CacheKey,
    EmbeddingCache,
    find_legacy,
    import_legacy,
    read_legacy,
    texts_digest,
)
from esco_skill_extractor.cache.recipe import build_views
from esco_skill_extractor.embedding import Embedder, FakeEmbedder
from esco_skill_extractor.errors import (
    CacheCorrupted,
    CacheError,
    CacheVersionMismatch,
    LegacyCacheError,
)
from esco_skill_extractor.taxonomy import Taxonomy, load_taxonomy

MINI = Path(__file__).parent / "data" / "esco_mini"


@pytest.fixture(scope="module")
def mini() -> tuple[Taxonomy, Mapping[str, Any]]:
    taxonomy = load_taxonomy(MINI, snapshot=False)
    return taxonomy, build_views(taxonomy)


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "embeddings")


def _key(**changes: Any) -> CacheKey:
    base = CacheKey("m", "r1", "1.2.0", "h" * 64, "en", "labels+blob", "1", "t" * 64)
    return replace(base, **changes)


# -- the key ----------------------------------------------------------------------------------
_CHANGED = {"dtype": "float32", "normalized": False, "backend": "onnx", "format_version": 2}


@pytest.mark.parametrize("part", [f.name for f in fields(CacheKey)])
def test_key_changes_with_each_part(part: str) -> None:
    key = _key()
    other = replace(key, **{part: _CHANGED.get(part, str(getattr(key, part)) + "x")})
    assert other.digest() != key.digest()
    assert list(key.differences(other)) == [part]


def test_key_round_trips_and_validates() -> None:
    key = _key(encode_settings='{"passage_prompt": ""}')
    assert CacheKey.from_dict(key.as_dict()) == key
    assert list(key.as_dict())[0] == "format_version"
    with pytest.raises(ValueError, match="missing"):
        CacheKey.from_dict({k: v for k, v in key.as_dict().items() if k != "dtype"})
    with pytest.raises(ValueError, match="wrong type"):
        CacheKey.from_dict({**key.as_dict(), "normalized": "yes"})
    with pytest.raises(ValueError):
        _key(dtype="int8")  # type: ignore[arg-type]


def test_texts_digest_is_unambiguous() -> None:
    assert texts_digest({"s": ["ab", "c"]}) != texts_digest({"s": ["a", "bc"]})
    assert texts_digest({"s": ["a"]}) != texts_digest({"o": ["a"]})
    assert texts_digest({"s": ["a"], "o": []}) != texts_digest({"s": ["a"]})
    assert texts_digest({"s": ["a"], "o": ["b"]}) == texts_digest({"o": ["b"], "s": ["a"]})


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


def _damage_flip(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-7] ^= 0x40
    file.write_bytes(bytes(data))


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


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def test_a_planted_pickle_is_never_unpickled(cache: EmbeddingCache, mini: Any, tmp_path: Path) -> None:
    from esco_skill_extractor.cache.files import sample_sha256 as _sample_sha256

    taxonomy, tables = mini
    built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    marker = tmp_path / "pwned"
    target = built.path / "skills.npy"
    np.save(target, np.array([_Planted(marker)], dtype=object), allow_pickle=True)
    manifest = json.loads((built.path / "manifest.json").read_text())
    manifest["tables"]["skills"].update(bytes=target.stat().st_size, sample_sha256=_sample_sha256(target))
    (built.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CacheCorrupted, match="not a readable .npy"):
        cache.load_or_build(FakeEmbedder(), taxonomy, tables, build=False)
    assert not cache.verify()[0].ok
    cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    assert not marker.exists()


class _Exploding(FakeEmbedder):
    def embed(self, texts: Any, **kwargs: Any) -> np.ndarray:
        if self.calls >= 2:
            raise RuntimeError("out of memory")
        return super().embed(texts, **kwargs)


def test_a_failed_build_leaves_nothing_that_loads(cache: EmbeddingCache, mini: Any) -> None:
    taxonomy, tables = mini
    with pytest.raises(RuntimeError, match="out of memory"):
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


# -- moving caches ----------------------------------------------------------------------------
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


# -- housekeeping -----------------------------------------------------------------------------
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


def test_default_root_follows_esco_home(isolated_home: Path) -> None:
    assert EmbeddingCache().root == isolated_home / "cache" / "embeddings"


# -- legacy caches ----------------------------------------------------------------------------
def _unit_rows(rows: int, dim: int, seed: int = 0) -> Any:
    import torch

    matrix = torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed))
    return matrix / matrix.norm(dim=1, keepdim=True)


def _pypi_pickle(path: Path, tensor: Any) -> Path:
    with path.open("wb") as handle:  # exactly what the PyPI package does
        pickle.dump(tensor, handle)
    return path


def test_legacy_files_are_detected_and_not_loaded(
    cache: EmbeddingCache,
    mini: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import torch

    taxonomy, tables = mini
    cache.root.mkdir(parents=True)
    old = tmp_path / "old-install" / "data"
    old.mkdir(parents=True)
    _pypi_pickle(old / "skill_embeddings.bin", _unit_rows(41, 384))
    _pypi_pickle(old / "occupation_embeddings.bin", _unit_rows(5, 384))
    torch.save(_unit_rows(41, 384), cache.root / "skill_embeddings_75e678d2.bin")
    np.save(cache.root / "skills_75e678d2_v1.2.0.npy", np.zeros((2, 2), np.float32))
    found = {item.path.name: item for item in find_legacy([old.parent, cache.root])}
    assert set(found) == {
        "skill_embeddings.bin",
        "occupation_embeddings.bin",
        "skill_embeddings_75e678d2.bin",
        "skills_75e678d2_v1.2.0.npy",
    }
    assert found["skill_embeddings.bin"].origin == "pypi"
    assert found["occupation_embeddings.bin"].table == "occupations"
    fork = found["skill_embeddings_75e678d2.bin"]
    assert (fork.origin, fork.model_hash, fork.table) == ("fork", "75e678d2", "skills")
    assert found["skills_75e678d2_v1.2.0.npy"].version == "1.2.0"
    assert "never loaded" in fork.advice() and "import-legacy" in fork.advice()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a legacy file was read")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    with caplog.at_level(logging.WARNING):
        built = cache.load_or_build(FakeEmbedder(), taxonomy, tables, show_progress=False)
    assert "skill_embeddings_75e678d2.bin is a legacy cache" in caplog.text
    assert built.key.recipe_name == "labels+blob"
    status = cache.status(built.key, legacy_dirs=[old.parent])
    assert len(status.legacy) == 4 and status.current_state == "ready"


def test_import_legacy_needs_trust(tmp_path: Path, mini: Any) -> None:
    taxonomy, _ = mini
    file = _pypi_pickle(tmp_path / "skill_embeddings.bin", _unit_rows(41, 384))
    with pytest.raises(LegacyCacheError, match="--trust"):
        import_legacy(file, "all-MiniLM-L6-v2", taxonomy=taxonomy)
    with pytest.raises(LegacyCacheError, match="--trust"):
        read_legacy(file)


def test_import_legacy_converts_a_pypi_folder(cache: EmbeddingCache, mini: Any, tmp_path: Path) -> None:
    taxonomy, _ = mini
    folder = tmp_path / "data"
    folder.mkdir()
    skills = _unit_rows(41, 384, seed=1)
    _pypi_pickle(folder / "skill_embeddings.bin", skills)
    _pypi_pickle(folder / "occupation_embeddings.bin", _unit_rows(5, 384, seed=2))
    cached = import_legacy(folder, "all-MiniLM-L6-v2", taxonomy=taxonomy, cache=cache, trust=True)
    assert (cached.key.recipe_name, cached.key.model_id) == ("pypi-blob", "all-MiniLM-L6-v2")
    assert cached.vectors["skills"].shape == (41, 384)
    np.testing.assert_allclose(np.asarray(cached.vectors["skills"], np.float32), skills.numpy(), atol=1e-3)
    assert cached.manifest["legacy"]["sources"]["skills"]["origin"] == "pypi"
    assert all(report.ok for report in cache.verify())


def test_import_legacy_reads_fork_files_with_weights_only(
    cache: EmbeddingCache, mini: Any, tmp_path: Path
) -> None:
    import torch

    taxonomy, _ = mini
    file = tmp_path / "occupation_embeddings_75e678d2.bin"
    torch.save(_unit_rows(5, 384), file)
    cached = import_legacy(file, "all-MiniLM-L6-v2", taxonomy=taxonomy, cache=cache, trust=True)
    assert list(cached.vectors) == ["occupations"]


@pytest.mark.parametrize(("rows", "dim", "message"), [(40, 384, "40 rows"), (41, 768, "768-dimensional")])
def test_import_legacy_checks_shape(tmp_path: Path, mini: Any, rows: int, dim: int, message: str) -> None:
    taxonomy, _ = mini
    file = _pypi_pickle(tmp_path / "skill_embeddings.bin", _unit_rows(rows, dim))
    with pytest.raises(LegacyCacheError, match=message):
        import_legacy(
            file, "all-MiniLM-L6-v2", taxonomy=taxonomy, cache=EmbeddingCache(tmp_path / "c"), trust=True
        )


def test_import_legacy_refuses_a_malicious_pickle(tmp_path: Path, mini: Any) -> None:
    taxonomy, _ = mini
    marker = tmp_path / "pwned"
    file = tmp_path / "skill_embeddings.bin"
    file.write_bytes(pickle.dumps(_Planted(marker)))
    with pytest.raises(LegacyCacheError, match="cannot be read safely|not a tensor"):
        import_legacy(
            file, "all-MiniLM-L6-v2", taxonomy=taxonomy, cache=EmbeddingCache(tmp_path / "c"), trust=True
        )
    assert not marker.exists()


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
