from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor.embedding import (
    BACKENDS,
    BUNDLED_MODEL,
    DEFAULT_MODEL,
    Embedder,
    FakeEmbedder,
    TokenEncoder,
    bundled_model_path,
    folder_digest,
    load_embedder,
    locate_model,
    model_spec,
    resolve_model,
    select_device,
)
from esco_skill_extractor.embedding.spans import embed_with_spans
from esco_skill_extractor.errors import ModelUnavailable


# -- the fake ---------------------------------------------------------------------------------
def test_fake_is_an_embedder_and_deterministic() -> None:
    fake = FakeEmbedder(dim=16)
    assert isinstance(fake, Embedder)
    a = fake.embed(["Python programming", "cook meals"])
    b = FakeEmbedder(dim=16).embed(["Python programming", "cook meals"], kind="passage")
    assert a.dtype == np.float32 and a.shape == (2, 16)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)


def test_fake_declares_its_cache_identity() -> None:
    """The values cache keys have always had for the fake: backend torch, no settings."""
    fake = FakeEmbedder(dim=8)
    assert (fake.backend, fake.encode_settings) == ("torch", "")
    location = locate_model("fake:8")
    assert (location.backend, location.encode_settings) == (fake.backend, fake.encode_settings)
    assert not isinstance(fake, TokenEncoder)  # spans are encoded on their own


def test_backends_are_one_literal() -> None:
    from typing import get_args

    from esco_skill_extractor.embedding.base import Backend

    assert BACKENDS == get_args(Backend) == ("torch", "onnx", "onnx-int8", "numpy")


def test_importing_the_package_imports_no_model_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, esco_skill_extractor.embedding, esco_skill_extractor.embedding.spans\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'onnxruntime') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_fake_similar_texts_are_closer() -> None:
    v = FakeEmbedder(dim=64).embed(["python programming", "programming in python", "cook meals"])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_fake_counts_batches_and_handles_empty_text() -> None:
    fake = FakeEmbedder()
    out = fake.embed(["a", "b", "c", "", "!!"], batch_size=2)
    assert (fake.batch_count, fake.texts_embedded, fake.calls) == (3, 5, 1)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    assert fake.embed([]).shape == (0, 32)
    with pytest.raises(TypeError):
        fake.embed("one string")  # type: ignore[arg-type]


# -- the registry -----------------------------------------------------------------------------
def test_registry_entries() -> None:
    m3 = model_spec(DEFAULT_MODEL)
    assert (m3.query_prompt, m3.passage_prompt, m3.max_seq_length) == ("", "", 8192)
    assert (m3.skills_threshold, m3.occupations_threshold) == (0.6, 0.55)
    assert model_spec("sentence-transformers/all-MiniLM-L6-v2").name == BUNDLED_MODEL
    assert model_spec("all-minilm-l6-v2").bundled
    small = model_spec("BAAI/bge-small-en-v1.5")
    assert small.name == "BAAI/bge-small-en-v1.5" and small.dim == 384
    assert small.query_prompt.startswith("Represent this sentence") and small.passage_prompt == ""
    assert small.prompt("query") and not small.prompt("passage")


def test_registry_defaults_and_folders() -> None:
    unknown = model_spec("someone/some-model")
    assert not unknown.known
    assert (unknown.query_prompt, unknown.skills_threshold, unknown.occupations_threshold) == ("", 0.6, 0.55)
    assert model_spec("/models/bge-m3").max_seq_length == 8192
    assert not model_spec("/models/all-MiniLM-L6-v2").bundled
    snapshot = "/hf/hub/models--BAAI--bge-base-en-v1.5/snapshots/" + "a" * 40
    assert model_spec(snapshot).name == "BAAI/bge-base-en-v1.5"


# -- devices ----------------------------------------------------------------------------------
def test_select_device_auto_and_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    assert select_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device(None) == "cpu"
    with pytest.raises(ModelUnavailable, match="CUDA is not available"):
        select_device("cuda")
    with pytest.raises(ModelUnavailable, match="MPS is not available"):
        select_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert select_device(None) == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device(None) == "cuda"
    assert select_device("CUDA:1") == "cuda:1"
    with pytest.raises(ModelUnavailable, match="2 CUDA device"):
        select_device("cuda:2")


@pytest.mark.parametrize("bad", ["tpu", "gpu", "cuda:x", "cpu0"])
def test_select_device_rejects_unknown(bad: str) -> None:
    with pytest.raises(ModelUnavailable, match="unknown device"):
        select_device(bad)


# -- locating ---------------------------------------------------------------------------------
def _model_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "model.safetensors").write_bytes(b"\0" * (9 << 20))  # hashed by head and tail
    (root / "README.md").write_text("about")
    return root


