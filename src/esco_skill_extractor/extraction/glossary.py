"""Word-by-word English glosses of texts in the taxonomy's other languages.

ESCO names its concepts in several languages: one skill is "manage databases" and
"Datenbanken verwalten", one occupation "cook" and "Koch/Köchin". Aligning the words of
these parallel labels (and of parallel descriptions where the data has them) with IBM
model 1 (Brown et al. 1993: expectation-maximisation over the words that co-occur in
translations) gives each word of the other language its likeliest English word. The
English model reads the gloss ("SQL-Erfahrung ist von Vorteil" -> "SQL experience are of
benefits") far better than the original: on the German development translations, RP@5
0.550 -> 0.605 and F1 0.347 -> 0.406 with the gloss in place of the original (README,
"Languages").

Words are lemmatised with simplemma and casefolded (accents kept: "maïs" is not "mais");
elisions are cut off ("l'expérience"); a hyphenated word unknown as a whole is glossed part
by part; in compounding languages an unknown long word is tried as two known words
("Datenbankverwaltung" -> "database management"); a word the English labels use (a
technology, a name: "SQL", "Java") stays itself unless its translation is sure; any other
unknown word stays as it is. Each gloss word keeps the span of the source word it stands
for, so evidence found in a gloss points into the original text.

A learned glossary is saved as JSON (``glossary-<key>.json``, atomically; the key digests
the parallel texts and this module's source), so it is learned once per taxonomy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..taxonomy import Taxonomy
from . import lexical
from .lexical import PRIMARY_LANGUAGE, WORD_PATTERN

__all__ = ["Gloss", "Glossaries", "Glossary", "align", "learn_glossary", "load_glossary", "parallel_texts"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1

#: A word is glossed by its likeliest English word when the alignment gives it at least this
#: probability and the word occurs at least ``MIN_COUNT`` times in the parallel texts.
MIN_PROBABILITY = 0.3
MIN_COUNT = 2
#: A word the English labels use at least ``ENGLISH_MIN_COUNT`` times stays itself unless its
#: translation is at least this likely ("SQL", "Java", "web" stay; "die" is translated).
SURE = 0.8
ENGLISH_MIN_COUNT = 3
ITERATIONS = 8
_CHUNK_LINKS = 1 << 20
_MAX_WORDS = 80  # longer parallel texts (a few descriptions) only blur the alignment
_ALT_LABELS = 5  # English alternative labels paired with the other language's preferred one
#: Languages that write compounds as one word; an unknown word of theirs is tried as two.
COMPOUNDING = frozenset({"de", "nl", "sv", "da", "nb", "no", "is", "fi"})
_SHORTEST_PART = 3
_LONGEST_COMPOUND = 40  # longer "words" (a URL, a blob) are not taken apart: each cut costs
_LINKS = ("", "s", "n", "en", "e")  # linking elements: "Arbeit-s-platz", "Sonne-n-schein"

_ELISION = re.compile(r"[^'’]+")
_HYPHEN = re.compile(r"[^-]+")


@functools.lru_cache(maxsize=1 << 18)
def _term(word: str, language: str) -> str:
    """The lemma of ``word``, casefolded (accents kept)."""
    return lexical.lemma(word, language).casefold()


def _words(text: str) -> Iterator[tuple[str, int]]:
    """``(word, start)`` of each word of ``text``, elisions cut off ("l'expérience")."""
    for match in WORD_PATTERN.finditer(text):
        for part in _ELISION.finditer(match.group()):
            yield part.group(), match.start() + part.start()


@dataclass(frozen=True)
class Gloss:
    """An English gloss of a text.

    Attributes:
        text: The gloss, its words separated by single spaces.
        pieces: One row per gloss word: its start and end in ``text``, then the start and
            end of the source word it stands for.
    """

    text: str
    pieces: np.ndarray

    def source_spans(
        self, starts: np.ndarray, ends: np.ndarray, whole: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The spans of the source text that the gloss spans ``starts[i]:ends[i]`` stand
        for: from the first gloss word they overlap to the last; ``whole`` where one
        overlaps no word."""
        pieces = self.pieces
        if not len(pieces):
            return np.full(len(starts), whole[0]), np.full(len(ends), whole[1])
        first = np.searchsorted(pieces[:, 1], starts, side="right")  # first word ending after start
        last = np.searchsorted(pieces[:, 0], ends, side="left") - 1  # last word starting before end
        found = (first <= last) & (first < len(pieces)) & (last >= 0)
        first = np.clip(first, 0, len(pieces) - 1)
        last = np.clip(last, 0, len(pieces) - 1)
        return (
            np.where(found, pieces[first, 2], whole[0]),
            np.where(found, pieces[last, 3], whole[1]),
        )


