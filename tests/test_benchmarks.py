"""The benchmarks' code paths stay alive: each runs in a quick mode on the test taxonomy."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "esco_mini"


def run_benchmark(script: str, *args: str) -> str:
    """What ``benchmarks/<script> args`` prints; it must succeed."""
    command = [sys.executable, str(ROOT / "benchmarks" / script), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_model_cost_runs_on_a_small_shape(tmp_path: Path) -> None:
    data = tmp_path / "benchmark"
    data.mkdir()
    with open(data / "dev_annotations.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "label"])
        for i in range(12):
            writer.writerow(
                [f"Sentence {i}: we need Python, SQL and teamwork, and a cook for the kitchen.", "x"]
            )
    stdout = run_benchmark(
        "model_cost.py",
        *("--shape", "quick", "--data", str(data), "--esco-dir", str(MINI)),
        *("--model-dir", str(tmp_path / "model"), "--ads", "2", "--calibration", "40", "--json"),
    )
    report = json.loads(stdout)
    assert report["shape"] == "quick" and report["ads"] == 2
    assert set(report["seconds_per_ad"]) == {"fragments", "pooled", "encoded"}
    assert all(seconds > 0 for seconds in report["seconds_per_ad"].values())
    assert report["ratio_to_fragments"]["fragments"] == 1.0
    recipe = report["recipe"]
    assert recipe["name"].startswith("labels[") and recipe["texts"] >= recipe["distinct_texts"] > 40
    assert recipe["tokens"] > recipe["distinct_texts"]  # at least <s> and </s> around each
    assert report["calibration"]["texts"] == 40 and report["build_hours_estimate"] > 0
    assert (tmp_path / "model" / "model.safetensors").is_file()  # built once, kept for the next run


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_ray_engine_benchmark_runs_on_the_test_taxonomy(tmp_path: Path, fmt: str) -> None:
    pytest.importorskip("ray")
    data = tmp_path / "benchmark"
    data.mkdir()
    with open(data / "dev_annotations.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "label"])
        for i in range(8):
            writer.writerow([f"Sentence {i}: we need Python, SQL and teamwork, and a cook.", "x"])
    stdout = run_benchmark(
        "ray_engine.py",
        *("--data", str(data), "--docs", "4", "--workers", "2", "--model", "fake:64"),
        *("--esco-dir", str(MINI), "--cache-dir", str(tmp_path / "cache"), "--format", fmt, "--json"),
    )
    report = json.loads(stdout)
    assert report["docs"] == 4 and set(report["engines"]) == {"local", "ray, 2 worker(s)"}
    for entry in report["engines"].values():
        assert entry["identical_to_local"] and entry["records_differing"] == 0
    assert report["engines"]["ray, 2 worker(s)"]["ray_start_s"] > 0
    assert report["format"] == fmt and (fmt == "parquet" or report["driver_records_per_s"] > 0)


@pytest.mark.slow
def test_dense_probe_runs(tmp_path: Path) -> None:
    data = tmp_path / "benchmark"
    (data / "multilingual" / "de").mkdir(parents=True)
    (data / "esco_1.1.0_label_to_uri.tsv").write_text(
        "label\tconceptUri\thow\nPython (computer programming)\thttp://data.europa.eu/esco/skill/"
        "ccd0a1d9-afda-43d9-b901-96344886e14d\tpreferredLabel\n",
        "utf-8",
    )
    for folder, sentence in (
        (data, "We code in Python."),
        (data / "multilingual" / "de", "Wir programmieren in Python."),
    ):
        (folder / "dev_annotations.csv").write_text(
            f"sentence,label\n{sentence},Python (computer programming)\n", "utf-8"
        )
    stdout = run_benchmark(
        "dense_probe.py",
        "--data",
        str(data),
        "--models",
        "use",
    )
    [line] = [row for row in stdout.splitlines() if row.startswith("use")]
    scores = [float(x) for x in re.findall(r"(?:en|de) (\d\.\d+)", line)]
    assert scores == [1.0, 1.0] and "labels encoded at" in line  # Python is in the top 5 in both


def test_glossary_benchmark_runs(tmp_path: Path) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "dev_annotations.csv").write_text(
        "sentence,label\nMaschinelles Lernen und mathematische Modelle.,x\n", "utf-8"
    )
    stdout = run_benchmark(
        "glossary.py",
        "--data",
        str(tmp_path),
        "--esco-dir",
        str(MINI),
    )
    [row] = [line.split() for line in stdout.splitlines() if line.startswith("de ")]
    assert int(row[3].replace(",", "")) > 0 and row[4] == "1"  # words known; one sentence
    assert 0 < float(row[5]) <= 1  # some words glossed
