"""What a bge-m3-sized model costs: per document, and to build its embedding cache.

bge-m3's weights cannot be downloaded everywhere, but its cost does not depend on them: a
randomly initialised XLM-R encoder of its exact shape (24 layers, hidden 1024, 16 heads, FFN
4096, CLS pooling, bge-m3's folder layout, a 32,000-piece vocabulary trained on ESCO's
labels) is built offline once and kept (``--model-dir``). Its vectors are meaningless; its
speed and memory are real. Concept vectors are random unit vectors of the model's size (the
matching's cost depends on their number and size, not their values).

Prints, one run, both sides at the same precision (float32 unless ``--precision auto``):

- per document (job-ad-like texts of ~170 words from the development sentences): seconds of
  ``SkillExtractor.extract()`` with span vectors pooled from one pass per sentence (the
  default), with every clause and word window encoded on its own
  (``MatchConfig(span_vectors="encoded")``), and the method of the PyPI package
  esco-skill-extractor 0.1.18 (its regex split, one encode per fragment, each fragment
  against one blob per concept), each ad measured by all three in turn;
- the recipe: texts and tokens the cache build embeds (the multilingual recipe, as for
  bge-m3), a calibration on a random sample of them, and the build time extrapolated from it.

Usage::

    python benchmarks/model_cost.py [--data ../shared/benchmark] [--shape bge-m3|quick]
        [--device cpu|cuda] [--ads 3] [--calibration 256] [--batch-size 64] [--json]
        [--model-dir DIR] [--esco-dir DIR] [--precision float32|auto]

``--shape quick`` (2 layers, hidden 64) runs in seconds and keeps the code path alive in the
tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

SHAPES: dict[str, dict[str, Any]] = {
    "bge-m3": {
        "hidden": 1024,
        "layers": 24,
        "heads": 16,
        "intermediate": 4096,
        "max_len": 8192,
        "vocab_size": 32000,
    },
    "quick": {"hidden": 64, "layers": 2, "heads": 2, "intermediate": 128, "max_len": 512, "vocab_size": 2000},
}
_FRAGMENTS = re.compile(r"\r|\n|\t|\.|\,|\;|and|or")  # the PyPI package's split
_TARGET_WORDS = 170


def shaped_model(folder: Path, shape: str, corpus: Sequence[str]) -> Path:
    """The model of ``shape`` in ``folder``, built there once (atomically) if missing."""
    if (folder / "model.safetensors").is_file():
        return folder
    sys.path.insert(0, str(HERE.parent / "tests"))
    from fixtures_bge_m3 import build_tiny_bge_m3  # type: ignore[import-not-found]

    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    started = time.perf_counter()
    build_tiny_bge_m3(scratch, corpus=corpus, **SHAPES[shape])
    scratch.rename(folder)
    print(
        f"built the {shape}-shaped model in {folder} ({time.perf_counter() - started:.0f} s)", file=sys.stderr
    )
    return folder


class RandomPassages:
    """The model for queries, random unit vectors for ESCO's texts (no hours of encoding).

    Presents itself as ``BAAI/bge-m3`` so that the registry's entry (recipe in every label
    language, thresholds) applies, as it would to the real model.
    """

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self._rng = np.random.default_rng(0)

    model_id = "BAAI/bge-m3"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    @property
    def revision(self) -> str:
        return str(self._embedder.revision)

    @property
    def dim(self) -> int:
        return int(self._embedder.dim)

    @property
    def device(self) -> str:
        return str(self._embedder.device)

    @property
    def backend(self) -> str:
        return str(self._embedder.backend)

    @property
    def encode_settings(self) -> str:
        return str(self._embedder.encode_settings)

    @property
    def supports_span_pooling(self) -> bool:
        return bool(self._embedder.supports_span_pooling)

    def encode_tokens(self, texts: Sequence[str], pad_to: int | None = None) -> Any:
        return self._embedder.encode_tokens(texts, pad_to=pad_to)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return list(self._embedder.token_counts(texts))

    def embed(
        self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if kind == "query":
            vectors: np.ndarray = np.asarray(
                self._embedder.embed(texts, kind=kind, batch_size=batch_size), dtype=np.float32
            )
            return vectors
        vectors = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit


def job_ads(data: Path, count: int) -> list[str]:
    """``count`` job-ad-like texts of about 170 words, from the development sentences."""
    sys.path.insert(0, str(HERE))
    from speed import build_corpus, development_sentences

    corpus = build_corpus(development_sentences(data), 60)
    return sorted(corpus, key=lambda text: abs(len(text.split()) - _TARGET_WORDS))[:count]


def fragment_method(embedder: Any, skills: np.ndarray, occupations: np.ndarray, text: str) -> None:
    """One encode per fragment of the PyPI package's split; each against one blob per concept."""
    fragments = [f for f in _FRAGMENTS.split(text.strip()) if f]
    vectors = embedder.embed(fragments, kind="query")
    for blobs in (skills, occupations):
        scores = vectors @ blobs.T
        scores.argmax(axis=1)


