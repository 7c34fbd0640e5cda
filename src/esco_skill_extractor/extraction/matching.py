"""Pure scoring of concepts against text segments: dense views fused with lexical signals.

For one sentence with clauses, the score of a concept is::

    dense(q)  = (label_weight * max_label_sim(q) + blob_weight * blob_sim(q))
                / (label_weight + blob_weight)
    semantic  = sentence_weight * dense(sentence) + (1 - sentence_weight) * max_clause dense(clause)
    score     = semantic + bm25_weight * bm25 / max(bm25 over concepts) + verbatim_boost * hit

clipped to [0, 1]. ``max_label_sim`` is the best cosine over the preferred and alternative
labels, ``blob_sim`` the cosine to "labels + description"; ``hit`` is 1 when a label occurs
verbatim (term for term) in the sentence. The weights were chosen on the development
split of the skill-linking benchmark (see README, "Quality").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .lexical import BM25, VerbatimMatcher, terms
from .views import VIEW_BLOB, ViewTable

__all__ = ["ConceptIndex", "MatchConfig", "SentenceScores"]

_CHUNK_ROWS = 16_384  # views converted to float32 per step: bounds memory with float16 caches


@dataclass(frozen=True)
class MatchConfig:
    """Weights of the fused score (defaults measured on the benchmark's development split)."""

    label_weight: float = 1.0
    blob_weight: float = 0.7
    sentence_weight: float = 0.5
    bm25_weight: float = 0.4
    verbatim_boost: float = 0.1


@dataclass(frozen=True)
class SentenceScores:
    """Scores of every concept for one sentence, and where the evidence lies.

    ``best_segment[c]`` is the index (into the sentence's segment list, 0 = the whole
    sentence) of the segment most similar to concept ``c``; ``best_view[c]`` the view that
    matched it best.
    """

    scores: np.ndarray  # float32 (n_concepts,)
    best_segment: np.ndarray  # int32 (n_concepts,)
    best_view: np.ndarray  # int32 (n_concepts,)
    verbatim: dict[int, tuple[int, int]]  # concept -> (start, end) of a verbatim label hit


class ConceptIndex:
    """Everything needed to score one kind of concept (skills or occupations).

    Args:
        table: The concept views (see :mod:`.views`).
        vectors: One L2-normalised vector per view, rows aligned with ``table.texts``
            (float16 or float32, possibly memory-mapped).
        labels: ``(concept index, label)`` pairs for the lexical signals.
    """

    def __init__(self, table: ViewTable, vectors: np.ndarray, labels: Sequence[tuple[int, str]]):
        if len(vectors) != len(table.texts):
            raise ValueError(f"{len(vectors)} vectors for {len(table.texts)} views")
        self.table = table
        self.vectors = vectors
        self.size = len(table.uris)
        owners = table.owners
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
        self._blob = np.flatnonzero(table.kinds == VIEW_BLOB)
        self._is_blob = table.kinds == VIEW_BLOB
        if len(self._starts) != self.size or len(self._blob) != self.size:
            raise ValueError("each concept needs contiguous views and exactly one blob view")
        self.verbatim = VerbatimMatcher(labels)
        documents: list[list[str]] = [[] for _ in range(self.size)]
        for owner, label in labels:
            documents[owner].extend(terms(label))
        self.bm25 = BM25(documents)

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """Cosine of each query to each view, ``(n_queries, n_views)`` float32."""
        out = np.empty((len(queries), len(self.vectors)), dtype=np.float32)
        q = np.ascontiguousarray(queries, dtype=np.float32)
        for start in range(0, len(self.vectors), _CHUNK_ROWS):
            block = np.asarray(self.vectors[start : start + _CHUNK_ROWS], dtype=np.float32)
            np.matmul(q, block.T, out=out[:, start : start + len(block)])
        return out

    def dense(self, queries: np.ndarray, config: MatchConfig) -> tuple[np.ndarray, np.ndarray]:
        """Per-concept dense score ``(n_queries, n_concepts)`` and the best label view of each."""
        sims = self.similarities(queries)
        blob = sims[:, self._blob]
        labels = np.where(self._is_blob, -2.0, sims)
        best_label = np.maximum.reduceat(labels, self._starts, axis=1)
        # The best view index: argmax within each concept's label block.
        view_of = _argmax_reduceat(labels, self._starts)
        weight = config.label_weight + config.blob_weight
        score = (config.label_weight * best_label + config.blob_weight * blob) / weight
        return score.astype(np.float32, copy=False), view_of

    def score_sentence(
        self,
        sentence: str,
        offset: int,
        dense: np.ndarray,
        views: np.ndarray,
        config: MatchConfig,
    ) -> SentenceScores:
        """Fuse the dense rows of one sentence (row 0 = sentence, then clauses) with lexical signals.

        Args:
            sentence: The sentence text (for lexical matching).
            offset: Where the sentence starts in the document (for verbatim spans).
            dense: ``(1 + n_clauses, n_concepts)`` dense scores from :meth:`dense`.
            views: The matching best-view indexes.
            config: Fusion weights.
        """
        if len(dense) > 1:
            clause_best = dense[1:].argmax(axis=0)
            clause_score = dense[1:].max(axis=0)
            semantic = config.sentence_weight * dense[0] + (1 - config.sentence_weight) * clause_score
            best_segment = np.where(clause_score >= dense[0], clause_best + 1, 0).astype(np.int32)
        else:
            semantic = dense[0].copy()
            best_segment = np.zeros(self.size, dtype=np.int32)
        best_view = views[best_segment, np.arange(self.size)]
        if config.bm25_weight:
            bm25 = self.bm25.scores(terms(sentence))
            top = float(bm25.max())
            if top > 0:
                semantic += config.bm25_weight * (bm25 / top)
        verbatim: dict[int, tuple[int, int]] = {}
        for hit in self.verbatim.find(sentence):
            span = (offset + hit.start, offset + hit.end)
            current = verbatim.get(hit.owner)
            if current is None or span[1] - span[0] > current[1] - current[0]:
                verbatim[hit.owner] = span
        if verbatim and config.verbatim_boost:
            semantic[list(verbatim)] += config.verbatim_boost
        np.clip(semantic, 0.0, 1.0, out=semantic)
        return SentenceScores(semantic, best_segment, best_view.astype(np.int32), verbatim)


def _argmax_reduceat(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each row and each block ``[starts[i], starts[i+1])``, the column of the maximum."""
    n_rows, n_cols = values.shape
    ends = np.r_[starts[1:], n_cols]
    block_max = np.maximum.reduceat(values, starts, axis=1)
    expanded = np.repeat(block_max, ends - starts, axis=1)
    is_max = values >= expanded
    # First column in each block that reaches the block maximum.
    columns = np.broadcast_to(np.arange(n_cols), values.shape)
    candidates = np.where(is_max, columns, n_cols)
    return np.minimum.reduceat(candidates, starts, axis=1).astype(np.int32)