def test_folder_digest_tracks_config_and_weights(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m")
    first = folder_digest(folder)
    assert first.startswith("sha256:") and folder_digest(folder) == first
    (folder / "README.md").write_text("edited docs do not change vectors")
    assert folder_digest(folder) == first
    (folder / "config.json").write_text('{"hidden_size": 9}')
    second = folder_digest(folder)
    assert second != first
    with (folder / "model.safetensors").open("r+b") as handle:
        handle.seek(-10, 2)
        handle.write(b"\1")
    assert folder_digest(folder) != second


def test_bundled_model_is_found_without_network() -> None:
    location = locate_model(BUNDLED_MODEL)
    assert location.source == "bundled"
    assert location.path == bundled_model_path()
    assert location.revision and location.revision.startswith("sha256:")
    assert location.dim() == 384
    assert locate_model("sentence-transformers/all-MiniLM-L6-v2").path == location.path


def test_locate_local_folder_and_hub_ids(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "my-model")
    local = locate_model(str(folder))
    assert (local.source, local.model_id, local.dim()) == ("local", str(folder), 8)
    hub = locate_model("someone/not-downloaded")
    assert (hub.source, hub.path, hub.revision) == ("hub", None, None)
    fake = locate_model("fake:16")
    assert (fake.source, fake.dim()) == ("fake", 16)


@pytest.mark.parametrize("name", ["./missing-folder", "/no/such/model", "not a model id!"])
def test_locate_bad_names(name: str) -> None:
    with pytest.raises(ModelUnavailable):
        locate_model(name)


def test_hub_cache_snapshot_keeps_the_hub_identity(tmp_path: Path) -> None:
    snapshot = tmp_path / "models--BAAI--bge-m3" / "snapshots" / ("c" * 40)
    _model_folder(snapshot)
    location = locate_model(str(snapshot))
    assert (location.model_id, location.revision, location.source) == ("BAAI/bge-m3", "c" * 40, "hub-cache")


# -- loading ----------------------------------------------------------------------------------
def test_explicit_unknown_model_raises_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE"):
        load_embedder("nobody/no-such-model", device="cpu")
    with pytest.raises(ModelUnavailable, match="not found"):
        load_embedder("./no-such-folder", device="cpu")
    assert time.perf_counter() - started < 5


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="does not look like a model"):
        load_embedder(str(tmp_path / "empty"), device="cpu")


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from esco_skill_extractor.embedding import hub

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setattr(hub, "_probe_hub", lambda: "huggingface.co:443 cannot be reached")
    with pytest.raises(ModelUnavailable, match="unreachable"):
        load_embedder("nobody/no-such-model", device="cpu")


def test_resolve_default_without_bge_m3_falls_back() -> None:
    choice = resolve_model(None)
    assert choice.fallback_used and choice.location.model_id == BUNDLED_MODEL
    assert "HF_HUB_OFFLINE" in choice.fallback_reason
    assert not resolve_model(BUNDLED_MODEL).fallback_used


def test_fake_model_name_loads_the_fake() -> None:
    loaded = load_embedder("fake:8", device="cpu")
    assert isinstance(loaded.embedder, FakeEmbedder) and loaded.embedder.dim == 8


@pytest.mark.slow
def test_default_falls_back_to_bundled_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor"):
        loaded = load_embedder(None, device="cpu")
    assert loaded.fallback_used and loaded.requested is None
    assert loaded.embedder.model_id == BUNDLED_MODEL
    assert "HF_HUB_OFFLINE" in loaded.fallback_reason
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert DEFAULT_MODEL in warning and "hf download BAAI/bge-m3" in warning
    assert BUNDLED_MODEL in warning


@pytest.mark.slow
def test_bundled_model_encodes(bundled_embedder: Embedder) -> None:
    texts = ["Python programming", "Python programming", "software development in Python", "bake bread"]
    vectors = bundled_embedder.embed(texts, kind="passage")
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[1])  # de-duplicated, same row
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[3] + 0.2
    assert bundled_embedder.revision == locate_model(BUNDLED_MODEL).revision
    assert bundled_embedder.device == "cpu"


@pytest.mark.slow
def test_bundled_model_declares_backend_and_token_vectors(bundled_embedder: Embedder) -> None:
    location = locate_model(BUNDLED_MODEL)
    assert (bundled_embedder.backend, bundled_embedder.encode_settings) == ("torch", location.encode_settings)
    assert isinstance(bundled_embedder, TokenEncoder) and bundled_embedder.supports_span_pooling
    out = bundled_embedder.encode_tokens(["Python developer", "x"])
    assert out.tokens.shape[:2] == out.mask.shape == out.offsets.shape[:2] and out.sentence.shape == (2, 384)
    assert out.tokens.dtype == out.sentence.dtype == np.float32 and out.mask.dtype == bool


