"""Pure scoring of concepts against one sentence: dense views fused with lexical signals.

For a sentence with clauses and word windows (1-4 words), the score of a concept is::

    dense(q)  = (label_weight * max_label_sim(q) + blob_weight * blob_sim(q))
                / (label_weight + blob_weight)
    semantic  = sentence_weight * dense(sentence)
                + (1 - sentence_weight) * max(dense(q) for q in clauses and windows)
    score     = semantic + bm25_weight * bm25 / max(bm25) + verbatim_boost * hit

clipped to [0, 1]. ``max_label_sim`` is the best cosine over the preferred and alternative
labels; ``blob_sim`` the cosine to "preferred label + description"; ``hit`` is 1 when a label
occurs verbatim (term for term) in the sentence. A label found verbatim also counts as a
window whose vector is the label's own cached view, so an exact mention scores high
however long its sentence is.

Two passes keep the cost flat. The first scores every concept by ``blob_sim`` of the
sentence and its clauses alone (one vector per concept) fused with the lexical signals;
the best ``MatchConfig.candidates``, the best by BM25 and the verbatim hits are then
scored in full as above, word windows only for the best ``MatchConfig.shortlist`` of them.
On the benchmark's texts this returns the same skills as scoring every concept in full.
The weights were chosen on the development split of the skill-linking benchmark (README,
"Quality").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..cache.recipe import VIEW_BLOB, ViewTable
from .lexical import PRIMARY_LANGUAGE, LexicalIndex, build_lexical

__all__ = ["ConceptIndex", "Hit", "Hits", "MatchConfig"]

_CHUNK_ROWS = 16_384  # views converted to float32 per step: bounds memory for float16 caches
_LEXICAL_CANDIDATES = 20  # concepts scored in full for their BM25 score alone


@dataclass(frozen=True)
class MatchConfig:
    """Weights of the fused score; defaults measured on the benchmark's development split.

    Attributes:
        label_weight: Weight of the best label view.
        blob_weight: Weight of the "preferred label + description" view.
        sentence_weight: Share of the whole sentence against its best clause or window.
        bm25_weight: Weight of BM25 over the concept's labels (normalised per sentence).
        verbatim_boost: Added when a label occurs verbatim in the sentence.
        window_words: Longest word window scored (0: clauses only).
        shortlist: Concepts per sentence that word windows re-score.
        candidates: Concepts per sentence scored in full: the best by their blob view (one
            vector per concept) and the lexical signals; 0 scores every concept in full.
        one_concept_per_span: When extracting, each span of text supports only its
            best concept (rankings are unaffected).
        verbatim_as_window: A label found verbatim counts as a word window encoded on its
            own (its vector is the label's own view), whatever its context, with this
            weight (0 disables; 0.9 and 0.8 measured worse than 1).
        occupation_window_words: Shortest word window scored for occupations: a lone
            word such as "engineer" would name every kind of engineer (one-word titles
            such as "cook" are still found verbatim).
        occupation_context_weight: Occupations named outside the title line and the role
            sentences ("we are looking for ...", "wir suchen ...") count this much of their
            score, when the text has such a line (1: every sentence alike).
        occupation_margin: Occupations returned score at least the best one's score minus
            this margin (0: every occupation above the threshold).
        occupation_document_weight: Share of an occupation's text score that comes from the
            whole document (the mean vector of the sentences in its first 1,000 characters,
            against the occupation's blob), the rest from its best sentence (0: sentences
            only).
        occupation_title_tail_weight: Factor of occupation hits that reach into the part of
            the title line that qualifies the job ("– Precision Engineering", "(Nights)",
            ", night shift"); 1 counts it as the title itself.
        occupation_group_weight: Near-ties (within 0.05 of the best occupation) gain this
            much times their ISCO unit group's share of the ten best scores (0: none).
        span_vectors: Where clause and word-window vectors come from: ``"pooled"`` from the
            sentence's one forward pass (models with mean or CLS pooling and no prompt; others
            encode spans on their own), or ``"encoded"``: every clause and window encoded on
            its own (ten to fifty times the encodes; for a CLS-pooled model, vectors of the
            kind its concept vectors are).
        gloss_other_languages: Where an English-only model and a multilingual one read a
            text in another language together, the English model reads a word-by-word
            English gloss of it (learned from ESCO's own translations; see
            :mod:`.glossary`) instead of the original (False: the original).
    """

    label_weight: float = 1.0
    blob_weight: float = 1.0
    sentence_weight: float = 0.4
    bm25_weight: float = 0.1
    verbatim_boost: float = 0.0
    window_words: int = 4
    shortlist: int = 200
    candidates: int = 200
    one_concept_per_span: bool = True
    verbatim_as_window: float = 1.0
    occupation_window_words: int = 2
    # Both measured on the job ads of benchmarks/occupations.py (dev split; README, "Quality").
    occupation_context_weight: float = 0.9
    occupation_margin: float = 0.1
    occupation_document_weight: float = 0.3
    occupation_title_tail_weight: float = 0.8
    occupation_group_weight: float = 0.1
    span_vectors: Literal["pooled", "encoded"] = "pooled"
    gloss_other_languages: bool = True

    def __post_init__(self) -> None:
        if self.span_vectors not in ("pooled", "encoded"):
            raise ValueError(f"span_vectors must be 'pooled' or 'encoded', not {self.span_vectors!r}")


@dataclass(frozen=True, slots=True)
class Hit:
    """One concept scored in one sentence; ``start``/``end`` are relative to the sentence."""

    concept: int
    score: float
    start: int
    end: int
    view: int  # the view (index into the table's texts) that matched best


class Hits:
    """The concepts scored in one sentence, best first, as compact arrays; iterating yields
    :class:`Hit` objects lazily (callers usually stop at a threshold after a few)."""

    __slots__ = ("concepts", "ends", "scores", "starts", "views")

    def __init__(
        self,
        concepts: np.ndarray,
        scores: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        views: np.ndarray,
    ) -> None:
        self.concepts = concepts.astype(np.int32)
        self.scores = scores.astype(np.float32)
        self.starts = starts.astype(np.int32)
        self.ends = ends.astype(np.int32)
        self.views = views.astype(np.int32)

    def __len__(self) -> int:
        return len(self.concepts)

    def above(self, threshold: float) -> Iterator[tuple[int, float, int, int, int]]:
        """``(concept, score, start, end, view)`` of the hits scoring at least ``threshold``."""
        count = int(np.count_nonzero(self.scores >= np.float64(threshold)))  # best first
        return zip(
            self.concepts[:count].tolist(),
            self.scores[:count].tolist(),
            self.starts[:count].tolist(),
            self.ends[:count].tolist(),
            self.views[:count].tolist(),
            strict=True,
        )

    def __iter__(self) -> Iterator[Hit]:
        for i in range(len(self.concepts)):
            yield Hit(
                int(self.concepts[i]),
                float(self.scores[i]),
                int(self.starts[i]),
                int(self.ends[i]),
                int(self.views[i]),
            )


@dataclass(frozen=True, slots=True)
class _Dense:
    """Dense scores ``(n_queries, n_concepts)`` and the label similarities behind them
    (``sims[:, offsets[j] : offsets[j] + counts[j]]`` for concept column ``j``, whose views
    are ``views[...]`` over the same range)."""

    score: np.ndarray
    sims: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray
    views: np.ndarray


class ConceptIndex:
    """Everything needed to score one kind of concept (skills or occupations).

    Args:
        table: The concept views (see :mod:`esco_skill_extractor.cache.recipe`).
        vectors: One L2-normalised vector per view, rows aligned with ``table.texts``
            (float16 or float32, possibly memory-mapped).
        labels: ``(concept index, label)`` pairs for the lexical signals.
        bare_variants: Find labels verbatim without their parenthetical qualifier too (right
            for skills: "Java (computer programming)"; wrong for occupations, where
            "mentor (drugs and alcohol)" is not any mentor).
        lexical: The lexical indexes over ``labels``, when built already (the assembly loads
            them from disk, see :mod:`.lexical_cache`), or one per label language (the
            primary language's over ``labels``); ``None`` builds the primary one here.
        lazy_lexical: Builders of other languages' indexes, called when a sentence in that
            language first arrives (English-only input never pays for them).
    """

    def __init__(
        self,
        table: ViewTable,
        vectors: np.ndarray,
        labels: Sequence[tuple[int, str]],
        *,
        bare_variants: bool = True,
        lexical: LexicalIndex | Mapping[str, LexicalIndex] | None = None,
        lazy_lexical: Mapping[str, Callable[[], LexicalIndex]] | None = None,
    ):
        if len(vectors) != len(table.texts):
            raise ValueError(f"{len(vectors)} vectors for {len(table.texts)} views")
        self.table = table
        self.vectors = vectors
        self.size = len(table.uris)
        owners = table.owners
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
        self._ends = np.r_[self._starts[1:], len(owners)].astype(np.int64)
        self._blob = np.flatnonzero(table.kinds == VIEW_BLOB)
        if (
            len(self._starts) != self.size
            or len(self._blob) != self.size
            or not (self._blob == self._ends - 1).all()
        ):
            raise ValueError("each concept needs contiguous views, labels first, blob last")
        # The first pass scores every concept by its blob view alone, kept in float32.
        self._blob_vectors = np.asarray(vectors[self._blob], dtype=np.float32)
        self._raw = vectors.view(np.ndarray)  # a memory map's rows without its overhead
        if self._raw.dtype not in (np.float16, np.float32):
            raise ValueError(f"vectors must be float16 or float32, not {self._raw.dtype}")
        if lexical is None:
            lexical = build_lexical(self.size, labels, bare_variants=bare_variants)
        if isinstance(lexical, LexicalIndex):
            lexical = {lexical.language: lexical}
        if PRIMARY_LANGUAGE not in lexical:
            raise ValueError(f"the lexical indexes need the primary language ({PRIMARY_LANGUAGE})")
        self.lexicons: dict[str, LexicalIndex] = dict(lexical)
        self.verbatim = self.lexicons[PRIMARY_LANGUAGE].verbatim
        self.bm25 = self.lexicons[PRIMARY_LANGUAGE].bm25
        self._lazy_lexical = dict(lazy_lexical or {})
        self._lexical_lock = threading.Lock()

    def lexicon(self, language: str) -> LexicalIndex:
        """The lexical indexes of ``language`` (built or loaded on first use, for the languages
        given lazily), else the primary language's."""
        found = self.lexicons.get(language)
        if found is None and language in self._lazy_lexical:
            with self._lexical_lock:
                found = self.lexicons.get(language)
                if found is None:
                    found = self.lexicons[language] = self._lazy_lexical[language]()
        return found if found is not None else self.lexicons[PRIMARY_LANGUAGE]

    # -- dense --------------------------------------------------------------------------------
    @property
    def blob_vectors(self) -> np.ndarray:
        """One float32 vector per concept: its blob view ("preferred label + description")."""
        return self._blob_vectors

    def coarse(self, queries: np.ndarray) -> np.ndarray:
        """Cosine of each query to each concept's blob view ``(n_queries, n_concepts)``: the
        cheap first pass that picks the concepts :meth:`score_sentence` scores in full."""
        return np.ascontiguousarray(queries, dtype=np.float32) @ self._blob_vectors.T

    def dense(self, queries: np.ndarray, config: MatchConfig) -> tuple[np.ndarray, np.ndarray]:
        """Dense score of every concept for each query ``(n_queries, n_concepts)``, and the
        index of the best label view of each (all views: the exact reference)."""
        return self.dense_subset(queries, np.arange(self.size), config)

    def dense_subset(
        self, queries: np.ndarray, concepts: np.ndarray, config: MatchConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense score of the given concepts (columns in their order) for each query, and the
        index of the best label view of each (the blob view for a concept without labels)."""
        concepts = np.asarray(concepts, dtype=np.int64)
        found = self._dense(queries, concepts, config)
        n_rows, n_columns = found.score.shape
        rows = np.repeat(np.arange(n_rows), n_columns)
        columns = np.tile(np.arange(n_columns), n_rows)
        best = self._best_views(found, concepts, rows, columns)
        return found.score, best.reshape(n_rows, n_columns)

    def _dense(self, queries: np.ndarray, concepts: np.ndarray, config: MatchConfig) -> _Dense:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        counts = self._ends[concepts] - self._starts[concepts] - 1  # label views (blob last)
        offsets = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
        # The label views of each concept, concatenated: arange shifted concept by concept.
        views = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(
            self._starts[concepts] - offsets, counts
        )
        if len(views) <= _CHUNK_ROWS:
            sims = q @ self._float32(views).T
        else:  # in steps, which bounds the float32 copies of the views
            sims = np.empty((len(q), len(views)), dtype=np.float32)
            for start in range(0, len(views), _CHUNK_ROWS):
                part = views[start : start + _CHUNK_ROWS]
                sims[:, start : start + len(part)] = q @ self._float32(part).T
        blob = q @ self._blob_vectors[concepts].T
        labelled = counts > 0
        if labelled.all() and len(views):
            best_label = np.maximum.reduceat(sims, offsets, axis=1)
        else:  # a concept without a label view (an empty label) is scored by its blob alone
            best_label = blob.copy()
            if labelled.any():
                best_label[:, labelled] = np.maximum.reduceat(sims, offsets[labelled], axis=1)
        weight = config.label_weight + config.blob_weight
        score = (config.label_weight * best_label + config.blob_weight * blob) / weight
        return _Dense(score, sims, offsets, counts, views)

    def _best_views(
        self, found: _Dense, concepts: np.ndarray, rows: np.ndarray, columns: np.ndarray
    ) -> np.ndarray:
        """The best label view of each ``(row, column)`` pair of ``found``."""
        out: np.ndarray = self._ends[concepts[columns]] - 1  # the blob without a label
        counts = found.counts[columns]
        pairs = np.flatnonzero(counts)
        if not len(pairs):
            return out
        counts = counts[pairs]
        firsts = np.cumsum(counts) - counts
        # Every label similarity of every pair, flat, pair after pair.
        inside = np.arange(int(counts.sum())) - np.repeat(firsts, counts)
        positions = np.repeat(found.offsets[columns[pairs]], counts) + inside
        values = found.sims[np.repeat(rows[pairs], counts), positions]
        best = np.repeat(np.maximum.reduceat(values, firsts), counts)
        # The first position holding its pair's maximum, as argmax would pick.
        hits = np.flatnonzero(values == best)
        pair_of_hit = np.repeat(np.arange(len(pairs)), counts)[hits]
        first_hit = hits[np.r_[True, pair_of_hit[1:] != pair_of_hit[:-1]]]
        out[pairs] = found.views[positions[first_hit]]
        return out

    def _label_view(self, concept: int, label: str) -> int:
        """The view of one of a concept's labels. A label found verbatim is a window whose
        isolated vector is that view: its dense score needs only the view's cosine to the
        concept's blob. A label in another language without a view of its own stands for
        the concept's preferred label (the first view)."""
        texts = self.table.texts
        for view in range(int(self._starts[concept]), int(self._ends[concept]) - 1):
            if texts[view] == label:
                return view
        return int(self._starts[concept])

    def _float32(self, views: np.ndarray) -> np.ndarray:
        """The rows ``views`` of the vectors in float32."""
        rows = self._raw[views]
        return rows if rows.dtype == np.float32 else _half_to_float(rows)

    # -- one sentence ------------------------------------------------------------------------
    def _candidates(
        self, coarse: np.ndarray, lexical: np.ndarray, found: Sequence[int], config: MatchConfig, keep: int
    ) -> np.ndarray:
        """The concepts worth scoring in full, sorted: the best by the blob views and the
        lexical signals, the best by BM25 alone, and every label found verbatim."""
        width = max(config.candidates, config.shortlist, keep)
        if config.candidates <= 0 or width >= self.size:
            return np.arange(self.size)
        sw = config.sentence_weight
        part = coarse[1:].max(axis=0) if len(coarse) > 1 else coarse[0]
        approx = sw * coarse[0] + (1 - sw) * part + lexical
        chosen = [np.argpartition(-approx, width - 1)[:width], np.asarray(found, dtype=np.int64)]
        scored = np.flatnonzero(lexical)  # usually a small share of the concepts
        if len(scored) > _LEXICAL_CANDIDATES:
            best = np.argpartition(-lexical[scored], _LEXICAL_CANDIDATES - 1)
            scored = scored[best[:_LEXICAL_CANDIDATES]]
        chosen.append(scored)
        return np.unique(np.concatenate(chosen))

    def score_sentence(
        self,
        sentence: str,
        coarse: np.ndarray,
        rows: np.ndarray,
        row_spans: Sequence[tuple[int, int]],
        windows: np.ndarray,
        window_spans: Sequence[tuple[int, int]],
        config: MatchConfig,
        keep: int,
        language: str = PRIMARY_LANGUAGE,
    ) -> Hits:
        """Score the concepts for one sentence and return the best ``keep``, best first.

        Args:
            sentence: The sentence text.
            coarse: :meth:`coarse` of the sentence (row 0) and its clauses.
            rows: Vectors of the sentence (row 0) and its clauses.
            row_spans: Spans of the sentence and clauses inside the sentence.
            windows: Vectors of word windows.
            window_spans: Spans of ``windows`` inside the sentence.
            config: Fusion weights.
            keep: How many concepts to return.
            language: The sentence's language: BM25 reads the labels of that language (the
                primary language's where there are none); labels are found verbatim in
                that language and in the primary one (technical terms travel).
        """
        primary = self.lexicons[PRIMARY_LANGUAGE]
        own = self.lexicon(language)
        lexical = np.zeros(self.size, dtype=np.float32)
        if config.bm25_weight:
            bm25 = own.bm25_scores(sentence)
            bm25_max = float(bm25.max())
            if bm25_max > 0:
                lexical += config.bm25_weight * (bm25 / bm25_max)
        verbatim: dict[int, tuple[int, int]] = {}
        exact: dict[int, tuple[float, int]] = {}  # concept -> (dense of the label, its view)
        weight = config.label_weight + config.blob_weight
        found_verbatim = primary.verbatim.find(sentence)
        if own is not primary:
            found_verbatim += own.verbatim.find(sentence)
        for hit in found_verbatim:
            current = verbatim.get(hit.owner)
            if current is None or hit.end - hit.start > current[1] - current[0]:
                verbatim[hit.owner] = (hit.start, hit.end)
            view = self._label_view(hit.owner, hit.label)
            if config.verbatim_as_window:
                blob_sim = float(self._blob_vectors[hit.owner] @ self._float32(np.asarray([view]))[0])
                value = (config.label_weight + config.blob_weight * blob_sim) / weight
                value = config.verbatim_as_window * value
                if value > exact.get(hit.owner, (-1.0, 0))[0]:
                    exact[hit.owner] = (value, view)
        if verbatim and config.verbatim_boost:
            lexical[list(verbatim)] += config.verbatim_boost

        concepts = self._candidates(coarse, lexical, list(verbatim), config, keep)
        n_rows, columns = len(rows), np.arange(len(concepts))
        # One pass over the candidates' views for the sentence, its clauses and its windows.
        queries = np.concatenate([rows, windows]) if len(windows) else rows
        found = self._dense(queries, concepts, config)
        dense = found.score
        whole = dense[0]
        if n_rows > 1:
            best_row = dense[1:n_rows].argmax(axis=0) + 1
            part = dense[best_row, columns]
        else:
            best_row = np.zeros(len(concepts), dtype=np.int64)
            part = whole.copy()
        exact_view = np.full(len(concepts), -1, dtype=np.int64)  # a verbatim label's own view
        for concept, (value, view) in exact.items():
            column = int(np.searchsorted(concepts, concept))
            if value > part[column]:
                part[column] = value
                exact_view[column] = view
        sw = config.sentence_weight
        score = sw * whole + (1 - sw) * part + lexical[concepts]
        # Word windows re-score a shortlist (the best by the other signals).
        if len(windows) and config.shortlist > 0:
            k = min(config.shortlist, len(concepts))
            short = np.argpartition(-score, k - 1)[:k]
            window_dense = dense[n_rows:, short]
            w_row = window_dense.argmax(axis=0)
            w_best = window_dense[w_row, np.arange(k)]
            better = np.flatnonzero(w_best > part[short])
            won = short[better]
            score[won] += (1 - sw) * (w_best[better] - part[won])
            best_row[won] = w_row[better] + n_rows
            exact_view[won] = -1
        np.clip(score, 0.0, 1.0, out=score)
        count = min(keep, len(concepts))
        top = np.argpartition(-score, count - 1)[:count]
        top = top[np.argsort(-score[top], kind="stable")]
        rows_of_top = best_row[top]
        spans = np.asarray([*row_spans, *window_spans], dtype=np.int64).reshape(-1, 2)[rows_of_top]
        views = np.where(
            exact_view[top] >= 0, exact_view[top], self._best_views(found, concepts, rows_of_top, top)
        )
        chosen = concepts[top]
        for row, concept in enumerate(chosen.tolist()):
            if concept in verbatim:
                spans[row] = verbatim[concept]
        return Hits(chosen, score[top], spans[:, 0], spans[:, 1], views)


def _half_to_float(half: np.ndarray) -> np.ndarray:
    """float16 to float32, exactly, about twice as fast as numpy's own conversion: the
    exponent and mantissa bits move into place, one multiplication by 2**112 rebias the
    exponent (subnormals included) and the sign bit is put back."""
    bits = half.view(np.uint16).astype(np.uint32)
    sign = (bits & 0x8000) << 16
    bits &= 0x7FFF
    bits <<= 13
    out = bits.view(np.float32)
    out *= np.float32(2.0**112)
    bits |= sign
    return out
