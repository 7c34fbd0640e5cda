"""The ONNX Runtime backends (onnx, onnx-int8) against torch, with the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.embedding import load_embedder
from esco_skill_extractor.embedding.spans import embed_with_spans, supports_span_pooling
from esco_skill_extractor.errors import ModelUnavailable, UnknownBackend
from esco_skill_extractor.taxonomy import load_taxonomy

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
SENTENCES = [
    "We are hiring a software developer.",
    "Experienced Python developer, fluent in SQL and Java (computer programming).",
    "Cook wanted for our kitchen; teamwork principles and communication.",
    "Wir suchen einen Koch 😀",
    "x",
]
SPANS = [[(10, 16), (19, 34)], [(0, 11), (12, 28), (40, 43)], [(0, 4)], [(4, 10)], []]


@pytest.fixture(scope="module")
def onnx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the onnx extra)")
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedders(onnx_root: Path):  # type: ignore[no-untyped-def]
    return {
        b: load_embedder("all-MiniLM-L6-v2", backend=b, cache_dir=onnx_root).embedder
        for b in ("onnx", "onnx-int8")
    }


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.slow
def test_vectors_match_torch(bundled_embedder, onnx_embedders) -> None:  # type: ignore[no-untyped-def]
    reference = bundled_embedder.embed(SENTENCES)
    fp32 = onnx_embedders["onnx"].embed(SENTENCES)
    int8 = onnx_embedders["onnx-int8"].embed(SENTENCES)
    assert fp32.shape == int8.shape == reference.shape and fp32.dtype == np.float32
    assert cosines(fp32, reference).min() > 0.9999
    assert cosines(int8, reference).min() > 0.97  # per-channel int8: about 0.99
    assert cosines(int8, reference).mean() > 0.98
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_span_pooling_works_on_onnx(bundled_embedder, onnx_embedders) -> None:  # type: ignore[no-untyped-def]
    assert supports_span_pooling(onnx_embedders["onnx"])
    reference = embed_with_spans(bundled_embedder, SENTENCES, SPANS)
    for backend, minimum in (("onnx", 0.9999), ("onnx-int8", 0.95)):
        pooled = embed_with_spans(onnx_embedders[backend], SENTENCES, SPANS)
        for got, want in zip(pooled, reference, strict=True):
            assert got.shape == want.shape
            assert cosines(got, want).min() > minimum, backend


@pytest.mark.slow
def test_int8_vectors_repeat_within_a_tolerance(onnx_embedders) -> None:  # type: ignore[no-untyped-def]
    """Dynamic quantisation scales activations per batch: repeats are close, not identical."""
    embedder = onnx_embedders["onnx-int8"]
    alone = embedder.embed(SENTENCES[1:2])
    in_batch = embedder.embed(SENTENCES)[1:2]
    assert cosines(alone, in_batch).min() > 0.99
    # The same batch again: close (threads may reduce in another order), not necessarily equal.
    np.testing.assert_allclose(embedder.embed(SENTENCES), embedder.embed(SENTENCES), atol=1e-3)


@pytest.mark.slow
def test_export_is_cached_by_model_identity(
    onnx_root: Path,
    onnx_embedders,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folders = sorted(p.name for p in (onnx_root / "onnx").iterdir() if p.is_dir())
    assert len(folders) == 2 and all(f.startswith("all-MiniLM-L6-v2-") for f in folders)
    info = json.loads((onnx_embedders["onnx-int8"].export_path / "export.json").read_text())
    assert info["quantization"] == "dynamic-int8-per-channel"
    assert info["model_revision"] == onnx_embedders["onnx-int8"].revision
    from esco_skill_extractor.embedding import onnx as onnx_module

    def no_export(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_module, "export_onnx", no_export)
    again = load_embedder("all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=onnx_root).embedder
    assert again.export_path == onnx_embedders["onnx-int8"].export_path


@pytest.mark.slow
def test_cache_keys_apart_from_torch(bundled_embedder, onnx_embedders, esco_mini: Path) -> None:  # type: ignore[no-untyped-def]
    from esco_skill_extractor.cache import EmbeddingCache
    from esco_skill_extractor.cache.recipe import build_views

    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    tables = build_views(taxonomy)
    cache = EmbeddingCache(Path("unused"))
    keys = [
        cache.key_for(e, taxonomy, tables)
        for e in (bundled_embedder, onnx_embedders["onnx"], onnx_embedders["onnx-int8"])
    ]
    assert [k.backend for k in keys] == ["torch", "onnx", "onnx-int8"]
    assert len({k.digest() for k in keys}) == 3


@pytest.mark.slow
def test_loading_an_export_needs_no_torch(onnx_root: Path, onnx_embedders) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from esco_skill_extractor.embedding import load_embedder\n"
        f"e = load_embedder('all-MiniLM-L6-v2', backend='onnx-int8', cache_dir={str(onnx_root)!r})"
        ".embedder\n"
        "assert e.embed(['Python developer']).shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_extraction_with_int8(onnx_root: Path, esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    text = ["Experienced Python developer, fluent in SQL. Cook wanted for our kitchen."]
    results = {}
    for backend in ("torch", "onnx-int8"):
        extractor = SkillExtractor(
            model="all-MiniLM-L6-v2",
            backend=backend,
            device="cpu",
            taxonomy=taxonomy,
            cache_dir=onnx_root,
            show_progress=False,
        )
        assert extractor.embedder.backend == backend  # type: ignore[attr-defined]
        [results[backend]] = extractor.extract(text, skills_threshold=0.3)
    torch_scores = {m.uri: m.score for m in results["torch"].skills}
    int8_scores = {m.uri: m.score for m in results["onnx-int8"].skills}
    assert PYTHON in torch_scores and PYTHON in int8_scores
    assert abs(torch_scores[PYTHON] - int8_scores[PYTHON]) < 0.05


@pytest.mark.slow
def test_cli_backend_option(onnx_root: Path, esco_mini: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from esco_skill_extractor.cli import cli

    source = tmp_path / "ads.jsonl"
    source.write_text(json.dumps({"id": "a", "text": SENTENCES[1]}) + "\n", "utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--esco-dir",
            str(esco_mini),
            "--cache-dir",
            str(onnx_root),
            "--model",
            "all-MiniLM-L6-v2",
            "extract",
            str(source),
            "--backend",
            "onnx-int8",
            "--skills-threshold",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["id"] == "a" and PYTHON in {m["uri"] for m in record["skills"]}


def test_missing_onnxruntime_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ModelUnavailable, match=r"pip install 'esco-skill-extractor\[onnx\]'"):
        load_embedder("all-MiniLM-L6-v2", backend="onnx")


def test_onnx_runs_on_the_cpu_only() -> None:
    with pytest.raises(ModelUnavailable, match="run on the CPU"):
        load_embedder("all-MiniLM-L6-v2", backend="onnx", device="cuda")
    with pytest.raises(UnknownBackend, match="choose one of torch, onnx, onnx-int8"):
        load_embedder("all-MiniLM-L6-v2", backend="tensorrt")  # type: ignore[arg-type]


def test_cls_pooling_model_without_token_types(tiny_bge_m3: Path, tmp_path: Path) -> None:
    """A tiny XLM-R model in bge-m3's layout: CLS pooling, no token_type_ids."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the onnx extra)")
    texts = ["Python developer", "Koch gesucht 😀", "teamwork and communication skills"]
    reference = load_embedder(str(tiny_bge_m3), device="cpu").embedder.embed(texts)
    embedder = load_embedder(str(tiny_bge_m3), backend="onnx", cache_dir=tmp_path).embedder
    assert embedder.pooling == "cls" and supports_span_pooling(embedder)  # type: ignore[attr-defined]
    assert cosines(embedder.embed(texts), reference).min() > 0.9999
    spans = [[(0, 6)], [], [(0, 8)]]
    isolated = embed_with_spans(embedder, texts, spans, pooled=False)  # spans on their own
    assert cosines(isolated[0], embedder.embed([texts[0], "Python"])).min() > 0.9999
    torch_pooled = embed_with_spans(load_embedder(str(tiny_bge_m3), device="cpu").embedder, texts, spans)
    for ours, theirs in zip(embed_with_spans(embedder, texts, spans), torch_pooled, strict=True):
        assert cosines(ours, theirs).min() > 0.9999  # the same token vectors in both runtimes