def calibrate(embedder: Any, texts: Sequence[str], sample: int, batch_size: int) -> dict[str, float]:
    """Seconds to embed a random sample of ``texts`` as the build does (similar lengths batched)."""
    chosen = random.Random(0).sample(list(texts), min(sample, len(texts)))
    chosen.sort(key=len, reverse=True)
    embedder.embed(chosen[-batch_size:], kind="passage", batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    for i in range(0, len(chosen), batch_size):
        embedder.embed(chosen[i : i + batch_size], kind="passage", batch_size=batch_size)
    seconds = time.perf_counter() - started
    return {"texts": len(chosen), "seconds": seconds, "texts_per_s": len(chosen) / seconds}


def count_tokens(embedder: Any, texts: Sequence[str]) -> int:
    tokenizer = embedder.model.tokenizer
    limit = int(embedder.model.max_seq_length)
    total = 0
    for i in range(0, len(texts), 4096):
        encoded = tokenizer(list(texts[i : i + 4096]), truncation=True, max_length=limit)
        total += sum(len(ids) for ids in encoded["input_ids"])
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "benchmark")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="bge-m3")
    parser.add_argument(
        "--model-dir", type=Path, help="where the shaped model is kept (default: the user cache)"
    )
    parser.add_argument("--esco-dir", type=Path, help="ESCO CSVs (default: the built-in ESCO)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("float32", "auto"), default="float32")
    parser.add_argument("--ads", type=int, default=3)
    parser.add_argument("--calibration", type=int, default=256, help="texts embedded to estimate the build")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.precision == "float32":
        os.environ["ESCO_TORCH_PRECISION"] = "float32"

    from esco_skill_extractor import SkillExtractor
    from esco_skill_extractor.cache.recipe import build_views
    from esco_skill_extractor.embedding import load_embedder
    from esco_skill_extractor.extraction.assembly import assemble
    from esco_skill_extractor.extraction.matching import MatchConfig
    from esco_skill_extractor.paths import cache_subdir
    from esco_skill_extractor.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(args.esco_dir)
    tables = build_views(taxonomy, multilingual=True)
    texts = list(dict.fromkeys(t for table in tables.values() for t in table.texts))
    folder = args.model_dir or cache_subdir("benchmarks") / f"{args.shape}-shaped"
    model = shaped_model(folder, args.shape, [t for t in texts if len(t) < 200])
    embedder = load_embedder(str(model), device=args.device).embedder
    ads = job_ads(args.data, args.ads)

    scratch = Path(tempfile.mkdtemp(prefix="esco-model-cost-"))
    try:
        parts = assemble(
            embedder=RandomPassages(embedder),  # type: ignore[arg-type]
            taxonomy=taxonomy,
            cache_dir=scratch,
            show_progress=False,
            multilingual_model=None,
        )
        methods = {
            "pooled": SkillExtractor.from_assembly(parts, segment_cache_size=0),
            "encoded": SkillExtractor.from_assembly(
                parts, config=MatchConfig(span_vectors="encoded"), segment_cache_size=0
            ),
        }
        blobs = {
            name: index.blob_vectors
            for name, index in (("skills", parts.skills), ("occupations", parts.occupations))
        }
        warm = "Warm-up: Python developer with SQL and teamwork."
        for extractor in methods.values():
            extractor.extract([warm], language="en")
        fragment_method(embedder, blobs["skills"], blobs["occupations"], warm)
        seconds: dict[str, list[float]] = {"fragments": [], "pooled": [], "encoded": []}
        for ad in ads:  # each ad by every method in turn: drift hits all alike
            started = time.perf_counter()
            fragment_method(embedder, blobs["skills"], blobs["occupations"], ad)
            seconds["fragments"].append(time.perf_counter() - started)
            for name, extractor in methods.items():
                started = time.perf_counter()
                extractor.extract([ad], language="en")
                seconds[name].append(time.perf_counter() - started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    tokens = count_tokens(embedder, texts)
    calibration = calibrate(embedder, texts, args.calibration, args.batch_size)
    per_ad = {name: float(np.mean(values)) for name, values in seconds.items()}
    report = {
        "shape": args.shape,
        "model": str(model),
        "device": str(embedder.device),
        "precision": args.precision,
        "threads": _threads(),
        "ads": len(ads),
        "words_per_ad": [len(ad.split()) for ad in ads],
        "seconds_per_ad": per_ad,
        "ratio_to_fragments": {name: value / per_ad["fragments"] for name, value in per_ad.items()},
        "recipe": {
            "name": tables["skills"].recipe[0],
            "texts": sum(len(table.texts) for table in tables.values()),
            "distinct_texts": len(texts),
            "tokens": tokens,
        },
        "calibration": calibration,
        "build_hours_estimate": len(texts) / calibration["texts_per_s"] / 3600,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['shape']}-shaped model on {report['device']} ({report['precision']}, "
        f"{report['threads']} threads), {report['ads']} ads of {report['words_per_ad']} words"
    )
    print(f"{'method':<34} {'s/ad':>7} {'× fragments':>12}")
    names = {
        "fragments": "PyPI method: one encode/fragment",
        "pooled": "extract(), spans pooled (default)",
        "encoded": "extract(), spans encoded alone",
    }
    for key, label in names.items():
        print(
            f"{label:<34} {report['seconds_per_ad'][key]:>7.2f} {report['ratio_to_fragments'][key]:>11.2f}×"
        )
    recipe, calibration = report["recipe"], report["calibration"]
    print(
        f"recipe {recipe['name']}: {recipe['texts']:,} texts ({recipe['distinct_texts']:,} distinct), "
        f"{recipe['tokens']:,} tokens"
    )
    print(
        f"calibration: {calibration['texts']} random texts in {calibration['seconds']:.1f} s "
        f"({calibration['texts_per_s']:.1f} texts/s) -> build about {report['build_hours_estimate']:.1f} h"
    )


if __name__ == "__main__":
    raise SystemExit(main())
