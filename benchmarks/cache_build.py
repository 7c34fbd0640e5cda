"""Benchmark the embedding cache with the bundled model on the full vendored ESCO.

Two phases, each in a fresh child process:

1. build: load the taxonomy and the model, embed every view text and write the cache;
2. cold start with the cache present: process start to ready (taxonomy, model and cache
   loaded, nothing embedded).

For each it prints the wall time (measured by this process, from spawning the child to its
"ready" line) with the child's own breakdown, and the child's peak RSS (``ru_maxrss`` of
``os.wait4``). The cache lives in a temporary ``ESCO_HOME`` (removed unless ``--keep``), so
the user's caches are not touched; the first phase also writes the taxonomy snapshot that
the second uses, as a real first run would.

Usage::

    python benchmarks/cache_build.py [--model all-MiniLM-L6-v2] [--device cpu]
                                     [--batch-size 64] [--dtype float16] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_CHILD = r"""
import json, sys, time
started = time.perf_counter()
phase, model, device, batch_size, dtype = sys.argv[1:6]
from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.embedding import load_embedder
from esco_skill_extractor.cache.recipe import build_views
from esco_skill_extractor.taxonomy import load_taxonomy
marks = {"imports_s": time.perf_counter() - started}
taxonomy = load_taxonomy()
marks["taxonomy_s"] = time.perf_counter() - started
embedder = load_embedder(model, device=device).embedder
marks["model_s"] = time.perf_counter() - started
tables = build_views(taxonomy)
marks["views_s"] = time.perf_counter() - started
cache = EmbeddingCache()
cached = cache.load_or_build(embedder, taxonomy, tables, dtype=dtype,
                             batch_size=int(batch_size), show_progress=phase == "build",
                             build=phase == "build")
marks["cache_s"] = time.perf_counter() - started
print("READY", flush=True)
manifest = dict(cached.manifest)
print(json.dumps({
    "marks": marks,
    "built": cache.stats.builds,
    "rows": {name: int(v.shape[0]) for name, v in cached.vectors.items()},
    "dim": manifest["dim"],
    "texts": manifest.get("texts"),
    "build": manifest.get("build"),
    "bytes": sum(t["bytes"] for t in manifest["tables"].values()),
    "device": embedder.device,
}), flush=True)
"""


def _run(phase: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-c", _CHILD, phase, args.model, args.device, str(args.batch_size), args.dtype]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    assert child.stdout is not None
    ready = None
    lines = []
    for line in child.stdout:
        if line.startswith("READY") and ready is None:
            ready = time.perf_counter() - started
        else:
            lines.append(line)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{phase} failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["ready_s"] = ready
    result["wall_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary ESCO_HOME.")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="esco-bench-"))
    env = {**os.environ, "ESCO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("ESCO_CACHE_DIR", None)
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        threads = None
    print(
        f"# cache build benchmark: {args.model} on {args.device}, {args.dtype}, "
        f"batch {args.batch_size}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch threads {threads}, python {platform.python_version()}"
    )
    try:
        build = _run("build", args, env)
        cold = _run("cold", args, env)
    finally:
        if args.keep:
            print(f"# kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    assert build["built"] == 1 and cold["built"] == 0

    rows = " + ".join(f"{n} {r:,}" for n, r in build["rows"].items())
    texts = build["texts"] or {}
    info = build["build"] or {}
    print(
        f"vectors: {rows} rows x {build['dim']} dims ({texts.get('unique', 0):,} distinct "
        f"texts), {build['bytes'] / 1e6:.1f} MB on disk"
    )
    for name, result in (("build", build), ("cold start", cold)):
        marks = result["marks"]
        print(
            f"{name:10}: ready after {result['ready_s']:.1f}s "
            f"(imports {marks['imports_s']:.1f}s, taxonomy "
            f"{marks['taxonomy_s'] - marks['imports_s']:.1f}s, model "
            f"{marks['model_s'] - marks['taxonomy_s']:.1f}s, views "
            f"{marks['views_s'] - marks['model_s']:.1f}s, cache "
            f"{marks['cache_s'] - marks['views_s']:.1f}s), peak RSS "
            f"{result['peak_rss_mb']:.0f} MB"
        )
    print(
        f"encoding: {info.get('seconds', 0):.1f}s, "
        f"{info.get('texts_per_second') or 0:.0f} texts/s on {info.get('device')}"
    )


if __name__ == "__main__":
    main()
