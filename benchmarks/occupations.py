"""Occupations of whole job ads and CV summaries, in four languages.

Reads ``job_ads_dev.csv`` (columns ``id, language, text, occupation_uri, acceptable_uris,
esco_label, isco_group``; a hit is the gold URI or one of the acceptable ones) and prints per
language and overall: R@1, R@5 and MRR of ``rank_occupations``, the share of ads whose
``get_occupations`` list holds a hit, and the median length of that list. ``--baseline``
adds the method of the PyPI package esco-skill-extractor 0.1.18 with the same model (its
regex split; each fragment's best occupation blob above its 0.55 threshold), re-implemented
as in ``quality.py``.

Usage:
    python benchmarks/occupations.py --data ../shared/benchmark/occupations/job_ads_dev.csv
                                     [--model NAME] [--baseline] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ad:
    id: str
    language: str
    text: str
    gold: frozenset[str]  # the occupation and the equally right ones


def load_ads(path: Path) -> list[Ad]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [
            Ad(
                row["id"],
                row["language"],
                row["text"],
                frozenset([row["occupation_uri"], *filter(None, row["acceptable_uris"].split("|"))]),
            )
            for row in csv.DictReader(handle)
        ]


def metrics(
    rankings: Sequence[Sequence[str]], lists: Sequence[Sequence[str]], ads: Sequence[Ad]
) -> dict[str, float]:
    n = len(ads)
    ranks = [
        next((i for i, uri in enumerate(r, 1) if uri in ad.gold), None)
        for r, ad in zip(rankings, ads, strict=True)
    ]
    return {
        "ads": n,
        "r@1": sum(rank == 1 for rank in ranks) / n,
        "r@5": sum(rank is not None and rank <= 5 for rank in ranks) / n,
        "mrr": sum(1 / rank for rank in ranks if rank) / n,
        "gold_in_list": sum(bool(ad.gold & set(found)) for found, ad in zip(lists, ads, strict=True)) / n,
        "median_list": float(statistics.median(len(found) for found in lists)),
    }


class Baseline:
    """The PyPI package 0.1.18's occupation method, with the same model."""

    _SPLIT = re.compile(r"\r|\n|\t|\.|\,|\;|and|or")

    def __init__(self, embedder, taxonomy, threshold: float = 0.55) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        from esco_skill_extractor.cache.store import EmbeddingCache

        @dataclass(frozen=True)
        class Blobs:
            texts: tuple[str, ...]

        self._np = np
        self._embedder = embedder
        self._threshold = threshold
        self._uris = list(taxonomy.occupations)
        blobs = Blobs(
            tuple(
                " ".join(" ".join([*o.all_labels, o.description]).split())
                for o in taxonomy.occupations.values()
            )
        )
        cached = EmbeddingCache().load_or_build(embedder, taxonomy, {"pypi_occupation_blobs": blobs})
        self._vectors = np.asarray(cached.vectors["pypi_occupation_blobs"], dtype=np.float32)

    def rank(self, texts: Sequence[str], top_k: int) -> list[list[str]]:
        scores = self._embedder.embed(list(texts), kind="query") @ self._vectors.T
        order = self._np.argsort(-scores, axis=1)[:, :top_k]
        return [[self._uris[i] for i in row] for row in order]

    def get_occupations(self, texts: Sequence[str]) -> list[list[str]]:
        out: list[list[str]] = []
        for text in texts:
            fragments = [s for s in self._SPLIT.split(text.strip()) if s.strip()]
            if not fragments:
                out.append([])
                continue
            scores = self._embedder.embed(fragments, kind="query") @ self._vectors.T
            best = scores.argmax(axis=1)
            keep = scores[self._np.arange(len(fragments)), best] > self._threshold
            out.append(list(dict.fromkeys(self._uris[i] for i in best[keep])))
        return out


def evaluate(
    rank: Callable[[list[str]], list[list[str]]],
    listed: Callable[[list[str]], list[list[str]]],
    ads: Sequence[Ad],
) -> dict[str, dict[str, float]]:
    texts = [ad.text for ad in ads]
    rankings, lists = rank(texts), listed(texts)
    out = {"all": metrics(rankings, lists, ads)}
    for language in sorted({ad.language for ad in ads}):
        mine = [i for i, ad in enumerate(ads) if ad.language == language]
        out[language] = metrics([rankings[i] for i in mine], [lists[i] for i in mine], [ads[i] for i in mine])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="job_ads_dev.csv")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--occupations-threshold", type=float, default=None)
    parser.add_argument("--baseline", action="store_true", help="also run the PyPI package's method")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from esco_skill_extractor import SkillExtractor

    ads = load_ads(args.data)
    extractor = SkillExtractor(model=args.model, occupation_threshold=args.occupations_threshold)
    report = {
        "ours": evaluate(
            lambda texts: [[uri for uri, _ in r] for r in extractor.rank_occupations(texts, 10)],
            extractor.get_occupations,
            ads,
        )
    }
    if args.baseline:
        baseline = Baseline(extractor.embedder, extractor.taxonomy)
        report["pypi"] = evaluate(lambda texts: baseline.rank(texts, 10), baseline.get_occupations, ads)
    if args.json:
        print(json.dumps({"model": args.model, "results": report}, indent=2))
        return 0
    print(f"model: {args.model}   occupations threshold: {extractor.occupation_threshold}")
    header = f"{'method':<8}{'lang':<6}{'ads':>5}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'in list':>9}{'median':>8}"
    print(header)
    print("-" * len(header))
    for method, rows in report.items():
        for language, r in rows.items():
            print(
                f"{method:<8}{language:<6}{r['ads']:>5}{r['r@1']:>7.2f}{r['r@5']:>7.2f}{r['mrr']:>7.2f}"
                f"{r['gold_in_list']:>9.2f}{r['median_list']:>8.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
