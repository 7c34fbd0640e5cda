from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from esco_skill_extractor.cli import cli

MINI = Path(__file__).parents[1] / "data" / "esco_mini"


def run(*args: str, model: str | None = "fake", input: str | None = None) -> Result:
    options = ["--esco-dir", str(MINI)] + (["--model", model] if model else [])
    return CliRunner().invoke(cli, [*options, *args], input=input)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cache_root(home: Path) -> Path:
    return home / "cache" / "embeddings"


def test_status_build_list_verify(isolated_home: Path) -> None:
    status = as_json(run("cache", "status", "--json"))
    assert status["current"]["state"] == "missing" and status["caches"] == []
    assert status["root"] == str(cache_root(isolated_home))

    built = run("cache", "build", "--no-progress")
    assert built.exit_code == 0, built.output
    assert "Embedding cache built" in built.stdout

    status = as_json(run("cache", "status", "--json"))
    assert status["current"]["state"] == "ready" and status["current"]["model"] == "fake"
    (entry,) = status["caches"]
    assert entry["current"] and entry["state"] == "ok" and entry["dim"] == 32
    assert entry["rows"] == {"skills": 244, "occupations": 68}

    assert "already built" in run("cache", "build", "--no-progress").stdout
    assert [e["digest"] for e in as_json(run("cache", "list", "--json"))] == [entry["digest"]]
    text = run("cache", "status")
    assert "<- current" in text.stdout and "ready" in text.stdout
    verified = run("cache", "verify")
    assert verified.exit_code == 0 and "sound cache" in verified.stdout


