"""extract --engine ray: the local engine's records on Ray workers, in every format, through
a killed worker, a resume, empty input and unreadable documents (local Ray, 2 CPUs)."""

from __future__ import annotations

import csv
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fixtures_texts import TEXTS

from esco_skill_extractor.cli import cli

pytestmark = pytest.mark.slow  # each run starts Ray workers (seconds)


def invoke(esco_mini: Path, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    base = ["--esco-dir", str(esco_mini), "--cache-dir", str(tmp_path / "cache"), "--model", "fake:64"]
    return CliRunner().invoke(cli, [*base, "extract", *args, "--no-progress"])


def rows(count: int) -> list[dict[str, str]]:
    return [{"id": f"ad-{i}", "text": f"{TEXTS[i % len(TEXTS)]} Number {i}."} for i in range(count)]


def write_input(folder: Path, kind: str, records: list[dict[str, str]]) -> Path:
    if kind == "jsonl":
        path = folder / "ads.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    elif kind == "csv":
        path = folder / "ads.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, ["id", "text"])
            writer.writeheader()
            writer.writerows(records)
    elif kind == "parquet":
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        path = folder / "ads.parquet"
        pq.write_table(pa.Table.from_pylist(records), path)
    else:  # a folder of documents, one of them unreadable
        path = folder / "docs"
        path.mkdir()
        for record in records:
            (path / f"{record['id']}.txt").write_text(record["text"], "utf-8")
        (path / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a PDF")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        return list(pq.read_table(path).to_pylist())
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("source", "target"), [("jsonl", "csv"), ("csv", "parquet"), ("parquet", "jsonl"), ("folder", "jsonl")]
)
def test_same_records_as_the_local_engine(
    ray_local: Any, esco_mini: Path, tmp_path: Path, source: str, target: str
) -> None:
    path = write_input(tmp_path, source, rows(13))
    local, remote = tmp_path / f"local.{target}", tmp_path / f"ray.{target}"
    assert invoke(esco_mini, tmp_path, str(path), "-o", str(local)).exit_code == 0
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(remote), "--engine", "ray", "--batch-size", "4")
    assert result.exit_code == 0, result.output
    records = read_output(remote)
    assert records == read_output(local)
    assert len(records) == 13 + (source == "folder")
    if target != "parquet":
        assert remote.read_bytes() == local.read_bytes()
    if source == "folder":  # an unreadable document is a record with its error, not a failure
        broken = next(r for r in records if r["id"] == "broken.pdf")
        assert "cannot be read" in broken["error"] and broken["skills"] == []
        assert "1 record(s) could not be used" in result.stderr
    assert any(r["skills"] not in ([], "[]") for r in records)


def kill_a_worker_when(progress: Callable[[], int], at_least: int, seen: dict[str, Any]) -> None:
    """SIGKILL one of the run's Ray workers once ``progress()`` reaches ``at_least``."""
    import ray

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)]
        workers = [n for n in names if n.startswith("esco-extract-")]
        done = progress()
        if workers and done >= at_least:
            actor = ray.get_actor(sorted(workers)[0])
            pid = ray.get(actor.__ray_call__.remote(lambda self: os.getpid()))
            os.kill(pid, signal.SIGKILL)
            seen.update(pid=pid, done=done)
            return
        time.sleep(0.005)


@pytest.mark.parametrize("target", ["jsonl", "parquet"])
def test_a_killed_worker_loses_and_repeats_nothing(
    ray_local: Any, esco_mini: Path, tmp_path: Path, target: str
) -> None:
    texts = [{"text": r["text"]} for r in rows(160)]
    [path] = (
        write_parquet_files(tmp_path, texts, [160])
        if target == "parquet"
        else [write_input(tmp_path, "jsonl", rows(160))]
    )
    local, remote = tmp_path / f"local.{target}", tmp_path / f"ray.{target}"
    assert invoke(esco_mini, tmp_path, str(path), "-o", str(local)).exit_code == 0

    def progress() -> int:
        if target == "parquet":  # slices of 3 rows (160 / 64 slices), each a part file once written
            return 3 * len(list((tmp_path / "ray.parquet.ray-parts").glob("part-*.parquet")))
        return len(remote.read_text("utf-8").splitlines()) if remote.exists() else 0

    seen: dict[str, Any] = {}
    killer = threading.Thread(target=kill_a_worker_when, args=(progress, 4, seen))
    killer.start()
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(remote), "--engine", "ray", "--batch-size", "2")
    killer.join()
    assert result.exit_code == 0, result.output
    assert seen and seen["done"] < 160, "the worker was not killed during the run"
    assert read_output(remote) == read_output(local)
    if target == "jsonl":
        assert [r["id"] for r in read_output(remote)] == [f"ad-{i}" for i in range(160)]
        assert remote.read_bytes() == local.read_bytes()
    else:
        assert len(read_output(remote)) == 160


