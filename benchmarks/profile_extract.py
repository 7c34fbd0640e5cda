"""The hot path of batch extraction, for a profiler: the speed benchmark's corpus, one backend.

Builds the corpus of ``speed.py`` and runs ``extract_iter`` over its first ``--docs`` texts,
printing the time to ready and the throughput. Run it under a profiler::

    pyinstrument -o profile.txt benchmarks/profile_extract.py --backend torch --docs 64
    py-spy record -o profile.svg -- python benchmarks/profile_extract.py --backend onnx-int8

``--segment-cache 0`` (the default here) scores every sentence, as on a corpus without
repeated sentences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "benchmark")
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--segment-cache", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from speed import build_corpus, development_sentences

    corpus = build_corpus(development_sentences(args.data), 300)[: args.docs]
    started = time.perf_counter()
    from esco_skill_extractor import SkillExtractor

    extractor = SkillExtractor(
        model="all-MiniLM-L6-v2",
        device="cpu",
        backend=args.backend,
        segment_cache_size=args.segment_cache,
        show_progress=False,
    )
    ready = time.perf_counter() - started
    started = time.perf_counter()
    for _ in extractor.extract_iter(corpus, batch_size=args.batch_size):
        pass
    seconds = time.perf_counter() - started
    print(
        f"ready in {ready:.2f}s; {len(corpus)} texts in {seconds:.2f}s "
        f"({len(corpus) / seconds:.2f} texts/s), backend {args.backend}, segment cache "
        f"{args.segment_cache}"
    )


if __name__ == "__main__":
    main()