def test_verify_exits_1_on_corruption_or_no_cache(isolated_home: Path) -> None:
    assert run("cache", "verify").exit_code == 1  # nothing built yet
    run("cache", "build", "--no-progress")
    (folder,) = cache_root(isolated_home).glob("????????????????")
    data = bytearray((folder / "skills.npy").read_bytes())
    data[-1] ^= 0xFF
    (folder / "skills.npy").write_bytes(bytes(data))
    result = run("cache", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert not report["ok"] and "checksum" in report["caches"][0]["problems"][0]


def test_prune(isolated_home: Path) -> None:
    run("cache", "build", "--no-progress")
    run("cache", "build", "--no-progress", model="fake:16")
    assert len(as_json(run("cache", "list", "--json"))) == 2
    declined = run("cache", "prune", input="n\n")
    assert declined.exit_code == 1 and len(as_json(run("cache", "list", "--json"))) == 2
    dry = run("cache", "prune", "--keep-current", "--dry-run")
    assert dry.stdout.count("would delete") == 1
    assert run("cache", "prune", "--keep-current", "--yes").exit_code == 0
    (left,) = as_json(run("cache", "list", "--json"))
    assert left["model"] == "fake" and left["dim"] == 32
    assert run("cache", "prune", "--yes").exit_code == 0
    assert as_json(run("cache", "list", "--json")) == []


def test_export_import_and_refusal(isolated_home: Path, tmp_path: Path) -> None:
    run("cache", "build", "--no-progress")
    archive = tmp_path / "embeddings.tar.gz"
    exported = run("cache", "export", str(archive))
    assert exported.exit_code == 0, exported.output
    other = tmp_path / "other-cache"
    imported = CliRunner().invoke(
        cli,
        [
            "--esco-dir",
            str(MINI),
            "--cache-dir",
            str(other),
            "--model",
            "fake",
            "cache",
            "import",
            str(archive),
        ],
    )
    assert imported.exit_code == 0, imported.output
    assert len(list((other / "embeddings").glob("????????????????"))) == 1
    refused = CliRunner().invoke(
        cli,
        [
            "--esco-dir",
            str(MINI),
            "--cache-dir",
            str(other),
            "--model",
            "fake:16",
            "cache",
            "import",
            str(archive),
        ],
    )
    assert refused.exit_code == 2
    assert "do not fit the current configuration" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and "Traceback" not in refused.output
    anyway = CliRunner().invoke(
        cli,
        [
            "--esco-dir",
            str(MINI),
            "--cache-dir",
            str(other),
            "--model",
            "fake:16",
            "cache",
            "import",
            str(archive),
            "--any-config",
        ],
    )
    assert anyway.exit_code == 0, anyway.output


def test_backup_restore(isolated_home: Path) -> None:
    run("cache", "build", "--no-progress")
    assert run("cache", "backup", "first").exit_code == 0
    run("cache", "prune", "--yes")
    assert run("cache", "verify").exit_code == 1
    restored = run("cache", "restore", "first")
    assert restored.exit_code == 0 and "Restored 1" in restored.stdout
    assert run("cache", "verify").exit_code == 0
    missing = run("cache", "restore", "nope")
    assert missing.exit_code == 2 and "no backup named 'nope'" in missing.output


def test_import_legacy(isolated_home: Path, tmp_path: Path) -> None:
    import torch

    file = tmp_path / "skill_embeddings.bin"
    matrix = torch.randn(41, 384)
    with file.open("wb") as handle:
        pickle.dump(matrix / matrix.norm(dim=1, keepdim=True), handle)
    refused = run("cache", "import-legacy", str(file), "--model", "all-MiniLM-L6-v2")
    assert refused.exit_code == 2 and "--trust" in refused.output
    converted = run("cache", "import-legacy", str(file), "--model", "all-MiniLM-L6-v2", "--trust")
    assert converted.exit_code == 0, converted.output
    (entry,) = as_json(run("cache", "list", "--json"))
    assert entry["recipe"] == "pypi-blob v1" and entry["rows"] == {"skills": 41}
    status = as_json(run("cache", "status", "--json", "--legacy-dir", str(tmp_path)))
    assert [item["origin"] for item in status["legacy"]] == ["pypi"]
    assert status["current"]["state"] == "missing"  # a converted blob is not our recipe


def test_info_reports_model_and_cache(isolated_home: Path) -> None:
    info = as_json(run("info", "--json"))
    assert info["model"]["name"] == "fake" and info["model"]["dims"] == 32
    assert info["model"]["fallback_used"] is False and info["model"]["device"]
    assert info["cache"]["state"] == "missing"
    run("cache", "build", "--no-progress")
    info = as_json(run("info", "--json"))
    assert info["cache"]["state"] == "ready"
    assert Path(info["cache"]["path"]).parent == cache_root(isolated_home)


def test_info_default_model_reports_the_fallback() -> None:
    info = as_json(run("info", "--json", model=None))
    model = info["model"]
    assert model["name"] == "all-MiniLM-L6-v2" and model["source"] == "bundled"
    assert model["fallback_used"] and "HF_HUB_OFFLINE" in model["fallback_reason"]
    assert model["dims"] == 384 and Path(model["path"]).is_dir()


def test_model_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCO_MODEL", "fake:8")
    assert as_json(run("info", "--json", model=None))["model"]["dims"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nobody/no-such-model", "cache", "build"], "HF_HUB_OFFLINE"),
        (["--model", "./no/such/folder", "cache", "build"], "model folder not found"),
        (["--device", "tpu", "cache", "build"], "unknown device"),
        (["cache", "import", "{archive}"], "not a cache archive"),
    ],
)
def test_errors_are_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    args = [a.replace("{archive}", str(tmp_path / "junk.tar")) for a in args]
    result = CliRunner().invoke(cli, ["--esco-dir", str(MINI), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_build_with_the_default_model_falls_back(
    isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor"):
        result = run("cache", "build", "--no-progress", "--device", "cpu", model=None)
    assert result.exit_code == 0, result.output
    assert "all-MiniLM-L6-v2" in result.stdout
    assert "Using the bundled offline model" in caplog.text
    info = as_json(run("info", "--json", model=None))
    assert info["cache"]["state"] == "ready" and info["model"]["fallback_used"]
