"""How fast the full built-in ESCO taxonomy loads, and in how much memory.

Each measurement runs in a fresh child process (import included), so it is what a user
waits for: first load (CSV parsing, then the binary snapshot is written) and later loads
(from the snapshot). Prints wall time and peak RSS (``ru_maxrss`` of the child).

Targets (issue 2): under 1.5 s and 300 MB RSS.

Usage:
    python benchmarks/taxonomy_load.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = """
import time
t = time.perf_counter()
from esco_skill_extractor.taxonomy import load_taxonomy
taxonomy = load_taxonomy()
print(time.perf_counter() - t, len(taxonomy.skills), taxonomy.relation_count)
"""


def run_child(env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, seconds inside the child, peak RSS in MB)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"child failed: {output}")
    inner = float(output.split()[0])
    return wall, inner, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, ESCO_CACHE_DIR=cache)
        env.pop("ESCO_DATA_DIR", None)
        first = run_child(env)  # parses the CSVs and writes the snapshot
        later = [run_child(env) for _ in range(args.runs)]
    result = {
        "first_load": {"wall_s": first[0], "load_s": first[1], "peak_rss_mb": first[2]},
        "snapshot_load": {
            "wall_s": statistics.median(r[0] for r in later),
            "load_s": statistics.median(r[1] for r in later),
            "peak_rss_mb": max(r[2] for r in later),
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'':<16}{'wall (s)':>10}{'import+load (s)':>17}{'peak RSS (MB)':>15}")
    for name, r in result.items():
        print(f"{name:<16}{r['wall_s']:>10.2f}{r['load_s']:>17.2f}{r['peak_rss_mb']:>15.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
