"""Pure label search over a taxonomy: case- and accent-insensitive, ranked.

No I/O here: a :class:`LabelIndex` is built from a :class:`Taxonomy` in memory.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .models import Taxonomy

__all__ = ["LabelHit", "LabelIndex", "normalize", "tokens"]

Kind = Literal["skill", "occupation"]

_NON_WORD = re.compile(r"[^\w+#]+")


def normalize(text: str) -> str:
    """Casefold, strip accents and punctuation, collapse whitespace.

    ``"Java (computer programming)"`` -> ``"java computer programming"``; ``"Köln"`` -> ``"koln"``.
    """
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.casefold().replace("_", " ")).split())


def tokens(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return normalize(text).split()


@dataclass(frozen=True, slots=True)
class LabelHit:
    """One concept found by label search."""

    uri: str
    label: str  # the label that matched
    score: float  # 1.0 exact preferred label ... lower for partial matches
    preferred: bool  # whether the matching label is the preferred one


@dataclass(frozen=True, slots=True)
class _Entry:
    uri: str
    label: str
    normalized: str
    words: frozenset[str]
    preferred: bool


class LabelIndex:
    """Ranked lexical search over preferred and alternative labels of one kind of concept.

    Labels in every language the taxonomy has are indexed, so a German label finds its
    concept too.

    Example:
        >>> index = LabelIndex(taxonomy, "skill")
        >>> index.search("python")[0].label
        'Python (computer programming)'
    """

    def __init__(self, taxonomy: Taxonomy, kind: Kind) -> None:
        concepts = taxonomy.skills if kind == "skill" else taxonomy.occupations
        self._entries: list[_Entry] = []
        self._postings: dict[str, list[int]] = {}
        for concept in concepts.values():
            labels: list[tuple[str, bool]] = [(concept.preferred_label, True)]
            labels += [(alt, False) for alt in concept.alt_labels]
            for translation in concept.translations.values():
                labels.append((translation.preferred_label, True))
                labels += [(alt, False) for alt in translation.alt_labels]
            self._add(concept.uri, labels)

    def _add(self, uri: str, labels: Iterable[tuple[str, bool]]) -> None:
        seen: set[str] = set()
        for label, preferred in labels:
            normalized = normalize(label)
            if not normalized or normalized in seen:
                continue
            seen.add(normalized)
            entry = _Entry(uri, label, normalized, frozenset(normalized.split()), preferred)
            position = len(self._entries)
            self._entries.append(entry)
            for word in entry.words:
                self._postings.setdefault(word, []).append(position)

    def search(self, query: str, limit: int = 10) -> list[LabelHit]:
        """Concepts whose labels match ``query``, best first, one hit per concept."""
        normalized = normalize(query)
        words = set(normalized.split())
        if not words or limit <= 0:
            return []
        candidates: set[int] = set()
        for word in words:
            candidates.update(self._postings.get(word, ()))
        best: dict[str, tuple[float, int, _Entry]] = {}
        for position in candidates:
            entry = self._entries[position]
            score = _score(normalized, words, entry)
            if score <= 0:
                continue
            current = best.get(entry.uri)
            key = (score, -len(entry.normalized), entry)
            if current is None or key[:2] > current[:2]:
                best[entry.uri] = key
        ranked = sorted(best.values(), key=lambda item: (-item[0], -item[1], item[2].uri))
        return [
            LabelHit(entry.uri, entry.label, round(score, 4), entry.preferred)
            for score, _, entry in ranked[:limit]
        ]


def _score(query: str, words: set[str], entry: _Entry) -> float:
    bonus = 0.02 if entry.preferred else 0.0
    if entry.normalized == query:
        return 0.98 + bonus
    shared = len(words & entry.words)
    if not shared:
        return 0.0
    if shared == len(words):  # every query word is in the label
        coverage = len(words) / len(entry.words)
        start = 0.05 if entry.normalized.startswith(query) else 0.0
        return 0.55 + 0.3 * coverage + start + bonus
    return 0.5 * shared / len(words | entry.words) + bonus
