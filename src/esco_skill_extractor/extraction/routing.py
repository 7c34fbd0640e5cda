"""Texts to the model that reads their language.

An English-only model (the bundled all-MiniLM-L6-v2) reads English texts alone. A text in
another of the taxonomy's languages is read by both it, through a word-by-word English
gloss (:class:`GlossingScorer`), and a multilingual model (the bundled Universal Sentence
Encoder) reading the original, and their scores are averaged (:func:`fuse_hits`): on the
German development translations RP@5 0.605, against 0.550 with the English model reading
the original German (README, "Languages"). Each way of reading is an :class:`Engine`: its parts,
its sentence scorer and its default thresholds (scores of different models are not on one
scale). The second engine is assembled when the first text in another language arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..embedding.registry import model_spec
from .assembly import Assembly
from .glossary import Gloss, Glossaries
from .lexical import PRIMARY_LANGUAGE
from .matching import Hits, MatchConfig
from .scoring import KEEP, ScoredSentence, SentenceHits, SentenceScorer, sentence_spans

__all__ = ["FUSED_SKILLS_THRESHOLD", "Engine", "FusedScorer", "GlossingScorer", "Router", "fuse_hits"]

_DOCUMENT_CHARS = 1000  # the start of a text says what it is for

#: Skills threshold of the fused scores (the English model reading the English gloss + the
#: multilingual model): the middle of the F1 plateau on the de/fr/es development
#: translations (mean F1 of the six files: 0.50 -> 0.390, 0.52 -> 0.395, 0.54 -> 0.401,
#: 0.56 -> 0.391, 0.58 -> 0.380).
FUSED_SKILLS_THRESHOLD = 0.54

#: The English model's share of fused skill scores (the multilingual model has the rest).
#: Pooled RP@5 over the de/fr/es translations, mean of the three: 0.4 -> 0.595, 0.5 -> 0.589,
#: 0.6 -> 0.577 (de 0.611/0.605/0.589, fr 0.575/0.578/0.564, es 0.599/0.584/0.577): within
#: the split's noise of each other below 0.6; kept even.
FIRST_WEIGHT = 0.5


class Scorer(Protocol):
    """What an engine scores sentences with."""

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]: ...

    def clear(self) -> None: ...


@dataclass(frozen=True)
class Engine:
    """One way of reading texts: the parts whose views the hits name, a sentence scorer and
    default thresholds."""

    parts: Assembly
    scorer: Scorer
    skills_threshold: float
    occupation_threshold: float

    @classmethod
    def build(
        cls,
        parts: Assembly,
        config: MatchConfig,
        segment_cache_size: int,
        skills_threshold: float | None,
        occupation_threshold: float | None,
    ) -> Engine:
        """An engine over ``parts``; a threshold left ``None`` is the model's default."""
        spec = model_spec(parts.embedder.model_id)
        return cls(
            parts,
            SentenceScorer(parts.embedder, parts.skills, parts.occupations, config, segment_cache_size),
            spec.skills_threshold if skills_threshold is None else skills_threshold,
            spec.occupations_threshold if occupation_threshold is None else occupation_threshold,
        )

    @classmethod
    def fused(
        cls,
        primary: Engine,
        multilingual: Engine,
        skills_threshold: float | None,
        occupation_threshold: float | None,
        glossaries: Glossaries | None = None,
    ) -> Engine:
        """Both engines' scores averaged; hits name the multilingual engine's views. With
        ``glossaries``, the primary engine reads each sentence's English gloss."""
        first = primary.scorer if glossaries is None else GlossingScorer(primary.scorer, glossaries)
        return cls(
            multilingual.parts,
            FusedScorer(first, multilingual.scorer),
            FUSED_SKILLS_THRESHOLD if skills_threshold is None else skills_threshold,
            multilingual.occupation_threshold if occupation_threshold is None else occupation_threshold,
        )


