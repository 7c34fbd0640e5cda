"""Texts to the model that reads their language.

An English-only model (the bundled all-MiniLM-L6-v2) reads English texts; a multilingual
one (the bundled Universal Sentence Encoder) reads texts in the taxonomy's other
languages. Each model is an :class:`Engine`: its parts, its sentence scorer and its default
thresholds (scores of different models are not on one scale). The second engine is
assembled when the first text in another language arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..embedding.registry import model_spec
from .assembly import Assembly
from .lexical import PRIMARY_LANGUAGE
from .matching import MatchConfig
from .scoring import KEEP, ScoredSentence, SentenceScorer

__all__ = ["Engine", "Router"]


@dataclass(frozen=True)
class Engine:
    """One model's scoring: its parts, sentence scorer and thresholds."""

    parts: Assembly
    scorer: SentenceScorer
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

    def clear(self) -> None:
        """Forget every engine's remembered sentences."""
        for engine in self.engines:
            engine.scorer.clear()
