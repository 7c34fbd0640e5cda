"""Occupations from job titles, in every language the ESCO data has, built from ESCO itself.

Each query is one alternative label of an occupation in a language L ("Softwareentwicklerin",
"Enfermero", "développeuse web"). Every sampled label is left out of the index: the
occupations keep all their other labels, in every language, but not the query strings, so
no query can be found verbatim as itself. The occupations are then ranked for each query
(``rank_occupations``, the query's language given) and scored by R@1, R@5 and MRR per
language. Also reported: how often the language detector names the query's language (job
titles are short: one to five words).

The index holds every occupation and only a few skills (ranking occupations by text does not
use the skills), so the embedding caches it needs build in minutes.

Usage:
    python benchmarks/job_titles.py [--per-language 200] [--model all-MiniLM-L6-v2] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import sys
from collections.abc import Sequence
from types import MappingProxyType

_SKILLS_KEPT = 50


def _labels(occupation, language: str, primary: str) -> tuple[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    if language == primary:
        return occupation.preferred_label, occupation.alt_labels
    translation = occupation.translations.get(language)
    return (translation.preferred_label, translation.alt_labels) if translation else ("", ())


def sample_queries(taxonomy, per_language: int, seed: int = 0) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """``(language, occupation URI, alternative label)``: at most one label per occupation and
    language, distinct from its preferred label in that language and from each form of its
    gender pair ("Koch/Köchin" makes neither "Koch" nor "Köchin" a query: that would test
    only the reading of the pair)."""
    from esco_skill_extractor.extraction.lexical import label_variants

    rng = random.Random(seed)
    queries = []
    for language in taxonomy.languages:
        candidates = []
        for uri, occupation in taxonomy.occupations.items():
            preferred, alternatives = _labels(occupation, language, taxonomy.language)
            forms = {v.casefold() for v in label_variants(preferred, bare=False, language=language)}
            forms.add(preferred.casefold())
            usable = [a for a in alternatives if a and a.casefold() not in forms]
            if usable:
                candidates.append((language, uri, rng.choice(sorted(usable))))
        rng.shuffle(candidates)
        queries += sorted(candidates[:per_language], key=lambda q: q[1])
    return queries


def without_queries(taxonomy, queries: Sequence[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
    """The taxonomy with each query's label removed from its occupation (in every language)
    and only a few skills; its content hash says so (caches never mix)."""
    removed: dict[str, set[str]] = {}
    for _, uri, label in queries:
        removed.setdefault(uri, set()).add(label.casefold())

    def keep(labels: tuple[str, ...], gone: set[str]) -> tuple[str, ...]:
        return tuple(label for label in labels if label.casefold() not in gone)

    occupations = {}
    for uri, occupation in taxonomy.occupations.items():
        gone = removed.get(uri)
        if gone:
            translations = {
                language: dataclasses.replace(t, alt_labels=keep(t.alt_labels, gone))
                for language, t in occupation.translations.items()
            }
            occupation = dataclasses.replace(
                occupation,
                alt_labels=keep(occupation.alt_labels, gone),
                translations=MappingProxyType(translations),
            )
        occupations[uri] = occupation
    skills = dict(list(taxonomy.skills.items())[:_SKILLS_KEPT])
    digest = hashlib.sha256(json.dumps(sorted(map(list, queries))).encode()).hexdigest()[:12]
    return dataclasses.replace(
        taxonomy,
        content_hash=f"{taxonomy.content_hash}-titles-{digest}",
        skills=MappingProxyType(skills),
        occupations=MappingProxyType(occupations),
        occupation_skills={},
    )


def score(rankings: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    n = len(gold) or 1
    ranks = [
        next((i for i, uri in enumerate(r, 1) if uri == g), None) for r, g in zip(rankings, gold, strict=True)
    ]
    return {
        "queries": len(gold),
        "r@1": sum(rank == 1 for rank in ranks) / n,
        "r@5": sum(rank is not None and rank <= 5 for rank in ranks) / n,
        "mrr": sum(1 / rank for rank in ranks if rank) / n,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=200, help="queries per language")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--multilingual-model", default="auto", help="'auto', a model name, or 'none'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from esco_skill_extractor import SkillExtractor, load_taxonomy
    from esco_skill_extractor.extraction.assembly import assemble

    full = load_taxonomy()
    queries = sample_queries(full, args.per_language, args.seed)
    taxonomy = without_queries(full, queries)
    other = None if args.multilingual_model == "none" else args.multilingual_model
    parts = assemble(
        model=args.model, taxonomy=taxonomy, multilingual_model=other, show_progress=sys.stderr.isatty()
    )
    extractor = SkillExtractor.from_assembly(parts)

    report: dict[str, dict[str, float]] = {}
    for language in taxonomy.languages:
        mine = [q for q in queries if q[0] == language]
        if not mine:
            continue
        texts = [label for _, _, label in mine]
        rankings = [[uri for uri, _ in r] for r in extractor.rank_occupations(texts, 5, language=language)]
        report[language] = score(rankings, [uri for _, uri, _ in mine])
        detected = [extractor.detect_language(t) for t in texts]
        report[language]["detected_as_language"] = sum(d == language for d in detected) / len(texts)
    if args.json:
        print(
            json.dumps(
                {"model": args.model, "multilingual_model": extractor.multilingual_model, "results": report},
                indent=2,
            )
        )
        return 0
    print(f"model: {args.model}   other languages: {extractor.multilingual_model or 'the same model'}")
    print(f"{'language':<10}{'queries':>8}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'detected':>10}")
    for language, r in report.items():
        print(
            f"{language:<10}{r['queries']:>8}{r['r@1']:>7.3f}{r['r@5']:>7.3f}{r['mrr']:>7.3f}"
            f"{r['detected_as_language']:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