def fuse_hits(first: Hits, second: Hits, keep: int = KEEP, weight: float = 0.5) -> Hits:
    """The weighted average of two models' hits for one sentence (``weight`` for the first
    model's scores), best first.

    A concept that one list lacks scores that list's lowest score there (the lists hold each
    model's best ``keep``). Its span comes from the model that scored it higher; its view is
    the second list's (the first list's concepts alone get view -1: no label view).
    """
    concepts = np.union1d(first.concepts, second.concepts)
    if not len(concepts):
        return second

    def spread(hits: Hits) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full(len(concepts), hits.scores.min() if len(hits) else 0.0, dtype=np.float32)
        where = np.searchsorted(concepts, hits.concepts)
        scores[where] = hits.scores
        found = np.full(len(concepts), -1, dtype=np.int64)
        found[where] = np.arange(len(hits))
        return scores, found

    first_scores, first_at = spread(first)
    second_scores, second_at = spread(second)
    score = weight * first_scores + (1 - weight) * second_scores
    top = np.argsort(-score, kind="stable")[:keep]
    use_second = (second_at[top] >= 0) & ((second_scores[top] >= first_scores[top]) | (first_at[top] < 0))
    from_second, from_first = second_at[top], first_at[top]
    starts = np.where(use_second, second.starts[from_second], first.starts[from_first])
    ends = np.where(use_second, second.ends[from_second], first.ends[from_first])
    views = np.where(second_at[top] >= 0, second.views[from_second], -1)
    return Hits(concepts[top], score[top], starts, ends, views)


class GlossingScorer:
    """Scores each sentence in another language through its English gloss
    (:mod:`.glossary`): an English model reads "SQL experience are of benefits" better than
    "SQL-Erfahrung ist von Vorteil". Sentences in a language without a glossary are scored
    as they are. Spans index the original sentences, as the wrapped scorer's do."""

    def __init__(self, scorer: Scorer, glossaries: Glossaries) -> None:
        self.scorer = scorer
        self.glossaries = glossaries

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]:
        layout = [sentence_spans(text) for text in texts]
        read: list[tuple[str, str]] = []  # what the scorer reads for each sentence, in which language
        glosses: list[Gloss | None] = []
        for text, language, spans in zip(texts, languages, layout, strict=True):
            glossary = self.glossaries.get(language)
            for start, end in spans:
                gloss = glossary.gloss(text[start:end]) if glossary is not None else None
                glosses.append(gloss)
                read.append((text[start:end], language) if gloss is None else (gloss.text, PRIMARY_LANGUAGE))
        scored = iter(
            zip(
                glosses,
                self.scorer.score_documents([t for t, _ in read], [lang for _, lang in read], keep),
                strict=True,
            )
        )
        out = []
        for spans in layout:
            sentences: list[ScoredSentence] = []
            for start, end in spans:
                gloss, parts = next(scored)
                sentences.append((start, end, _sentence_hits(parts, gloss, end - start, keep)))
            out.append(sentences)
        return out

    def clear(self) -> None:
        self.scorer.clear()


def _sentence_hits(parts: list[ScoredSentence], gloss: Gloss | None, length: int, keep: int) -> SentenceHits:
    """One sentence's hits from the scored sentences of what was read for it (its gloss, or
    itself, which the scorer may split again): each concept's best (the ``keep`` best
    concepts), spans in the sentence."""
    if not parts:  # nothing to read (a sentence of punctuation alone)
        nothing = Hits(*(np.zeros(0, np.int64) for _ in range(5)))
        return SentenceHits(nothing, nothing, None)
    if gloss is None and len(parts) == 1 and parts[0][0] == 0:
        return parts[0][2]

    def merged(kind: str) -> Hits:
        lists = [(start, getattr(hits, kind)) for start, _, hits in parts]
        concepts = np.concatenate([h.concepts for _, h in lists])
        scores = np.concatenate([h.scores for _, h in lists])
        starts = np.concatenate([h.starts + at for at, h in lists])
        ends = np.concatenate([h.ends + at for at, h in lists])
        views = np.concatenate([h.views for _, h in lists])
        order = np.lexsort((-scores, concepts))  # by concept, its best score first
        best = order[np.r_[True, concepts[order][1:] != concepts[order][:-1]]] if len(order) else order
        best = best[np.argsort(-scores[best], kind="stable")][:keep]
        starts, ends = starts[best], ends[best]
        if gloss is not None:
            starts, ends = gloss.source_spans(starts, ends, (0, length))
        return Hits(concepts[best], scores[best], starts, ends, views[best])

    return SentenceHits(merged("skills"), merged("occupations"), parts[0][2].vector)