@dataclass(frozen=True)
class Glossary:
    """English words for the words of one language.

    Attributes:
        language: The language glossed.
        words: Each known lemma's English word.
        sure: The lemmas whose English word is sure (probability at least :data:`SURE`).
        english: The words of the English labels (casefolded) that stay themselves.
    """

    language: str
    words: Mapping[str, str]
    sure: frozenset[str]
    english: frozenset[str]

    def gloss(self, text: str) -> Gloss:
        """``text`` word by word in English."""
        out: list[str] = []
        rows: list[tuple[int, int, int, int]] = []
        at = 0
        for word, start in self._source_words(text):
            english = self._english(word)
            out.append(english)
            rows.append((at, at + len(english), start, start + len(word)))
            at += len(english) + 1
        return Gloss(" ".join(out), np.array(rows, dtype=np.int64).reshape(-1, 4))

    def _source_words(self, text: str) -> Iterator[tuple[str, int]]:
        for word, start in _words(text):
            if "-" in word and _term(word, self.language) not in self.words:
                for part in _HYPHEN.finditer(word):
                    yield part.group(), start + part.start()
            else:
                yield word, start

    def _english(self, word: str) -> str:
        term = _term(word, self.language)
        if word.casefold() in self.english and term not in self.sure:
            return word
        found = self.words.get(term)
        if found is None and self.language in COMPOUNDING:
            found = self._compound(term)
        return found or word

    def _compound(self, term: str) -> str | None:
        """``term`` as a known modifier and a known head ("datenbankverwaltung")."""
        if len(term) > _LONGEST_COMPOUND:
            return None
        for cut in range(_SHORTEST_PART, len(term) - _SHORTEST_PART + 1):
            head = self.words.get(term[cut:])
            if head is None:
                continue
            modifier = term[:cut]
            for link in _LINKS:
                if link and not modifier.endswith(link):
                    continue
                stem = modifier[: len(modifier) - len(link)]
                if len(stem) >= _SHORTEST_PART and stem in self.words:
                    return f"{self.words[stem]} {head}"
        return None

    def state(self) -> dict[str, Any]:
        """What :meth:`from_state` rebuilds the glossary from (JSON types only)."""
        return {
            "format": FORMAT_VERSION,
            "language": self.language,
            "words": dict(self.words),
            "sure": sorted(self.sure),
            "english": sorted(self.english),
        }

    @classmethod
    def from_state(cls, state: Any) -> Glossary:
        """The glossary :meth:`state` describes (``ValueError`` for anything else)."""
        if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
            raise ValueError(f"not a glossary of format {FORMAT_VERSION}")
        words, sure, english = state.get("words"), state.get("sure"), state.get("english")
        if not isinstance(words, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in words.items()
        ):
            raise ValueError("glossary words are not a mapping of strings")
        for name, value in (("sure", sure), ("english", english)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"glossary {name} is not a list of strings")
        if not isinstance(state.get("language"), str):
            raise ValueError("glossary language is not a string")
        return cls(state["language"], words, frozenset(sure), frozenset(english))  # type: ignore[arg-type]


