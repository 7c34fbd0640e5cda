"""The Ray API: extract_dataset on a Ray Dataset, the cache shipped to a node that lacks it,
and Ray kept out of a plain import (local Ray, 2 CPUs, test taxonomy, fake model)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures_texts import TEXTS

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.cluster import ExtractorActor, ExtractorSpec, extract_dataset, prepare_cache
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.errors import ClusterError, InputError
from esco_skill_extractor.taxonomy import load_taxonomy


def test_importing_the_package_never_imports_ray() -> None:
    code = (
        "import sys, esco_skill_extractor, esco_skill_extractor.cluster, esco_skill_extractor.cli.main, "
        "esco_skill_extractor.cli.ray_engine; print('ray' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def expected(esco_mini: Path, tmp_path: Path, texts: list[str]) -> list[dict[str, Any]]:
    extractor = SkillExtractor(
        embedder=FakeEmbedder(dim=64),
        taxonomy=load_taxonomy(esco_mini, snapshot=False),
        cache_dir=tmp_path / "library",
        show_progress=False,
    )
    return [json.loads(json.dumps(e.to_dict())) for e in extractor.extract(texts)]


@pytest.mark.slow
def test_extract_dataset_matches_the_library(
    ray_local: Any, esco_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = ray_local.data.DataContext.get_current()
    monkeypatch.setattr(context.execution_options, "preserve_order", True)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts = [f"{TEXTS[i % len(TEXTS)]} Number {i}." for i in range(10)]
    source = tmp_path / "ads"
    source.mkdir()
    for part in range(2):  # two files: Ray Data reads them in parallel
        refs = list(range(part * 5, part * 5 + 5))
        pq.write_table(pa.table({"ref": refs, "body": [texts[i] for i in refs]}), source / f"{part}.parquet")
    ds = ray_local.data.read_parquet(str(source))
    out = extract_dataset(
        ds, text_column="body", batch_size=3, model="fake:64", esco_dir=esco_mini, cache_dir=tmp_path
    )
    rows = out.take_all()
    assert [r["ref"] for r in rows] == list(range(10))
    for row, want in zip(rows, expected(esco_mini, tmp_path, texts), strict=True):
        assert row["error"] is None
        assert row["skills"] == want["skills"] and row["occupations"] == want["occupations"]
    # Parquet written by Ray Data: the CLI's types for the match columns.
    from esco_skill_extractor.cli.outputs import parquet_schema

    out.write_parquet(str(tmp_path / "parquet"))
    schema = pq.read_table(tmp_path / "parquet").schema
    for name in ("error", "skills", "occupations"):
        assert schema.field(name).type == parquet_schema().field(name).type


@pytest.mark.slow
def test_bad_rows_are_error_rows(ray_local: Any, esco_mini: Path, tmp_path: Path) -> None:
    ds = ray_local.data.from_items([{"text": 3}, {"text": 4}])
    rows = extract_dataset(ds, workers=1, model="fake:64", esco_dir=esco_mini, cache_dir=tmp_path).take_all()
    assert [r["error"] for r in rows] == ["'text' is int, not text"] * 2
    assert all(r["skills"] == [] and r["occupations"] == [] for r in rows)
    with pytest.raises(InputError, match="no column 'body'"):
        extract_dataset(ds, text_column="body", model="fake:64", esco_dir=esco_mini, cache_dir=tmp_path)
    with pytest.raises(InputError, match="unknown extractor option"):
        extract_dataset(ds, modle="fake:64")


def test_a_node_without_the_cache_imports_it_instead_of_building(
    ray_local: Any, esco_mini: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    driver = ExtractorSpec(model="fake:64", esco_dir=str(esco_mini), cache_dir=str(tmp_path / "driver"))
    prepared = prepare_cache(driver, ship=True)
    assert prepared.size > 0
    node = ExtractorSpec(model="fake:64", esco_dir=str(esco_mini), cache_dir=str(tmp_path / "node"))
    caplog.clear()  # only what the worker logs
    with caplog.at_level(logging.INFO, logger="esco_skill_extractor"):
        worker = ExtractorActor(node, prepared)
    worker.ready()
    messages = [r.getMessage() for r in caplog.records]
    assert any("imported from the object store" in m for m in messages)
    assert not any("building embeddings" in m for m in messages)
    shipped = tmp_path / "driver" / "embeddings" / prepared.digest / "manifest.json"
    installed = tmp_path / "node" / "embeddings" / prepared.digest / "manifest.json"
    assert installed.read_bytes() == shipped.read_bytes()
    [result] = worker.extract([TEXTS[0]])
    assert result.skills


def test_a_worker_with_another_cache_refuses_to_run(ray_local: Any, esco_mini: Path, tmp_path: Path) -> None:
    prepared = prepare_cache(ExtractorSpec(model="fake:64", esco_dir=str(esco_mini), cache_dir=str(tmp_path)))
    worker = ExtractorActor(
        ExtractorSpec(model="fake:32", esco_dir=str(esco_mini), cache_dir=str(tmp_path)), prepared
    )
    with pytest.raises(ClusterError, match="is not the driver's"):
        worker.extract(["Python"])


def test_every_language_s_cache_is_shipped(
    ray_local: Any, esco_mini: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a model for English and another for the taxonomy's other languages (German here)
    options = {"model": "fake:64", "multilingual_model": "fake:32", "esco_dir": str(esco_mini)}
    prepared = prepare_cache(ExtractorSpec(**options, cache_dir=str(tmp_path / "driver")), ship=True)
    assert len(prepared.archives) == 2 and prepared.archives[0][0] == prepared.digest
    node = ExtractorSpec(**options, cache_dir=str(tmp_path / "node"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="esco_skill_extractor"):
        worker = ExtractorActor(node, prepared)
        [result] = worker.extract(["Wir suchen einen Koch für unsere Küche."])
    messages = [r.getMessage() for r in caplog.records]
    assert sum("imported from the object store" in m for m in messages) == 2
    assert not any("building embeddings" in m for m in messages)
    assert result.language == "de"
    for digest, _ in prepared.archives:
        assert (tmp_path / "node" / "embeddings" / digest / "manifest.json").is_file()
