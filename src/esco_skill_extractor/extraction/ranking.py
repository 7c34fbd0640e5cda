"""Rankings of concepts for a text, from its scored sentences (pure: hits in, ``(uri, score)`` out).

:meth:`~.pipeline.SkillExtractor.rank_skills` ranks a text's skills by their best sentence
score; occupations weigh the title and role sentences (:func:`~.occupations.sentence_weights`)
and the whole document's similarity (:func:`~.occupations.blend_document`).
:meth:`~.pipeline.SkillExtractor.rank_occupations` puts the occupations as ``extract()``
scores them first and fills the rest from this text-only ranking (:func:`fill_ranking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from .matching import MatchConfig
from .occupations import blend_document, sentence_weights
from .scoring import ScoredSentence

__all__ = ["fill_ranking", "rank_text"]

_DOCUMENT_CANDIDATES = 20  # occupations ranked by the document alone that are scored too

Ranking = list[tuple[str, float]]


def rank_text(
    text: str,
    sentences: Sequence[ScoredSentence],
    uris: Sequence[str],
    kind: Literal["skill", "occupation"],
    top_k: int,
    document: np.ndarray | None,
    config: MatchConfig,
) -> Ranking:
    """The ``top_k`` concepts of one text, best first: each scores its best sentence score
    (occupations: weighted by :func:`sentence_weights`, then blended with ``document``, the
    whole text's similarity to every occupation, when given).

    Args:
        text: The text the sentences' offsets refer to.
        sentences: Its scored sentences.
        uris: The URIs of the concepts, by concept index.
        kind: Which hits to rank.
        top_k: How many.
        document: See above (``None``: sentences only).
        config: The occupation weights.
    """
    weights = (
        sentence_weights(text, sentences, config.occupation_context_weight)
        if kind == "occupation"
        else [1.0] * len(sentences)
    )
    best: dict[int, float] = {}
    for weight, (_, _, scored) in zip(weights, sentences, strict=True):
        for hit in scored.skills if kind == "skill" else scored.occupations:
            score = hit.score * weight
            if score > best.get(hit.concept, -1.0):
                best[hit.concept] = score
    if document is not None:
        share = config.occupation_document_weight
        floor = min(best.values(), default=0.0)
        candidates = set(best) | set(np.argsort(-document)[: max(top_k, _DOCUMENT_CANDIDATES)].tolist())
        best = {c: blend_document(best.get(c, floor), float(document[c]), share) for c in candidates}
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:top_k]
    return [(uris[c], round(s, 6)) for c, s in ranked]


def fill_ranking(first: Ranking, fallback: Ranking, top_k: int) -> Ranking:
    """``first``'s ``top_k``, then ``fallback``'s other concepts up to ``top_k``, their
    scores capped at ``first``'s lowest (so the ranking stays best first)."""
    ranked = first[:top_k]
    seen = {uri for uri, _ in ranked}
    floor = ranked[-1][1] if ranked else 1.0
    ranked += [(uri, min(score, floor)) for uri, score in fallback if uri not in seen]
    return ranked[:top_k]