def parallel_texts(taxonomy: Taxonomy, language: str) -> list[tuple[str, str]]:
    """``(text in language, English text)`` pairs of the taxonomy: each label in
    ``language`` with the English preferred label, the preferred label with the first
    English alternative labels, and the two descriptions where both exist."""
    pairs: list[tuple[str, str]] = []
    for concepts in (taxonomy.skills, taxonomy.occupations):
        for concept in concepts.values():
            translation = concept.translations.get(language)
            if translation is None:
                continue
            pairs += [
                (label, concept.preferred_label)
                for label in (translation.preferred_label, *translation.alt_labels)
            ]
            pairs += [(translation.preferred_label, alt) for alt in concept.alt_labels[:_ALT_LABELS]]
            if translation.description and concept.description:
                pairs.append((translation.description, concept.description))
    return [(source, english) for source, english in pairs if source and english]


def align(
    sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]], iterations: int = ITERATIONS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IBM model 1: the probability of each target word given each source word it
    co-occurs with, by expectation-maximisation over the pairs (source words are numbered
    from 1; 0 is the empty word every target word may also come from).

    Returns:
        ``(source, target, probability)`` arrays, one entry per co-occurring pair of words.
    """
    width = max((max(source) for source in sources if len(source)), default=0) + 1
    # Links (a target word of a pair, and a source word of it or the empty word) are kept in
    # chunks of pairs, so the temporaries of an iteration stay small (German, with its
    # descriptions: about 7 million links).
    chunks: list[tuple[np.ndarray, np.ndarray]] = []  # (each link's key, links per target word)
    keys: list[np.ndarray] = []
    runs: list[int] = []
    size = 0
    for source, target in zip(sources, targets, strict=True):
        if len(target):
            with_empty = np.array([0, *source], dtype=np.int64)
            keys.append((np.asarray(target, dtype=np.int64)[:, None] * width + with_empty).ravel())
            runs += [len(with_empty)] * len(target)
            size += len(keys[-1])
        if size >= _CHUNK_LINKS:
            chunks.append((np.concatenate(keys), np.asarray(runs, dtype=np.int64)))
            keys, runs, size = [], [], 0
    if keys:
        chunks.append((np.concatenate(keys), np.asarray(runs, dtype=np.int64)))
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    words = np.unique(np.concatenate([np.unique(chunk) for chunk, _ in chunks]))
    links = [
        (np.searchsorted(words, chunk).astype(np.int32), np.cumsum(runs) - runs, runs)
        for chunk, runs in chunks
    ]
    del chunks
    word_source = words % width
    probability = np.ones(len(words))
    for _ in range(iterations):
        counts = np.zeros(len(words))
        for link_word, run_start, run_length in links:
            share = probability[link_word]
            share /= np.repeat(np.add.reduceat(share, run_start), run_length)
            counts += np.bincount(link_word, weights=share, minlength=len(words))
        probability = counts / np.bincount(word_source, weights=counts, minlength=width)[word_source]
    return word_source, words // width, probability


def learn_glossary(
    pairs: Sequence[tuple[str, str]], language: str, english_labels: Sequence[str]
) -> Glossary:
    """A glossary of ``language`` learned from parallel ``(text, English text)`` pairs;
    ``english_labels``: the taxonomy's English labels (the words that may stay themselves)."""
    source_ids: dict[str, int] = {}
    target_ids: dict[str, int] = {}
    sources: list[list[int]] = []
    targets: list[list[int]] = []
    for text, english in pairs:
        source = [_term(word, language) for word, _ in _words(text)]
        target = [word.casefold() for word in WORD_PATTERN.findall(english)]
        if not source or not target or len(source) > _MAX_WORDS or len(target) > _MAX_WORDS:
            continue
        sources.append([source_ids.setdefault(term, len(source_ids) + 1) for term in source])
        targets.append([target_ids.setdefault(word, len(target_ids)) for word in target])
    source_of, target_of, probability = align(sources, targets)
    counts = (
        np.bincount(np.concatenate([np.asarray(s) for s in sources]), minlength=len(source_ids) + 1)
        if sources
        else np.zeros(1)
    )
    # The likeliest target word of each source word: sort by (source, -probability).
    order = np.lexsort((-probability, source_of))
    first = order[np.r_[True, source_of[order][1:] != source_of[order][:-1]]] if len(order) else order
    terms = {i: term for term, i in source_ids.items()}
    english_words = {i: word for word, i in target_ids.items()}
    words: dict[str, str] = {}
    sure: set[str] = set()
    for at in first.tolist():
        word_id = int(source_of[at])
        if word_id == 0 or probability[at] < MIN_PROBABILITY or counts[word_id] < MIN_COUNT:
            continue
        words[terms[word_id]] = english_words[int(target_of[at])]
        if probability[at] >= SURE:
            sure.add(terms[word_id])
    label_words = Counter(word.casefold() for label in english_labels for word in WORD_PATTERN.findall(label))
    return Glossary(
        language,
        words,
        frozenset(sure),
        frozenset(word for word, n in label_words.items() if n >= ENGLISH_MIN_COUNT),
    )


