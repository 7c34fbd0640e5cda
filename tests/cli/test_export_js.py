"""``export-js`` end to end: export with the bundled model and the tiny bge-m3, then the Node
client's parity test (js/, ``npm test``) when node and its packages are installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from esco_skill_extractor.cli import cli
from esco_skill_extractor.export import read_export

JS = Path(__file__).resolve().parents[2] / "js"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def export(esco_mini: Path, cache: Path, out: Path, model: str, *extra: str) -> Path:
    result = run(
        "--esco-dir",
        str(esco_mini),
        "--cache-dir",
        str(cache),
        "export-js",
        str(out),
        "--model",
        model,
        *extra,
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def minilm_export(esco_mini: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(esco_mini, cache, tmp_path_factory.mktemp("js") / "minilm", "all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def bge_export(
    esco_mini: Path, cache: Path, tiny_bge_m3: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("js") / "bge"
    return export(esco_mini, cache, out, str(tiny_bge_m3), "--dtype", "float32")


@pytest.fixture(scope="module")
def esco_mini() -> Path:  # module scope: the exports are shared by the tests below
    return Path(__file__).resolve().parents[1] / "data" / "esco_mini"


def node_parity(folder: Path) -> tuple[float, float]:
    """Run the Node parity test on ``folder``; its minimum cosine and agreement rate."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the JavaScript side of the parity check cannot run")
    if not (JS / "node_modules" / "@huggingface" / "transformers").is_dir():
        if os.environ.get("CI"):
            pytest.fail("js/node_modules is missing: CI must run `npm ci` in js/")
        pytest.skip("the JavaScript client's packages are not installed: run `npm ci` in js/")
    npm = shutil.which("npm")
    assert npm is not None
    done = subprocess.run(
        [npm, "test"],
        cwd=JS,
        env={**os.environ, "ESCO_JS_EXPORT": str(folder)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    found = re.search(r"min cosine ([0-9.]+), identical top-5 ([0-9.]+)%", done.stdout)
    assert found, done.stdout[-4000:]
    return float(found.group(1)), float(found.group(2)) / 100


def load_parity(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "parity.json").read_text("utf-8"))  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_export_holds_what_transformers_js_and_the_client_need(minilm_export: Path) -> None:
    info = read_export(minilm_export, model_id="all-MiniLM-L6-v2", full=True)
    manifest = info.manifest
    model = manifest["model"]
    assert (model["pooling"], model["normalize"], model["max_seq_length"], model["dim"]) == (
        "mean",
        True,
        256,
        384,
    )
    assert manifest["taxonomy"]["version"] == "1.2.0-mini" and manifest["taxonomy"]["languages"] == [
        "en",
        "de",
    ]
    assert manifest["recipe"]["name"] == "labels+blob" and manifest["vectors"]["dtype"] == "float16"
    assert manifest["parity"]["onnx_python_min_cosine"] > 0.9999
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"):
        assert (minilm_export / "model" / name).is_file(), name
    tokenizer_config = json.loads((minilm_export / "model" / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 256  # the limit Python applies, not the tokenizer's 512
    index = json.loads((minilm_export / "vectors" / "index.json").read_text())
    for kind, concepts in (("skills", 41), ("occupations", 5)):
        table = manifest["vectors"]["tables"][kind]
        vectors = np.fromfile(minilm_export / table["file"], dtype="<f2").reshape(table["rows"], 384)
        assert len(index[kind]["uris"]) == table["concepts"] == concepts
        assert len(index[kind]["owners"]) == len(index[kind]["views"]) == table["rows"]
        assert set(index[kind]["labels"]) == {"en", "de"}
        np.testing.assert_allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
    parity = load_parity(minilm_export)
    assert len(parity["texts"]) >= 100
    first = parity["texts"][0]
    assert len(first["vector"]) == 384 and len(first["top"]["skills"]) == 5
    assert (
        parity["model_id"] == "all-MiniLM-L6-v2" and parity["taxonomy_hash"] == manifest["taxonomy"]["hash"]
    )
    python = next(t for t in parity["texts"] if t["text"] == "Python (computer programming)")
    assert (
        python["top"]["skills"][0][0]
        == "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
    )


@pytest.mark.slow
def test_node_gives_the_python_vectors_and_matches(minilm_export: Path) -> None:
    min_cosine, agreement = node_parity(minilm_export)
    assert min_cosine >= 0.999 and agreement >= 0.95


@pytest.mark.slow
def test_bge_m3_exports_the_same_way_with_cls_pooling(bge_export: Path) -> None:
    manifest = read_export(bge_export).manifest
    assert manifest["model"]["pooling"] == "cls" and manifest["vectors"]["dtype"] == "float32"
    assert manifest["recipe"]["name"] == "labels[de,en]+blob"  # a multilingual model embeds every language
    assert (bge_export / "vectors" / "skills.f32").is_file()
    min_cosine, agreement = node_parity(bge_export)
    assert min_cosine >= 0.999 and agreement >= 0.95


@pytest.mark.slow
def test_check_accepts_its_own_export_and_names_what_differs(
    minilm_export: Path, esco_mini: Path, cache: Path, tiny_bge_m3: Path
) -> None:
    base = ["--esco-dir", str(esco_mini), "--cache-dir", str(cache), "export-js"]
    ok = run(*base, str(minilm_export), "--model", "all-MiniLM-L6-v2", "--check")
    assert ok.exit_code == 0 and "a complete export of all-MiniLM-L6-v2 for ESCO 1.2.0-mini" in ok.output
    other = run(*base, str(minilm_export), "--model", str(tiny_bge_m3), "--check")
    assert other.exit_code == 2 and "exported for model 'all-MiniLM-L6-v2'" in other.output
    full = run(
        "--cache-dir", str(cache), "export-js", str(minilm_export), "--model", "all-MiniLM-L6-v2", "--check"
    )
    assert full.exit_code == 2 and "ESCO version '1.2.0-mini', not '1.2.0'" in full.output
    assert "Traceback" not in full.output


@pytest.mark.slow
def test_an_export_is_never_written_over_something_else(
    minilm_export: Path, esco_mini: Path, cache: Path, tmp_path: Path
) -> None:
    base = ["--esco-dir", str(esco_mini), "--cache-dir", str(cache), "export-js"]
    again = run(*base, str(minilm_export), "--model", "all-MiniLM-L6-v2")
    assert again.exit_code == 2 and "already holds an export of all-MiniLM-L6-v2" in again.output
    assert "--overwrite" in again.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    refused = run(*base, str(busy), "--model", "all-MiniLM-L6-v2", "--overwrite")
    assert refused.exit_code == 2 and "holds no export" in refused.output
    assert (busy / "notes.txt").read_text() == "keep me"
    fake = run(*base, str(tmp_path / "fake"), "--model", "fake")
    assert fake.exit_code == 2 and "cannot be exported for JavaScript" in fake.output
    assert not (tmp_path / "fake").exists()
