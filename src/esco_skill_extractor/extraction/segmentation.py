"""Pure text segmentation with character offsets: sentences, bullet items and clauses.

Splits never fall inside a word: "standard", "order" and "Android" stay whole, because
conjunctions split only as whole words. Offsets always index the original text:
``text[segment.start:segment.end] == segment.text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Segment", "segment_text", "split_clauses", "split_sentences"]

Level = Literal["sentence", "clause"]

# A sentence ends at . ! ? (not inside "e.g.", "3.5", "Node.js") when followed by space,
# at a line break, at a bullet glyph, or at a semicolon-free list break.
_SENTENCE_END = re.compile(
    r"""
    (?<=[.!?])(?<!\b[a-zA-Z]\.)(?<!\b\d\.)(?<!\b\d\d\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)(?<!\bca\.)\s+
    | \s*\n\s*
    | \s*[•·▪●◦‣∙■□➢➤►✓✔]\s*
    | \s+[-–—*]\s+(?=[A-Z])
    """,
    re.VERBOSE,
)
_CLAUSE_BREAK = re.compile(
    r"""
    \s*[,;:()\[\]|]\s*
    | \s+/\s+
    | \s+(?:and|or|&|as\ well\ as|such\ as|including|e\.g\.|i\.e\.|plus|und|oder|et|ou)\s+
    """,
    re.VERBOSE | re.IGNORECASE,
)
_LEADING_MARK = re.compile(r"(?:[-–—*+>]|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of the input: a sentence (or bullet item) or a clause inside one."""

    start: int
    end: int
    text: str
    level: Level
    sentence: int  # index of the sentence this segment belongs to (its own index for sentences)


def _spans(text: str, start: int, end: int, breaker: re.Pattern[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in breaker.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and _WORD.search(text, s, e):
            out.append((s, e))
    return out


def _strip_marker(text: str, start: int, end: int) -> int:
    match = _LEADING_MARK.match(text, start, end)
    if match and match.end() < end:
        return match.end()
    return start


def _windows(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long span at whitespace into pieces of at most ``max_chars``."""
    pieces = []
    while end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        if cut <= start:
            cut = start + max_chars
            while cut < end and not text[cut].isspace():  # never inside a word
                cut += 1
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def split_sentences(text: str, max_chars: int = 1000) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence or bullet item, cut to ``max_chars`` at whitespace."""
    out: list[tuple[int, int]] = []
    for s, e in _spans(text, 0, len(text), _SENTENCE_END):
        s = _strip_marker(text, s, e)
        out.extend(_windows(text, s, e, max_chars))
    return out


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause of ``text[start:end]``; conjunctions split as whole words."""
    return _spans(text, start, end, _CLAUSE_BREAK)


def segment_text(text: str, max_chars: int = 1000) -> list[Segment]:
    """Sentences of ``text``, each followed by its clauses when it has more than one.

    Example:
        >>> [s.text for s in segment_text("Python and SQL. Team player")]
        ['Python and SQL', 'Python', 'SQL', 'Team player']
    """
    segments: list[Segment] = []
    for sentence_index, (s, e) in enumerate(split_sentences(text, max_chars)):
        segments.append(Segment(s, e, text[s:e], "sentence", sentence_index))
        clauses = split_clauses(text, s, e)
        if len(clauses) > 1:
            segments.extend(Segment(cs, ce, text[cs:ce], "clause", sentence_index) for cs, ce in clauses)
    return segments
