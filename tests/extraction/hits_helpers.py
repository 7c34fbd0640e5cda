"""Hand-built hits for the pure extraction tests: no embedder, no cache, no disk.

Scores are multiples of 1/8 (exact in float32), so expected values can be written out.
"""

from __future__ import annotations

import numpy as np

from esco_skill_extractor.cache.recipe import ViewTable
from esco_skill_extractor.extraction.matching import Hits
from esco_skill_extractor.extraction.scoring import ScoredSentence, SentenceHits
from esco_skill_extractor.types import SkillMatch

Row = tuple[int, float, int, int, int]  # concept, score, start, end (in the sentence), view


def hits(*rows: Row) -> Hits:
    """Hits from ``(concept, score, start, end, view)`` rows, given best first."""
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True), "best first"
    columns = [np.array([row[i] for row in rows], dtype=float if i == 1 else int) for i in range(5)]
    return Hits(*columns)


def sentence(
    start: int, end: int, skills: tuple[Row, ...] = (), occupations: tuple[Row, ...] = ()
) -> ScoredSentence:
    """A scored sentence ``text[start:end]`` whose hits' offsets are relative to ``start``."""
    return (start, end, SentenceHits(hits(*skills), hits(*occupations)))


def view_of(table: ViewTable, concept: int, text: str) -> int:
    """The row of ``table`` holding ``text`` as a view of ``concept``."""
    (row,) = [i for i, t in enumerate(table.texts) if t == text and table.owners[i] == concept]
    return row


def found_skill(uri: str, score: float) -> SkillMatch:
    """A skill match as the occupation inference sees it (only its URI and score matter)."""
    return SkillMatch(
        uri=uri,
        label=uri,
        score=score,
        skill_type="",
        reuse_level="",
        collections=(),
        evidence=(),
        matched_label="",
    )
