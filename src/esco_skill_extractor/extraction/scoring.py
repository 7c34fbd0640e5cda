"""Sentence scoring: texts are cut into sentences, each distinct sentence is encoded once
(with its clauses and word windows) and scored against every concept kind.

The result of a sentence does not depend on its document, so results are remembered in an
LRU (``segment_cache_size``): repeated boilerplate is scored once across calls.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from cachetools import LRUCache

from ..embedding.base import Embedder
from ..embedding.spans import embed_with_spans
from .lexical import STOPWORDS, terms_with_offsets
from .matching import ConceptIndex, Hits, MatchConfig
from .segmentation import split_clauses, split_sentences

__all__ = ["KEEP", "ScoredSentence", "SentenceHits", "SentenceScorer", "sentence_spans"]

KEEP = 100  # concepts kept per sentence (enough for any threshold and for top-k up to 100)
_SENTENCE_BATCH = 32  # sentences encoded together (one forward pass) and matched together
_SENTENCE_ROUND = 256  # sentences encoded before they are matched (vectors: ~25 MB)
_MAX_SENTENCE_CHARS = 1000  # about 250 word pieces: inside every supported model's window

_Span = tuple[int, int]
_Sentence = tuple[str, str]  # (language, sentence): the same words read in two languages differ


@dataclass(frozen=True, slots=True)
class SentenceHits:
    """Per-sentence hits for skills and occupations (spans relative to the sentence), and the
    sentence's own vector (``None`` where none was kept)."""

    skills: Hits
    occupations: Hits
    vector: np.ndarray | None = None


ScoredSentence = tuple[int, int, SentenceHits]  # sentence start, end (in its text), hits


class _Encoded(NamedTuple):
    row_spans: list[list[_Span]]  # the sentence, then its clauses
    window_spans: list[list[_Span]]
    window_words: list[list[int]]
    vectors: list[np.ndarray]  # per sentence: rows, then windows


def word_windows(sentence: str, longest: int, skip: set[_Span]) -> dict[_Span, int]:
    """Spans of 1..``longest`` consecutive words that neither start nor end with a stopword,
    each with its number of words."""
    words = terms_with_offsets(sentence)
    spans: dict[_Span, int] = {}
    for n in range(1, longest + 1):
        for i in range(len(words) - n + 1):
            if words[i][0] in STOPWORDS or words[i + n - 1][0] in STOPWORDS:
                continue
            span = (words[i][1], words[i + n - 1][2])
            if span not in skip:
                spans[span] = n
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` as the scorer reads them."""
    return split_sentences(text, _MAX_SENTENCE_CHARS)


class SentenceScorer:
    """Scores the sentences of texts against skills and occupations.

    Args:
        embedder: Encodes sentences (and, through span pooling, their clauses and windows).
        skills: The skills' index.
        occupations: The occupations' index.
        config: The matching weights.
        cache_size: Sentences whose hits are remembered across calls; 0 disables.
    """

    def __init__(
        self,
        embedder: Embedder,
        skills: ConceptIndex,
        occupations: ConceptIndex,
        config: MatchConfig,
        cache_size: int,
    ) -> None:
        self.embedder = embedder
        self.skills = skills
        self.occupations = occupations
        self.config = config
        self._sentences: LRUCache[_Sentence, SentenceHits] | None = (
            LRUCache(maxsize=cache_size) if cache_size > 0 else None
        )
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget the remembered sentences."""
        with self._lock:
            if self._sentences is not None:
                self._sentences.clear()

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]:
        """For each text (in its language), ``(sentence start, sentence end, hits)`` of each
        sentence."""
        layout = [sentence_spans(text) for text in texts]
        wanted = list(
            dict.fromkeys(
                (language, text[s:e])
                for text, language, spans in zip(texts, languages, layout, strict=True)
                for s, e in spans
            )
        )
        remembered = self._sentences if keep <= KEEP else None
        known: dict[_Sentence, SentenceHits] = {}
        missing: list[_Sentence] = []
        with self._lock:
            for sentence in wanted:
                found = remembered.get(sentence) if remembered is not None else None
                if found is None:
                    missing.append(sentence)
                else:
                    known[sentence] = found
        # Sentences of similar length share a batch: the encoder pads each batch to its
        # longest sentence, so a batch in document order costs up to three times more.
        # Several batches are encoded, then matched: alternating the encoder and the
        # matching less often keeps each one's data in the CPU caches (about 10% faster).
        by_length = sorted(missing, key=lambda item: len(item[1]))
        for start in range(0, len(by_length), _SENTENCE_ROUND):
            group = by_length[start : start + _SENTENCE_ROUND]
            batches = [group[i : i + _SENTENCE_BATCH] for i in range(0, len(group), _SENTENCE_BATCH)]
            encoded = [self._encode([sentence for _, sentence in batch]) for batch in batches]
            for batch, vectors in zip(batches, encoded, strict=True):
                known.update(zip(batch, self._match(batch, vectors, keep), strict=True))
        if remembered is not None and missing:
            with self._lock:
                for sentence in missing:
                    remembered[sentence] = known[sentence]
        return [
            [(s, e, known[language, text[s:e]]) for s, e in spans]
            for text, language, spans in zip(texts, languages, layout, strict=True)
        ]

    def _encode(self, sentences: list[str]) -> _Encoded:
        """Clause and word-window spans of each sentence, and the vectors of all of them."""
        row_spans: list[list[_Span]] = []
        window_spans: list[list[_Span]] = []
        window_words: list[list[int]] = []
        for sentence in sentences:
            rows = [(0, len(sentence))]
            clauses = split_clauses(sentence, 0, len(sentence))
            if len(clauses) > 1:
                rows += clauses
            row_spans.append(rows)
            found = word_windows(sentence, self.config.window_words, set(rows))
            window_spans.append(list(found))
            window_words.append(list(found.values()))
        vectors = embed_with_spans(
            self.embedder,
            sentences,
            [rows[1:] + windows for rows, windows in zip(row_spans, window_spans, strict=True)],
            pooled=self.config.span_vectors == "pooled",
        )
        return _Encoded(row_spans, window_spans, window_words, vectors)

    def _match(self, sentences: list[_Sentence], encoded: _Encoded, keep: int) -> list[SentenceHits]:
        config = self.config
        row_spans, window_spans, window_words, vectors = encoded
        row_vectors = [v[: len(rows)] for v, rows in zip(vectors, row_spans, strict=True)]
        stacked = np.concatenate(row_vectors)
        bounds = np.cumsum([0] + [len(r) for r in row_vectors])
        results: dict[str, list[Hits]] = {}
        # Occupations skip the shortest windows (see MatchConfig.occupation_window_words).
        long_windows = [
            [j for j, n in enumerate(counts) if n >= config.occupation_window_words]
            for counts in window_words
        ]
        for name, index in (("skills", self.skills), ("occupations", self.occupations)):
            coarse = index.coarse(stacked)
            results[name] = []
            for i, (language, sentence) in enumerate(sentences):
                windows = vectors[i][len(row_spans[i]) :]
                spans = window_spans[i]
                if name == "occupations":
                    windows = windows[long_windows[i]]
                    spans = [spans[j] for j in long_windows[i]]
                results[name].append(
                    index.score_sentence(
                        sentence,
                        coarse[bounds[i] : bounds[i + 1]],
                        row_vectors[i],
                        row_spans[i],
                        windows,
                        spans,
                        config,
                        keep,
                        language,
                    )
                )
        return [
            SentenceHits(s, o, rows[0].copy())
            for s, o, rows in zip(results["skills"], results["occupations"], row_vectors, strict=True)
        ]