class FusedScorer:
    """Scores sentences with two scorers and averages their hits (:func:`fuse_hits`)."""

    def __init__(self, first: Scorer, second: Scorer) -> None:
        self.first = first
        self.second = second

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]:
        firsts = self.first.score_documents(texts, languages, keep)
        seconds = self.second.score_documents(texts, languages, keep)
        out = []
        for one, two in zip(firsts, seconds, strict=True):
            sentences = []
            for (start, end, a), (start_b, end_b, b) in zip(one, two, strict=True):
                assert (start, end) == (start_b, end_b)  # both split sentences alike
                # Occupations: the multilingual model alone (averaging lost on job titles).
                sentences.append(
                    (
                        start,
                        end,
                        SentenceHits(
                            fuse_hits(a.skills, b.skills, keep, FIRST_WEIGHT), b.occupations, b.vector
                        ),
                    )
                )
            out.append(sentences)
        return out

    def clear(self) -> None:
        self.first.clear()
        self.second.clear()


class Router:
    """Sends each text to the engine of its language.

    Args:
        primary: The engine of the primary language (and of every language when it is the
            only one).
        make_other: Builds the engine of the other languages, on first need; ``None``: the
            primary engine reads every language.
    """

    def __init__(self, primary: Engine, make_other: Callable[[], Engine] | None) -> None:
        self.primary = primary
        self._make_other = make_other
        self._other: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engines(self) -> list[Engine]:
        """The engines in use so far."""
        return [self.primary] + ([self._other] if self._other is not None else [])

    def every_engine(self) -> list[Engine]:
        """Every engine this router may use, the other languages' built now if need be."""
        if self._make_other is not None:
            with self._lock:
                if self._other is None:
                    self._other = self._make_other()
        return self.engines

    def engine(self, language: str) -> Engine:
        """The engine that reads ``language``."""
        if language == PRIMARY_LANGUAGE or self._make_other is None:
            return self.primary
        with self._lock:
            if self._other is None:
                self._other = self._make_other()
            return self._other

    def score(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[tuple[Engine, list[ScoredSentence]]]:
        """Each text's engine and scored sentences, in order (one batch per engine)."""
        engines = [self.engine(language) for language in languages]
        out: list[tuple[Engine, list[ScoredSentence]] | None] = [None] * len(texts)
        for engine in {id(e): e for e in engines}.values():
            positions = [i for i, e in enumerate(engines) if e is engine]
            scored = engine.scorer.score_documents(
                [texts[i] for i in positions], [languages[i] for i in positions], keep
            )
            for i, sentences in zip(positions, scored, strict=True):
                out[i] = (engine, sentences)
        return [item for item in out if item is not None]

    @staticmethod
    def document_scores(documents: Sequence[tuple[Engine, list[ScoredSentence]]]) -> list[np.ndarray | None]:
        """Each text's similarity to every occupation: the mean vector of its sentences that
        start in its first ``_DOCUMENT_CHARS`` characters (where an ad says what it is for),
        against the occupations' blobs of its engine (``None`` without sentence vectors)."""
        out: list[np.ndarray | None] = []
        for engine, sentences in documents:
            vectors = [hits.vector for start, _, hits in sentences if start < _DOCUMENT_CHARS]
            if not vectors or any(v is None for v in vectors):
                out.append(None)
                continue
            mean = np.mean(np.stack(vectors), axis=0)  # type: ignore[arg-type]
            norm = float(np.linalg.norm(mean))
            out.append(engine.parts.occupations.blob_vectors @ (mean / norm) if norm else None)
        return out

    def clear(self) -> None:
        """Forget every engine's remembered sentences."""
        for engine in self.engines:
            engine.scorer.clear()