def _english_labels(taxonomy: Taxonomy) -> list[str]:
    return [
        label
        for concepts in (taxonomy.skills, taxonomy.occupations)
        for c in concepts.values()
        for label in c.all_labels
    ]


def glossary_key(pairs: Sequence[tuple[str, str]], english_labels: Sequence[str], language: str) -> str:
    """A digest of everything a glossary is learned from: the texts, this module and the
    word rules of :mod:`.lexical`, and the lemmatiser's version."""
    import simplemma

    version = getattr(simplemma, "__version__", "")
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{language}\0{version}\0".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(Path(lexical.__file__).read_bytes())
    for source, english in pairs:
        digest.update(f"{source}\0{english}\n".encode())
    for label in english_labels:
        digest.update(f"{label}\n".encode())
    return digest.hexdigest()[:24]


def load_glossary(taxonomy: Taxonomy, language: str, root: Path | None) -> Glossary | None:
    """The glossary of ``language`` over ``taxonomy``: loaded from ``root`` when saved there,
    else learned (and saved there); ``None`` when the taxonomy has no labels in it."""
    pairs = parallel_texts(taxonomy, language)
    if not pairs:
        return None
    english_labels = _english_labels(taxonomy)
    path = None if root is None else root / f"glossary-{glossary_key(pairs, english_labels, language)}.json"
    if path is not None and path.is_file():
        try:
            return Glossary.from_state(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring the unreadable glossary %s (%s); learning it again", path, exc)
    glossary = learn_glossary(pairs, language, english_labels)
    if path is not None:
        _save(path, glossary)
    return glossary


def _save(path: Path, glossary: Glossary) -> None:
    """Write atomically; a failure only costs the next start."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(glossary.state(), out, ensure_ascii=False)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError as exc:
        logger.warning("could not save the glossary %s: %s", path, exc)


class Glossaries:
    """The glossaries of a taxonomy's languages, each learned (or loaded) on first need.

    Args:
        taxonomy: Whose parallel labels teach the glossaries.
        root: Where learned glossaries are saved (``None``: kept in memory only).
    """

    def __init__(self, taxonomy: Taxonomy, root: Path | None) -> None:
        self.taxonomy = taxonomy
        self.root = root
        self._glossaries: dict[str, Glossary | None] = {}
        self._locks = {language: threading.Lock() for language in taxonomy.languages}

    def get(self, language: str) -> Glossary | None:
        """The glossary of ``language``; ``None`` for English and languages without labels.
        Learning one language (seconds) does not hold up texts in the others."""
        lock = self._locks.get(language)
        if language in (PRIMARY_LANGUAGE, self.taxonomy.language) or lock is None:
            return None
        with lock:
            if language not in self._glossaries:
                self._glossaries[language] = load_glossary(self.taxonomy, language, self.root)
            return self._glossaries[language]
