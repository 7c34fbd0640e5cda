"""Fusing two models' hits, and routing texts by language (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from esco_skill_extractor.extraction.matching import Hits
from esco_skill_extractor.extraction.routing import fuse_hits


def hits(rows: list[tuple[int, float, int, int, int]]) -> Hits:
    concepts, scores, starts, ends, views = (np.asarray(column) for column in zip(*rows, strict=True))
    return Hits(concepts, scores, starts, ends, views)


def test_scores_are_averaged_and_a_missing_concept_takes_the_lists_floor() -> None:
    first = hits([(1, 0.75, 0, 4, 10), (2, 0.5, 5, 9, 11)])
    second = hits([(2, 0.875, 5, 9, 20), (3, 0.25, 0, 2, 21)])
    fused = fuse_hits(first, second)
    got = dict(zip(fused.concepts.tolist(), fused.scores.tolist(), strict=True))
    assert got == {2: pytest.approx(0.6875), 1: pytest.approx(0.5), 3: pytest.approx(0.375)}
    assert fused.concepts.tolist() == [2, 1, 3]  # best first


def test_spans_come_from_the_surer_model_and_views_from_the_second() -> None:
    first = hits([(1, 0.75, 0, 4, 10), (2, 0.5, 5, 9, 11)])
    second = hits([(1, 0.5, 1, 3, 30), (2, 0.875, 6, 8, 31)])
    fused = {h.concept: h for h in fuse_hits(first, second)}
    assert (fused[1].start, fused[1].end, fused[1].view) == (
        0,
        4,
        30,
    )  # span of the first, view of the second
    assert (fused[2].start, fused[2].end, fused[2].view) == (6, 8, 31)


def test_a_concept_only_the_first_model_found_has_no_view() -> None:
    fused = {h.concept: h for h in fuse_hits(hits([(4, 0.75, 0, 4, 10)]), hits([(5, 0.5, 1, 3, 30)]))}
    assert fused[4].view == -1 and (fused[4].start, fused[4].end) == (0, 4)


def test_keep_bounds_the_fused_list_and_empty_lists_fuse() -> None:
    first = hits([(i, 1 - i / 10, 0, 1, i) for i in range(6)])
    second = hits([(i + 3, 1 - i / 10, 0, 1, i) for i in range(6)])
    assert len(fuse_hits(first, second, keep=4)) == 4
    empty = Hits(*(np.zeros(0) for _ in range(5)))
    assert len(fuse_hits(empty, empty)) == 0