def test_resume_continues_a_cut_output(ray_local: Any, esco_mini: Path, tmp_path: Path) -> None:
    path = write_input(tmp_path, "jsonl", rows(20))
    out = tmp_path / "out.jsonl"
    assert invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--engine", "ray").exit_code == 0
    complete = out.read_bytes()
    lines = complete.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:7]) + lines[7][:20])  # killed while writing record 8
    again = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--resume", "--engine", "ray")
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == complete
    (tmp_path / "other").mkdir()
    other = write_input(tmp_path / "other", "jsonl", rows(3))
    refused = invoke(esco_mini, tmp_path, str(other), "-o", str(out), "--resume", "--engine", "ray")
    assert refused.exit_code == 2 and "are these the inputs of that run?" in refused.output


@pytest.mark.parametrize("target", ["jsonl", "csv", "parquet"])
def test_empty_input(ray_local: Any, esco_mini: Path, tmp_path: Path, target: str) -> None:
    path = write_input(tmp_path, "jsonl", [])
    out = tmp_path / f"out.{target}"
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--engine", "ray")
    assert result.exit_code == 0, result.output
    assert read_output(out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2"], "--ray-address and --workers need --engine ray"),
        (["--engine", "ray", "--workers", "5"], "do not fit; use fewer workers"),
    ],
)
def test_bad_options_are_one_line_exit_2(
    ray_local: Any, esco_mini: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    path = write_input(tmp_path, "jsonl", rows(2))
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(tmp_path / "out.jsonl"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_without_ray_an_install_hint(
    esco_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    path = write_input(tmp_path, "jsonl", rows(2))
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(tmp_path / "out.jsonl"), "--engine", "ray")
    assert result.exit_code == 2
    assert "pip install 'esco-skill-extractor[ray]'" in result.output


def test_max_chars_makes_error_rows_on_ray_as_on_one_machine(
    ray_local: Any, esco_mini: Path, tmp_path: Path
) -> None:
    records = rows(3)
    records[1]["text"] = "Python " * 40
    path = write_input(tmp_path, "jsonl", records)
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        result = invoke(
            esco_mini, tmp_path, str(path), "-o", str(out), "--max-chars", "200", "--engine", engine
        )
        assert result.exit_code == 0, result.output
        outputs[engine] = read_output(out)
    assert outputs["ray"] == outputs["local"]
    assert [r["error"] is None for r in outputs["ray"]] == [True, False, True]
    assert "the limit is 200 (--max-chars)" in outputs["ray"][1]["error"]


def write_parquet_files(
    folder: Path, records: Sequence[Mapping[str, str | None]], sizes: list[int]
) -> list[Path]:
    """``records`` spread over files of ``sizes`` rows, in row groups of 3."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    paths, start = [], 0
    for number, size in enumerate(sizes):
        path = folder / f"ads-{number}.parquet"
        table = pa.Table.from_pylist(records[start : start + size], schema=pa.schema({"text": pa.string()}))
        pq.write_table(table, path, row_group_size=3)
        paths.append(path)
        start += size
    return paths


def test_parquet_to_parquet_is_read_and_written_by_the_workers(
    ray_local: Any, esco_mini: Path, tmp_path: Path
) -> None:
    records: list[dict[str, str | None]] = [{"text": r["text"]} for r in rows(23)]
    records[4]["text"] = None  # empty
    records[9]["text"] = "Python " * 40  # over --max-chars: an error row
    paths = write_parquet_files(tmp_path, records, [10, 0, 13])
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.parquet"
        args = [
            *map(str, paths),
            "-o",
            str(out),
            "--max-chars",
            "200",
            "--batch-size",
            "4",
            "--engine",
            engine,
        ]
        result = invoke(esco_mini, tmp_path, *args)
        assert result.exit_code == 0, result.output
        assert "1 record(s) could not be used" in result.stderr
        outputs[engine] = read_output(out)
    assert outputs["ray"] == outputs["local"]
    assert [r["id"] for r in outputs["ray"]] == [f"{paths[0]}:{i}" for i in range(1, 11)] + [
        f"{paths[2]}:{i}" for i in range(1, 14)
    ]
    assert not (tmp_path / "ray.parquet.ray-parts").exists()


def test_parquet_resume_keeps_the_finished_slices(ray_local: Any, esco_mini: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    [path] = write_parquet_files(tmp_path, [{"text": r["text"]} for r in rows(12)], [12])
    complete = tmp_path / "complete.parquet"
    assert invoke(esco_mini, tmp_path, str(path), "-o", str(complete), "--engine", "ray").exit_code == 0
    expected = read_output(complete)
    # A run cut after its second slice of 5 rows: that part is kept as it is, the rest extracted.
    out = tmp_path / "out.parquet"
    parts = tmp_path / "out.parquet.ray-parts"
    parts.mkdir()
    plan = {"inputs": [[str(path), 12]], "columns": {"text": "text", "id": None}, "slice_rows": 5}
    (parts / "plan.json").write_text(json.dumps(plan), "utf-8")
    pa = pytest.importorskip("pyarrow")
    kept = pq.read_table(complete).slice(5, 5)
    marked = kept.set_column(2, "error", pa.array(["kept"] * 5, pa.string()))  # to tell it apart
    pq.write_table(marked, parts / "part-000001.parquet")
    (parts / "part-000000.parquet.123.tmp").write_bytes(b"a write a kill interrupted")
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--resume", "--engine", "ray")
    assert result.exit_code == 0, result.output
    assert read_output(out) == [r | {"error": "kept"} if 5 <= i < 10 else r for i, r in enumerate(expected)]
    assert not parts.exists()
    expected = read_output(out)
    # A finished output is left as it is; other inputs are refused.
    again = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--resume", "--engine", "ray")
    assert again.exit_code == 0 and read_output(out) == expected
    parts.mkdir()
    (parts / "plan.json").write_text(json.dumps(plan | {"inputs": [["other.parquet", 12]]}), "utf-8")
    refused = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--resume", "--engine", "ray")
    assert refused.exit_code == 2 and "are these the inputs of that run?" in refused.output
    local = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--resume")
    assert local.exit_code == 2 and "holds a run of --engine ray" in local.output


def test_on_error_stop_stops_at_the_first_bad_record_as_on_one_machine(
    ray_local: Any, esco_mini: Path, tmp_path: Path
) -> None:
    records = rows(9)
    records[5]["text"] = "Python " * 40  # over --max-chars
    path = write_input(tmp_path, "jsonl", records)
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        args = ["-o", str(out), "--max-chars", "200", "--on-error", "stop", "--batch-size", "2"]
        result = invoke(esco_mini, tmp_path, str(path), *args, "--engine", engine)
        assert result.exit_code == 2, result.output
        assert "the limit is 200 (--max-chars)" in result.output and "--on-error stop" in result.output
        outputs[engine] = out.read_bytes()
    assert outputs["ray"] == outputs["local"]
    assert [r["id"] for r in read_output(tmp_path / "ray.jsonl")] == [f"ad-{i}" for i in range(5)]


def test_on_error_stop_on_the_parquet_path_keeps_the_finished_slices(
    ray_local: Any, esco_mini: Path, tmp_path: Path
) -> None:
    records: list[dict[str, str | None]] = [{"text": r["text"]} for r in rows(12)]
    records[10]["text"] = "Python " * 40
    [path] = write_parquet_files(tmp_path, records, [12])
    out = tmp_path / "out.parquet"
    args = ["-o", str(out), "--max-chars", "200", "--on-error", "stop", "--batch-size", "4"]
    result = invoke(esco_mini, tmp_path, str(path), *args, "--engine", "ray")
    assert result.exit_code == 2, result.output
    assert f"{path}:11" in result.output and "kept for --resume" in result.output
    assert not out.exists()
    # slices of 4 rows: the third holds the bad record; the first two were written
    parts = sorted(p.name for p in (tmp_path / "out.parquet.ray-parts").glob("part-*.parquet"))
    assert parts == ["part-000000.parquet", "part-000001.parquet"]


def test_empty_parquet_to_parquet(ray_local: Any, esco_mini: Path, tmp_path: Path) -> None:
    [path] = write_parquet_files(tmp_path, [], [0])
    out = tmp_path / "out.parquet"
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--engine", "ray")
    assert result.exit_code == 0, result.output
    assert read_output(out) == [] and not (tmp_path / "out.parquet.ray-parts").exists()
