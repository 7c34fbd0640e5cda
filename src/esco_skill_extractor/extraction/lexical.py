"""Pure lexical signals: verbatim label hits (with offsets) and BM25 over concept labels.

Both work on "terms": words casefolded, accents stripped, and lightly stemmed (plural
endings), so "databases" finds "database" and "Java (computer programming)" is found by
"java" (a parenthetical qualifier is optional). Other languages than English are first
lemmatised with simplemma ("Datenbanken" -> "Datenbank", "gestiona" -> "gestionar"), and
gender pairs are read as either form: a label "Koch/Köchin" is found as "Koch" or
"Köchin", and a text's "Camarero/a" or "Koch/Köchin" reads as its first form.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

__all__ = [
    "BM25",
    "PRIMARY_LANGUAGE",
    "STOPWORDS",
    "LabelHit",
    "LexicalIndex",
    "VerbatimMatcher",
    "WORD_PATTERN",
    "build_lexical",
    "lemma",
    "terms",
    "terms_with_offsets",
]

#: A word: letters and digits, with "+" and "#" inside ("C++", "C#"), joined by dots,
#: apostrophes and hyphens ("node.js", "l'expérience", "SQL-Erfahrung").
WORD_PATTERN = re.compile(r"[\w][\w+#]*(?:[.'’-]\w[\w+#]*)*", re.UNICODE)
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)\s*")
_MAX_NGRAM = 8
_GENDER_PAIR = re.compile(r"(\w+)/(\w+)")

#: The language whose terms are only folded and stemmed (no lemmatiser): ESCO's own.
PRIMARY_LANGUAGE = "en"
_SEPARATOR = "\x1f"  # between the terms of a key in a saved index; never inside a term

#: Function words (stemmed like terms) that never start or end a word window: a window
#: "with food safety" says no more than "food safety" and makes worse evidence.
STOPWORDS = frozenset(
    """a an the and or nor but of to in on at by for from with without as into onto over
    under about within via per than then that this these those there here which who whom
    whose what when where while is are wa were be been being am have ha had do doe did
    will would shall should can could may might must our your their it its we you they he
    she i me my u them his her also such other any all each every some no not more most
    very well e.g i.e etc plus including include strong good excellent ability able
    experience knowledge skill understanding proficiency proficient work working
    und oder mit der die das den dem des ein eine et ou le la les de du des un une""".split()
)


def _fold(word: str) -> str:
    word = word.casefold()
    if not word.isascii():
        word = "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
    return word


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lemma(word: str, language: str) -> str:
    """The simplemma lemma of ``word`` in ``language`` (the word itself in a language
    simplemma has no dictionary for)."""
    import simplemma

    try:
        return str(simplemma.lemmatize(word, lang=language))
    except ValueError:  # a language simplemma has no dictionary for: words stay as they are
        return word


@functools.lru_cache(maxsize=1 << 18)
def _term(word: str, language: str = PRIMARY_LANGUAGE) -> str:
    if language != PRIMARY_LANGUAGE:
        word = lemma(word, language)
    return _stem(_fold(word))


def _second_form(text: str, previous: tuple[str, int, int] | None, start: int) -> bool:
    """``text[start:]`` is the second form of a gender pair: "Camarero/a", "Koch/Köchin",
    "cuisinier/ère" (right after a slash, short or sharing the first form's stem)."""
    if previous is None or previous[2] != start - 1 or text[start - 1] != "/":
        return False
    word = WORD_PATTERN.match(text, start)
    second = _fold(word.group()) if word else ""
    first = _fold(text[previous[1] : previous[2]])
    return len(second) <= 4 or second[:3] == first[:3]


def terms_with_offsets(text: str, language: str = PRIMARY_LANGUAGE) -> list[tuple[str, int, int]]:
    """``(term, start, end)`` of each word of ``text``; offsets index ``text``."""
    if language == PRIMARY_LANGUAGE:
        return [(_term(m.group()), m.start(), m.end()) for m in WORD_PATTERN.finditer(text)]
    out: list[tuple[str, int, int]] = []
    for m in WORD_PATTERN.finditer(text):
        if not _second_form(text, out[-1] if out else None, m.start()):
            out.append((_term(m.group(), language), m.start(), m.end()))
    return out


def terms(text: str, language: str = PRIMARY_LANGUAGE) -> list[str]:
    """The terms of ``text``."""
    if language == PRIMARY_LANGUAGE:
        return [_term(word) for word in WORD_PATTERN.findall(text)]
    return [term for term, _, _ in terms_with_offsets(text, language)]


def label_variants(label: str, *, bare: bool = True, language: str = PRIMARY_LANGUAGE) -> list[str]:
    """A label; without its parenthetical qualifier (``bare``); and, outside the primary
    language, each form of its gender pairs ("Koch/Köchin": "Koch", "Köchin")."""
    variants = [label]
    if language != PRIMARY_LANGUAGE:
        for pair in _GENDER_PAIR.finditer(label):
            for form in pair.groups():
                variants.append(label[: pair.start()] + form + label[pair.end() :])
    if bare:
        variants += [_PARENTHETICAL.sub(" ", v).strip() for v in variants]
    return [v for v in dict.fromkeys(variants) if v]


@dataclass(frozen=True, slots=True)
class LabelHit:
    """A label found verbatim in a text."""

    owner: int  # concept index
    start: int
    end: int
    length: int  # number of terms in the label
    label: str  # the concept's label that occurs


class VerbatimMatcher:
    """Finds preferred and alternative labels that occur verbatim (term for term) in a text."""

    def __init__(
        self,
        labels: Sequence[tuple[int, str]],
        *,
        bare_variants: bool = True,
        tokenize: Callable[[str], Sequence[str]] = terms,
        language: str = PRIMARY_LANGUAGE,
    ) -> None:
        """Args:
        labels: ``(concept index, label)`` pairs.
        bare_variants: Also match a label without its parenthetical qualifier
            ("Java (computer programming)" found as "Java").
        tokenize: :func:`terms`, or a memo of it shared with other indexes.
        language: The labels' language (how texts are read and gender pairs split).
        """
        self.language = language
        # terms -> positions in ``labels`` of its concepts' first labels with these terms.
        entries: dict[tuple[str, ...], list[int]] = {}
        for position, (owner, label) in enumerate(labels):
            for variant in label_variants(label, bare=bare_variants, language=language):
                key = tuple(tokenize(variant))
                if key and len(key) <= _MAX_NGRAM:
                    known = entries.setdefault(key, [])
                    if all(labels[k][0] != owner for k in known):
                        known.append(position)
        self._setup(labels, entries)

    def _setup(self, labels: Sequence[tuple[int, str]], entries: dict[tuple[str, ...], list[int]]) -> None:
        self._labels = labels
        # terms -> positions in ``labels``: short lists, a third of the memory of a dict per key.
        self._index = entries
        self._longest: dict[str, int] = {}  # first term -> most terms of a label it starts
        for key in entries:
            if len(key) > self._longest.get(key[0], 0):
                self._longest[key[0]] = len(key)

    def state(self) -> dict[str, list[Any]]:
        """The index as JSON-ready lists, for :meth:`from_state` with the same labels."""
        keys, bounds, positions = [], [0], []
        for key, known in self._index.items():
            keys.append(_SEPARATOR.join(key))
            positions.extend(known)
            bounds.append(len(positions))
        return {"keys": keys, "bounds": bounds, "positions": positions}

    @classmethod
    def from_state(
        cls, labels: Sequence[tuple[int, str]], state: dict[str, list[Any]], language: str = PRIMARY_LANGUAGE
    ) -> VerbatimMatcher:
        """The matcher whose :meth:`state` this is, over the same ``labels``.

        Raises:
            ValueError: the state does not fit ``labels``.
        """
        keys, bounds, positions = state["keys"], state["bounds"], state["positions"]
        if len(bounds) != len(keys) + 1 or (
            positions and not 0 <= min(positions) <= max(positions) < len(labels)
        ):
            raise ValueError("the verbatim index does not fit the labels")
        matcher = cls.__new__(cls)
        matcher.language = language
        matcher._setup(
            labels,
            {
                tuple(key.split(_SEPARATOR)): positions[bounds[i] : bounds[i + 1]]
                for i, key in enumerate(keys)
            },
        )
        return matcher

    def find(self, text: str) -> list[LabelHit]:
        """Every label occurrence in ``text``, with the character span it covers."""
        words = terms_with_offsets(text, self.language)
        keys = [w for w, _, _ in words]
        hits: list[LabelHit] = []
        for i in range(len(words)):
            for n in range(1, min(self._longest.get(keys[i], 0), len(words) - i) + 1):
                positions = self._index.get(tuple(keys[i : i + n]))
                if positions:
                    start, end = words[i][1], words[i + n - 1][2]
                    if text.startswith(")", end) and "(" in text[start:end]:
                        end += 1  # "Java (computer programming)": keep the closing bracket
                    for k in positions:
                        owner, label = self._labels[k]
                        hits.append(LabelHit(owner, start, end, n, label))
        return hits


class BM25:
    """Okapi BM25 over one "document" of terms per concept (its labels).

    ``scores(query_terms)`` returns one score per concept; callers normalise by the maximum.
    """

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[float] = []
        lengths = np.zeros(len(documents), dtype=np.float32)
        for d, document in enumerate(documents):
            lengths[d] = len(document)
            tally: dict[int, int] = {}
            for term in document:
                column = vocabulary.setdefault(term, len(vocabulary))
                tally[column] = tally.get(column, 0) + 1
            rows += [d] * len(tally)
            cols += list(tally)
            counts += list(tally.values())
        self.vocabulary = vocabulary
        n = max(len(documents), 1)
        average = float(lengths.mean()) if len(documents) else 1.0
        tf = np.asarray(counts, dtype=np.float32)
        norm = k1 * (1 - b + b * lengths[np.asarray(rows, dtype=np.int64)] / max(average, 1e-9))
        weights = tf * (k1 + 1) / (tf + norm) if len(tf) else tf
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocabulary))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        matrix = sparse.csr_matrix(
            (weights, (rows, cols)), shape=(len(documents), len(vocabulary)), dtype=np.float32
        )
        self._matrix = matrix.multiply(idf[np.newaxis, :]).tocsc().astype(np.float32)

    def state(self) -> tuple[list[str], dict[str, np.ndarray]]:
        """The vocabulary (in column order) and the weight matrix's arrays."""
        m = self._matrix
        return list(self.vocabulary), {
            "data": m.data,
            "indices": m.indices,
            "indptr": m.indptr,
            "shape": np.asarray(m.shape, dtype=np.int64),
        }

    @classmethod
    def from_state(cls, vocabulary: list[str], arrays: dict[str, np.ndarray]) -> BM25:
        """The index whose :meth:`state` this is.

        Raises:
            ValueError: the arrays do not make a matrix over the vocabulary.
        """
        rows, columns = (int(n) for n in arrays["shape"])
        if columns != len(vocabulary):
            raise ValueError("the BM25 matrix does not fit its vocabulary")
        index = cls.__new__(cls)
        index.vocabulary = {term: column for column, term in enumerate(vocabulary)}
        index._matrix = sparse.csc_matrix(
            (arrays["data"].astype(np.float32), arrays["indices"], arrays["indptr"]), shape=(rows, columns)
        )
        index._matrix.check_format(full_check=True)
        return index

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (each distinct term counted once)."""
        columns = sorted({self.vocabulary[t] for t in query_terms if t in self.vocabulary})
        if not columns:
            return np.zeros(self._matrix.shape[0], dtype=np.float32)
        # Straight from the compressed columns: scipy's column slicing costs ten times more.
        matrix = self._matrix
        parts = [slice(matrix.indptr[c], matrix.indptr[c + 1]) for c in columns]
        rows = np.concatenate([matrix.indices[p] for p in parts])
        weights = np.concatenate([matrix.data[p] for p in parts])
        return np.bincount(rows, weights=weights, minlength=matrix.shape[0]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class LexicalIndex:
    """The lexical signals of one kind of concept in one language: labels found verbatim,
    and BM25 over the labels."""

    verbatim: VerbatimMatcher
    bm25: BM25
    language: str = PRIMARY_LANGUAGE

    def bm25_scores(self, text: str) -> np.ndarray:
        """BM25 of every concept for ``text``, read in this index's language."""
        return self.bm25.scores(terms(text, self.language))


def build_lexical(
    size: int, labels: Sequence[tuple[int, str]], *, bare_variants: bool, language: str = PRIMARY_LANGUAGE
) -> LexicalIndex:
    """Both lexical indexes over ``labels`` (``(concept, label)`` pairs of ``size`` concepts,
    in ``language``).

    Labels are tokenised once for both (a third of the build time).
    """
    tokenized: dict[str, list[str]] = {}

    def tokenize(text: str) -> list[str]:
        found = tokenized.get(text)
        if found is None:
            found = tokenized[text] = terms(text, language)
        return found

    verbatim = VerbatimMatcher(labels, bare_variants=bare_variants, tokenize=tokenize, language=language)
    documents: list[list[str]] = [[] for _ in range(size)]
    for owner, label in labels:
        documents[owner].extend(tokenize(label))
    return LexicalIndex(verbatim, BM25(documents), language)
