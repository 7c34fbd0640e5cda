"""Pure scoring of concepts against one sentence: dense views fused with lexical signals.

For a sentence with clauses and word windows (1-4 words), the score of a concept is::

    dense(q)  = (label_weight * max_label_sim(q) + blob_weight * blob_sim(q))
                / (label_weight + blob_weight)
    semantic  = sentence_weight * dense(sentence)
                + (1 - sentence_weight) * max(dense(q) for q in clauses and windows)
    score     = semantic + bm25_weight * bm25 / max(bm25) + verbatim_boost * hit

A label found verbatim in the sentence also counts as a window whose vector is the label's
own cached view, so an exact mention scores high however long its sentence is.

clipped to [0, 1]. ``max_label_sim`` is the best cosine over the preferred and alternative
labels; ``blob_sim`` the cosine to "labels + description"; ``hit`` is 1 when a label
occurs verbatim (term for term) in the sentence. Word windows are scored only for a
shortlist of concepts (the best by the other signals), which loses nothing measurable and
keeps the cost flat. The weights were chosen on the development split of the
skill-linking benchmark (README, "Quality").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .lexical import BM25, VerbatimMatcher, terms
from .views import VIEW_BLOB, ViewTable

__all__ = ["ConceptIndex", "Hit", "MatchConfig"]

_CHUNK_ROWS = 16_384  # views converted to float32 per step: bounds memory for float16 caches


@dataclass(frozen=True)
class MatchConfig:
    """Weights of the fused score; defaults measured on the benchmark's development split.

    Attributes:
        label_weight: Weight of the best label view.
        blob_weight: Weight of the "labels + description" view.
        sentence_weight: Share of the whole sentence against its best clause or window.
        bm25_weight: Weight of BM25 over the concept's labels (normalised per sentence).
        verbatim_boost: Added when a label occurs verbatim in the sentence.
        window_words: Longest word window scored (0: clauses only).
        shortlist: Concepts per sentence that word windows re-score.
        one_concept_per_span: When extracting, each span of text supports only its
            best concept (rankings are unaffected).
        verbatim_as_window: A label found verbatim counts as a word window encoded on its
            own (its vector is the label's own view), whatever its context, with this
            weight (0 disables; 0.9 and 0.8 measured worse than 1).
        occupation_window_words: Shortest word window scored for occupations: a lone
            word such as "engineer" would name every kind of engineer (one-word titles
            such as "cook" are still found verbatim).
    """

    label_weight: float = 1.0
    blob_weight: float = 1.0
    sentence_weight: float = 0.4
    bm25_weight: float = 0.1
    verbatim_boost: float = 0.0
    window_words: int = 4
    shortlist: int = 200
    one_concept_per_span: bool = True
    verbatim_as_window: float = 1.0
    occupation_window_words: int = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """One concept scored in one sentence; ``start``/``end`` are relative to the sentence."""

    concept: int
    score: float
    start: int
    end: int
    view: int  # the view (index into the table's texts) that matched best


class ConceptIndex:
    """Everything needed to score one kind of concept (skills or occupations).

    Args:
        table: The concept views (see :mod:`.views`).
        vectors: One L2-normalised vector per view, rows aligned with ``table.texts``
            (float16 or float32, possibly memory-mapped).
        labels: ``(concept index, label)`` pairs for the lexical signals.
        bare_variants: Find labels verbatim without their parenthetical qualifier too (right
            for skills: "Java (computer programming)"; wrong for occupations, where
            "mentor (drugs and alcohol)" is not any mentor).
    """

    def __init__(self, table: ViewTable, vectors: np.ndarray, labels: Sequence[tuple[int, str]],
                 *, bare_variants: bool = True):
        if len(vectors) != len(table.texts):
            raise ValueError(f"{len(vectors)} vectors for {len(table.texts)} views")
        self.table = table
        self.vectors = vectors
        self.size = len(table.uris)
        owners = table.owners
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
        self._ends = np.r_[self._starts[1:], len(owners)].astype(np.int64)
        self._is_blob = table.kinds == VIEW_BLOB
        self._blob = np.flatnonzero(self._is_blob)
        if len(self._starts) != self.size or len(self._blob) != self.size:
            raise ValueError("each concept needs contiguous views and exactly one blob view")
        self._blocks: list[tuple[int, int]] = []  # concept ranges of about _CHUNK_ROWS views
        first = 0
        while first < self.size:
            limit = self._starts[first] + _CHUNK_ROWS
            last = max(first + 1, int(np.searchsorted(self._ends, limit, side="right")))
            self._blocks.append((first, min(last, self.size)))
            first = min(last, self.size)
        # Labels are tokenised once for both lexical indexes (a third of the start-up time).
        tokenized: dict[str, list[str]] = {}

        def tokenize(text: str) -> list[str]:
            found = tokenized.get(text)
            if found is None:
                found = tokenized[text] = terms(text)
            return found

        self.verbatim = VerbatimMatcher(labels, bare_variants=bare_variants, tokenize=tokenize)
        # A label found verbatim is a window whose isolated vector is the label's own view:
        # its dense score needs only the cosine of that view to its concept's blob.
        self._label_view = {
            (int(owner), text): view
            for view, (owner, text, kind) in enumerate(zip(owners, table.texts, table.kinds,
                                                           strict=True))
            if kind != VIEW_BLOB
        }
        self._view_blob_sim = _blob_cosines(vectors, owners, self._blob)
        documents: list[list[str]] = [[] for _ in range(self.size)]
        for owner, label in labels:
            documents[owner].extend(tokenize(label))
        self.bm25 = BM25(documents)

    # -- dense --------------------------------------------------------------------------------
    def _reduce(
        self, sims: np.ndarray, is_blob: np.ndarray, starts: np.ndarray, config: MatchConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        labels = np.where(is_blob, np.float32(-np.inf), sims)
        label_max = np.maximum.reduceat(labels, starts, axis=1)
        blob = sims[:, np.flatnonzero(is_blob)]
        # A concept without a label view (an empty label) is scored by its blob alone.
        best_label = np.where(np.isneginf(label_max), blob, label_max)
        weight = config.label_weight + config.blob_weight
        score = (config.label_weight * best_label + config.blob_weight * blob) / weight
        return score.astype(np.float32, copy=False), _argmax_blocks(labels, starts, label_max)

    def dense(self, queries: np.ndarray, config: MatchConfig) -> tuple[np.ndarray, np.ndarray]:
        """Dense score of every concept for each query ``(n_queries, n_concepts)``, and the
        index of the best label view of each.

        Views are read in blocks of whole concepts (about 16k views): a float16 cache is
        converted one block at a time and the similarities never exist for all views at once.
        """
        q = np.ascontiguousarray(queries, dtype=np.float32)
        score = np.empty((len(q), self.size), dtype=np.float32)
        view = np.empty((len(q), self.size), dtype=np.int32)
        for first, last in self._blocks:
            v0, v1 = int(self._starts[first]), int(self._ends[last - 1])
            block = np.asarray(self.vectors[v0:v1], dtype=np.float32)
            sims = q @ block.T
            s, arg = self._reduce(sims, self._is_blob[v0:v1], self._starts[first:last] - v0, config)
            score[:, first:last] = s
            view[:, first:last] = arg + v0
        return score, view

    def dense_subset(
        self, queries: np.ndarray, concepts: np.ndarray, config: MatchConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`dense` for the given concepts only (columns in their order)."""
        lengths = self._ends[concepts] - self._starts[concepts]
        starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        # The views of each concept, concatenated: arange shifted block by block.
        views = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(
            self._starts[concepts] - starts, lengths)
        block = np.asarray(self.vectors[views], dtype=np.float32)
        sims = np.ascontiguousarray(queries, dtype=np.float32) @ block.T
        score, local = self._reduce(sims, self._is_blob[views], starts, config)
        return score, views[local]

    # -- one sentence ------------------------------------------------------------------------
    def score_sentence(
        self,
        sentence: str,
        dense: np.ndarray,
        views: np.ndarray,
        row_spans: Sequence[tuple[int, int]],
        windows: np.ndarray,
        window_spans: Sequence[tuple[int, int]],
        config: MatchConfig,
        keep: int,
    ) -> list[Hit]:
        """Score every concept for one sentence and return the best ``keep``, best first.

        Args:
            sentence: The sentence text.
            dense: :meth:`dense` of the sentence (row 0) and its clauses.
            views: The best views that came with ``dense``.
            row_spans: Spans of the sentence and clauses inside the sentence.
            windows: Vectors of word windows.
            window_spans: Spans of ``windows`` inside the sentence.
            config: Fusion weights.
            keep: How many concepts to return.
        """
        whole = dense[0]
        if len(dense) > 1:
            part_row = dense[1:].argmax(axis=0) + 1
            part = dense[part_row, np.arange(self.size)]
        else:
            part_row = np.zeros(self.size, dtype=np.int64)
            part = whole
        lexical = np.zeros(self.size, dtype=np.float32)
        if config.bm25_weight:
            bm25 = self.bm25.scores(terms(sentence))
            bm25_max = float(bm25.max())
            if bm25_max > 0:
                lexical += config.bm25_weight * (bm25 / bm25_max)
        verbatim: dict[int, tuple[int, int]] = {}
        exact: dict[int, tuple[float, int]] = {}  # concept -> (dense of the label, its view)
        weight = config.label_weight + config.blob_weight
        for hit in self.verbatim.find(sentence):
            current = verbatim.get(hit.owner)
            if current is None or hit.end - hit.start > current[1] - current[0]:
                verbatim[hit.owner] = (hit.start, hit.end)
            view = self._label_view.get((hit.owner, hit.label))
            if view is not None and config.verbatim_as_window:
                value = (config.label_weight + config.blob_weight
                         * float(self._view_blob_sim[view])) / weight
                value = config.verbatim_as_window * value
                if value > exact.get(hit.owner, (-1.0, 0))[0]:
                    exact[hit.owner] = (value, view)
        if verbatim and config.verbatim_boost:
            lexical[list(verbatim)] += config.verbatim_boost

        best_span = [row_spans[r] for r in part_row.tolist()]
        best_view = views[part_row, np.arange(self.size)]
        if exact:
            part = part.copy()
            for concept, (value, view) in exact.items():
                if value > part[concept]:
                    part[concept] = value
                    best_span[concept] = verbatim[concept]
                    best_view[concept] = view
        sw = config.sentence_weight
        score = sw * whole + (1 - sw) * part + lexical
        # Word windows re-score a shortlist (computed after the other signals).
        if len(windows) and config.shortlist > 0:
            k = min(config.shortlist, self.size)
            shortlist = np.argpartition(-score, k - 1)[:k]
            window_dense, window_views = self.dense_subset(windows, shortlist, config)
            w_row = window_dense.argmax(axis=0)
            w_best = window_dense[w_row, np.arange(len(shortlist))]
            better = w_best > part[shortlist]
            for column in np.flatnonzero(better).tolist():
                concept = int(shortlist[column])
                score[concept] += (1 - sw) * (float(w_best[column]) - float(part[concept]))
                best_span[concept] = window_spans[int(w_row[column])]
                best_view[concept] = window_views[w_row[column], column]
        np.clip(score, 0.0, 1.0, out=score)
        count = min(keep, self.size)
        top = np.argpartition(-score, count - 1)[:count]
        top = top[np.argsort(-score[top], kind="stable")]
        hits = []
        for concept in top.tolist():
            span = verbatim.get(concept) or best_span[concept]
            hits.append(Hit(concept, float(score[concept]), span[0], span[1], int(best_view[concept])))
        return hits


def _blob_cosines(vectors: np.ndarray, owners: np.ndarray, blob: np.ndarray) -> np.ndarray:
    """Cosine of every view to its own concept's blob view (float32, one per view)."""
    out = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _CHUNK_ROWS):
        rows = np.asarray(vectors[start : start + _CHUNK_ROWS], dtype=np.float32)
        blobs = np.asarray(vectors[blob[owners[start : start + _CHUNK_ROWS]]], dtype=np.float32)
        out[start : start + len(rows)] = np.einsum("ij,ij->i", rows, blobs)
    return out


def _argmax_blocks(values: np.ndarray, starts: np.ndarray,
                   block_max: np.ndarray | None = None) -> np.ndarray:
    """For each row and each block ``[starts[i], starts[i+1])``, the column of its maximum.

    ``block_max``: the blocks' maxima, when the caller has them already.
    """
    n_cols = values.shape[1]
    ends = np.r_[starts[1:], n_cols]
    if block_max is None:
        block_max = np.maximum.reduceat(values, starts, axis=1)
    expanded = np.repeat(block_max, ends - starts, axis=1)
    columns = np.where(values >= expanded, np.arange(n_cols, dtype=np.int32), np.int32(n_cols))
    return np.minimum.reduceat(columns, starts, axis=1)
