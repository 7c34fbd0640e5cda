"""The Ray engine against the local engine: same records, throughput, cost of starting.

Builds the speed corpus (``benchmarks/speed.py``: ``--docs`` job-ad-like texts of 100-400
words from the development sentences of ``--data``) as JSONL with ids, then runs the CLI
(``esco-skill-extractor extract``, the bundled all-MiniLM-L6-v2 on the CPU, default cache
folder) in a child process for each engine: ``--engine local``, and ``--engine ray`` (a
local Ray started by the command) with each of ``--workers``. Each engine runs twice: on
the first document only (the cost of starting: process, model, and for Ray its start and
the workers' start) and on the whole corpus; throughput is ``(docs - 1) / (wall(all) -
wall(one))``, so the start-up is not counted in it (an untimed first run warms the
caches). The Ray runs' ``-v`` logs split their start-up into Ray's start and the
workers' start.

With ``--format parquet`` the corpus is a Parquet file and every output a Parquet file:
the Ray engine's workers then read, extract and write slices themselves (the driver only
plans and merges); records are compared as rows.

Then it checks that every Ray output equals the local output (JSONL: byte for byte; same
ids, skills, occupations, scores, evidence), and measures what the driver alone costs per
record (read the input, format and write the output), the ceiling of one driver however
many nodes extract.

Usage::

    python benchmarks/ray_engine.py --data ../shared/benchmark [--docs 300] [--workers 1,2]
        [--format jsonl|parquet] [--json]

Needs the ray extra (``pip install '.[ray]'``). Timings are meaningful on a quiet machine
only; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run_cli(
    corpus: Path, out: Path, engine: str, workers: int | None, common: list[str], extra: list[str]
) -> dict[str, Any]:
    """One ``extract`` run in a child process: wall time, and Ray's start-up from its log."""
    command = [
        sys.executable,
        "-m",
        "esco_skill_extractor",
        "-v",
        *common,
        "extract",
        str(corpus),
        "-o",
        str(out),
        "--overwrite",
        "--no-progress",
        "--engine",
        engine,
        *extra,
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{child.stderr[-3000:]}")
    result: dict[str, Any] = {"wall_s": wall}
    ray_ready = re.search(r"Ray ready in ([\d.]+) s", child.stderr)
    workers_ready = re.search(r"Ray workers ready in ([\d.]+) s", child.stderr)
    if ray_ready:
        result["ray_start_s"] = float(ray_ready.group(1))
    if workers_ready:
        result["workers_start_s"] = float(workers_ready.group(1))
    return result


def compare(ours: list[dict[str, Any]], local: list[dict[str, Any]]) -> dict[str, Any]:
    """How far records are from the local engine's: ids, matched URIs, largest score gap."""
    same_ids = [r["id"] for r in ours] == [r["id"] for r in local]
    differing = same_uris = 0
    gap = 0.0
    for a, b in zip(ours, local, strict=False):
        differing += a != b
        uris_a = [[m["uri"] for m in a[k]] for k in ("skills", "occupations")]
        uris_b = [[m["uri"] for m in b[k]] for k in ("skills", "occupations")]
        if uris_a == uris_b:
            same_uris += 1
            for kind in ("skills", "occupations"):
                for x, y in zip(a[kind], b[kind], strict=True):
                    gap = max(gap, abs(x["score"] - y["score"]))
    return {
        "same_ids": same_ids and len(ours) == len(local),
        "records_differing": differing + abs(len(ours) - len(local)),
        "records_with_other_matches": len(local) - same_uris,
        "max_score_gap": gap,
    }


def write_corpus(path: Path, rows: list[dict[str, str]]) -> None:
    if path.suffix == ".parquet":
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def read_records(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_table(path).to_pylist())
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def driver_cost(corpus: Path, output: Path, batch_size: int = 32) -> float:
    """Records per second one driver reads and writes in batches (no extraction)."""
    from esco_skill_extractor.cli.corpus import iter_records
    from esco_skill_extractor.cli.outputs import open_writer

    records = [json.loads(line) for line in output.read_text("utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        writer = open_writer(Path(folder) / "out.jsonl", "jsonl")
        inputs = iter_records([corpus])
        for start in range(0, len(records), batch_size):
            for record in islice(inputs, batch_size):
                record.read()
            writer.write(records[start : start + batch_size])
        writer.close()
        return len(records) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Folder of *_annotations.csv.")
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts for Ray.")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--esco-dir", help="ESCO CSV folder (default: the built-in ESCO).")
    parser.add_argument("--cache-dir", help="Cache folder (default: the user cache folder).")
    parser.add_argument("--segment-cache", type=int, help="extract --segment-cache (default: its default).")
    parser.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl", help="Corpus and outputs.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from speed import build_corpus, development_sentences

    common = ["--model", args.model, "--device", "cpu"]
    common += ["--esco-dir", args.esco_dir] if args.esco_dir else []
    common += ["--cache-dir", args.cache_dir] if args.cache_dir else []
    extra = ["--segment-cache", str(args.segment_cache)] if args.segment_cache is not None else []
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", file=sys.stderr)

    texts = build_corpus(development_sentences(args.data), args.docs)
    engines: list[tuple[str, str, int | None]] = [("local", "local", None)]
    engines += [(f"ray, {n} worker(s)", "ray", n) for n in map(int, args.workers.split(","))]
    report: dict[str, Any] = {
        "docs": len(texts),
        "cpus": os.cpu_count(),
        "model": args.model,
        "segment_cache": args.segment_cache,
        "format": args.format,
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as folder:
        base = Path(folder)
        suffix = f".{args.format}"
        full, one = base / f"corpus{suffix}", base / f"one{suffix}"
        rows = [{"id": f"doc-{i}", "text": t} for i, t in enumerate(texts)]
        write_corpus(full, rows)
        write_corpus(one, rows[:1])
        outputs: dict[str, Path] = {}
        # Untimed: a first run may build the taxonomy snapshot, lexical indexes or cache.
        run_cli(one, base / f"warm-up{suffix}", "local", None, common, extra)
        for label, engine, workers in engines:
            name = engine if workers is None else f"{engine}-{workers}"
            start = run_cli(one, base / f"{name}-one{suffix}", engine, workers, common, extra)
            outputs[label] = base / f"{name}{suffix}"
            whole = run_cli(full, outputs[label], engine, workers, common, extra)
            seconds = whole["wall_s"] - start["wall_s"]
            entry = {
                "start_s": round(start["wall_s"], 2),
                "total_s": round(whole["wall_s"], 2),
                "docs_per_s": round((len(texts) - 1) / seconds, 2),
            }
            for key in ("ray_start_s", "workers_start_s"):
                if key in start:
                    entry[key] = start[key]
            report["engines"][label] = entry
            print(f"{label}: {entry}", file=sys.stderr)
        local_records = read_records(outputs["local"])
        for label, path in outputs.items():
            ours = read_records(path)
            report["engines"][label].update(compare(ours, local_records))
            report["engines"][label]["identical_to_local"] = (
                path.read_bytes() == outputs["local"].read_bytes()
                if args.format == "jsonl"
                else ours == local_records
            )
        if args.format == "jsonl":  # the driver's share of the work; none on the Parquet path
            report["driver_records_per_s"] = round(driver_cost(full, outputs["local"]), 1)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    local = report["engines"]["local"]["docs_per_s"]
    print(f"{report['docs']} documents ({args.format}), {report['cpus']} CPUs, {args.model} (torch, CPU)")
    print(
        f"{'engine':<20} {'start (1 doc)':>13} {'docs/s':>8} {'vs local':>9} {'identical':>10} other matches"
    )
    for label, entry in report["engines"].items():
        print(
            f"{label:<20} {entry['start_s']:>12.1f}s {entry['docs_per_s']:>8.2f} "
            f"{entry['docs_per_s'] / local:>8.2f}x {str(entry['identical_to_local']):>10} "
            f"{entry['records_with_other_matches']} records, max score gap {entry['max_score_gap']:.2g}"
        )
        if "ray_start_s" in entry:
            print(
                f"{'':<20} Ray start {entry['ray_start_s']:.1f} s, "
                f"workers start {entry['workers_start_s']:.1f} s"
            )
    if "driver_records_per_s" in report:
        print(f"driver alone (read, format, write): {report['driver_records_per_s']:,.0f} records/s")


if __name__ == "__main__":
    main()