@pytest.mark.slow
def test_tiny_bge_m3_loads_through_the_same_path(tiny_bge_m3: Path) -> None:
    loaded = load_embedder(str(tiny_bge_m3), device="cpu")
    embedder = loaded.embedder
    assert not loaded.fallback_used
    assert embedder.dim == 32 and embedder.model_id == str(tiny_bge_m3.resolve())
    assert embedder.revision == folder_digest(tiny_bge_m3)
    assert embedder.spec.max_seq_length == 8192  # type: ignore[attr-defined]  # bge-m3 entry
    texts = ["develop web applications with Python", "mit Kunden kommunizieren", "x " * 500]
    vectors = embedder.embed(texts, kind="passage", batch_size=2)
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = load_embedder(str(tiny_bge_m3), device="cpu").embedder.embed(texts[:1], kind="passage")
    np.testing.assert_allclose(again[0], vectors[0], atol=1e-6)


@pytest.mark.slow
def test_cls_model_pools_spans_from_one_pass(tiny_bge_m3: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bge-m3's layout (CLS pooling): the text's row is its CLS vector, exactly as ``embed``
    gives it; a span's row is the mean of the span's own token vectors from the same pass;
    ``pooled=False`` encodes each span on its own (a CLS vector again)."""
    monkeypatch.setenv("ESCO_TORCH_PRECISION", "float32")
    embedder = load_embedder(str(tiny_bge_m3), device="cpu").embedder
    assert isinstance(embedder, TokenEncoder) and embedder.supports_span_pooling
    text, spans = "develop web applications with Python", [(0, 7), (8, 24), (30, 36)]
    [pooled] = embed_with_spans(embedder, [text], [spans])
    [isolated] = embed_with_spans(embedder, [text], [spans], pooled=False)
    np.testing.assert_allclose(pooled[0], embedder.embed([text])[0], atol=1e-5)
    np.testing.assert_allclose(isolated, embedder.embed([text, *(text[a:b] for a, b in spans)]), atol=1e-5)
    out = embedder.encode_tokens([text])
    starts, ends = out.offsets[0, :, 0], out.offsets[0, :, 1]
    for row, (a, b) in enumerate(spans, start=1):
        inside = out.mask[0] & (ends > starts) & (starts < b) & (ends > a)
        mean = out.tokens[0][inside].mean(axis=0)
        np.testing.assert_allclose(pooled[row], mean / np.linalg.norm(mean), atol=1e-5)
        assert abs(float(pooled[row] @ isolated[row])) < 0.9999  # a different vector: not encoded alone


@pytest.mark.slow
def test_query_precision_follows_the_setting(tiny_bge_m3: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["develop web applications with Python", "mit Kunden kommunizieren"]
    monkeypatch.setenv("ESCO_TORCH_PRECISION", "float32")
    exact = load_embedder(str(tiny_bge_m3), device="cpu").embedder
    assert exact.query_precision == "float32"  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        exact.embed(texts, kind="query"), exact.embed(texts, kind="passage"), atol=1e-6
    )
    monkeypatch.setenv("ESCO_TORCH_PRECISION", "bfloat16")
    mixed = load_embedder(str(tiny_bge_m3), device="cpu").embedder
    assert mixed.query_precision == "bfloat16"  # type: ignore[attr-defined]
    queries, passages = mixed.embed(texts, kind="query"), mixed.embed(texts, kind="passage")
    np.testing.assert_allclose(passages, exact.embed(texts, kind="passage"), atol=1e-6)
    assert ((queries * passages).sum(axis=1) > 0.99).all()
    assert np.abs(queries - passages).max() > 1e-6  # close, and really computed in bfloat16
    monkeypatch.setenv("ESCO_TORCH_PRECISION", "half")
    with pytest.raises(ModelUnavailable, match="ESCO_TORCH_PRECISION must be"):
        load_embedder(str(tiny_bge_m3), device="cpu")


def test_passages_run_in_float16_on_a_gpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from esco_skill_extractor.embedding.sentence_transformers import _passage_precision

    monkeypatch.delenv("ESCO_TORCH_PRECISION", raising=False)
    assert (_passage_precision("cuda:0"), _passage_precision("cpu"), _passage_precision("mps")) == (
        "float16",
        "float32",
        "float32",
    )
    monkeypatch.setenv("ESCO_TORCH_PRECISION", "float32")
    assert _passage_precision("cuda") == "float32"  # exact vectors when asked for
