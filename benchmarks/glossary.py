"""What the English glosses of other languages cost, and how much of a text they translate.

For each language the ESCO data has labels in besides English: the time to learn its
glossary from the taxonomy's parallel labels (from scratch, nothing cached), the number of
words it knows, then over the sentences of a translated benchmark folder (``--data``, the
``multilingual/<lang>`` folders): the share of words glossed into another word and the
sentences glossed per second. The quality the glosses give is measured by
``quality.py`` (``--no-gloss`` for the model reading the original instead).

Usage:
    python benchmarks/glossary.py [--data ../shared/benchmark/multilingual] [--esco-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from pathlib import Path


def peak_mb() -> float:
    """The process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmark/multilingual"))
    parser.add_argument("--esco-dir", type=Path, default=None, help="ESCO folder (default: the built-in)")
    args = parser.parse_args()

    from esco_skill_extractor.extraction.assembly import label_languages
    from esco_skill_extractor.extraction.glossary import load_glossary
    from esco_skill_extractor.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(args.esco_dir, snapshot=False)
    print(f"taxonomy loaded: peak {peak_mb():,.0f} MB resident")
    print(
        f"{'language':<9}{'learn s':>9}{'peak MB':>9}{'words':>8}"
        f"{'sentences':>11}{'glossed':>9}{'sentences/s':>13}"
    )
    for language in label_languages(taxonomy)[1:]:
        started = time.perf_counter()
        glossary = load_glossary(taxonomy, language, None)
        learned = time.perf_counter() - started
        peak = peak_mb()
        if glossary is None:
            continue
        sentences = sorted(
            {
                row["sentence"]
                for path in sorted((args.data / language).glob("*_annotations.csv"))
                for row in csv.DictReader(open(path, encoding="utf-8", newline=""))
            }
        )
        started = time.perf_counter()
        glosses = [glossary.gloss(sentence) for sentence in sentences]
        seconds = time.perf_counter() - started
        words = changed = 0
        for sentence, gloss in zip(sentences, glosses, strict=True):
            for g0, g1, s0, s1 in gloss.pieces.tolist():
                words += 1
                changed += gloss.text[g0:g1] != sentence[s0:s1]
        rate = f"{len(sentences) / seconds:,.0f}" if sentences and seconds else "-"
        share = f"{changed / words:.2f}" if words else "-"
        print(
            f"{language:<9}{learned:>9.1f}{peak:>9,.0f}{len(glossary.words):>8,}"
            f"{len(sentences):>11}{share:>9}{rate:>13}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
