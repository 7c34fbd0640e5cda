"""A text's occupations: what the text names, combined with what the skills found imply.

An occupation named in the text scores its text score; one whose essential skills were
found scores how strongly they support it (ESCO's essential/optional relations); both
together combine as independent evidence. Pure: hits and skill matches in, typed matches
out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..taxonomy import Occupation, Taxonomy
from ..types import OccupationMatch, SkillMatch
from .evidence import collect, evidence_spans
from .scoring import ScoredSentence

__all__ = [
    "OccupationInference",
    "blend_document",
    "break_ties",
    "mask_seniority",
    "sentence_weights",
    "skills_support",
    "title_tail",
]

_INFER_MIN_ESSENTIAL = 2  # essential skills an occupation needs before it is inferred
_TITLE_WORDS = 15  # a first line this short is the ad's title

#: Phrases that introduce the role an ad is for, per language (any language: all of them).
_ROLE_PHRASES = re.compile(
    r"\b(?:we\s+are|we're)\s+(?:looking\s+for|hiring|seeking|recruiting)\b|\bjoin\s+(?:us|our\s+team)\s+as\b"
    r"|\b(?:wir\s+suchen|suchen\s+wir|zur\s+verstärkung)\b"
    r"|\b(?:nous\s+recherchons|nous\s+recrutons|recherchons|recrute)\b|\ben\s+tant\s+que\b"
    r"|\b(?:buscamos|se\s+busca|precisamos|necesitamos|se\s+necesita)\b"
    r"|\b(?:position|job\s+title|stelle|poste|puesto)\s*:",
    re.IGNORECASE,
)


#: Where a title's own words end and what qualifies it begins: a dash between spaces, an
#: opening bracket (gender markers "(m/w/d)", "(H/F)", hours, places), a comma or a colon.
_TITLE_TAIL = re.compile(r"\s+[-–—|]\s+|\s*[(\[,:]")


def title_tail(text: str) -> tuple[int, int] | None:
    """The part of the title line that qualifies the job rather than names it: "Deburring
    Operator – Precision Engineering" names a deburring operator, not a precision engineer;
    "Koch (m/w/d) – Hotel am See" a cook, not a hotel; "Registered nurse, night shift" a
    nurse, not a night auditor. The title line is a short first line (or a short text of
    one line); ``None`` without one, or without such a part."""
    newline = text.find("\n")
    end = len(text) if newline < 0 else newline
    if len(text[:end].split()) > _TITLE_WORDS:
        return None
    found = _TITLE_TAIL.search(text, 0, end)
    if found is None or not text[: found.start()].strip():
        return None
    return found.start(), end


#: Seniority says how senior, not what the job is: "Senior Backend Engineer" is a backend
#: engineer (and "Junior" is not an assistant). Masked before scoring, in every language.
_SENIORITY = re.compile(
    r"\b(?:senior|sénior|junior|sr\.|jr\.|experienced|erfahrene[nr]?|expérimentée?|confirmée?"
    r"|experimentad[oa])(?!\w)",
    re.IGNORECASE,
)


def mask_seniority(text: str) -> str:
    """``text`` with seniority words blanked out (same length: offsets stay valid)."""
    return _SENIORITY.sub(lambda found: " " * len(found.group()), text)


def blend_document(sentence_score: float, document_score: float, weight: float) -> float:
    """An occupation's text score: its best sentence's score, blended with the whole
    document's similarity to it (the document says what the ad is for; a sentence may name
    an occupation in passing)."""
    return (1 - weight) * sentence_score + weight * document_score


def sentence_weights(text: str, sentences: Sequence[ScoredSentence], context_weight: float) -> list[float]:
    """How much each sentence's occupations count: 1 for the title line (a short first
    line) and the sentences with a role phrase ("we are looking for", "wir suchen",
    "nous recherchons", "buscamos" ...), ``context_weight`` for the others; 1 for every
    sentence when the text has neither (a CV summary, a sentence)."""
    if context_weight >= 1.0 or not sentences:
        return [1.0] * len(sentences)
    newline = text.find("\n")
    first_line_end = len(text) if newline < 0 else newline
    title = len(text[:first_line_end].split()) <= _TITLE_WORDS and newline >= 0
    marked = [
        (title and start < first_line_end) or bool(_ROLE_PHRASES.search(text, start, end))
        for start, end, _ in sentences
    ]
    if not any(marked):
        return [1.0] * len(sentences)
    return [1.0 if m else context_weight for m in marked]


_TIE = 0.05  # occupations this close to the best are near-ties ...
_GROUP_TOP = 10  # ... broken by their ISCO group's share of the best this many


def break_ties(matches: list[OccupationMatch], weight: float) -> list[OccupationMatch]:
    """Near-ties broken by the ESCO hierarchy: each occupation within 0.05 of the best gains
    ``weight`` times its ISCO unit group's share of the scores of the ten best, so that when
    "mathematics lecturer" and two kinds of secondary school teacher score alike, a teacher
    wins (and a broader occupation and its narrower ones, which share a group, support each
    other). Scores are capped at 1; the result is sorted best first."""
    if len(matches) < 2:
        return matches
    mass: dict[str, float] = {}
    for match in matches[:_GROUP_TOP]:
        mass[match.isco_code] = mass.get(match.isco_code, 0.0) + match.score
    total = sum(mass.values())
    best = matches[0].score
    if not total:
        return matches
    out = [
        replace(m, score=round(min(1.0, m.score + weight * mass.get(m.isco_code, 0.0) / total), 4))
        if m.score >= best - _TIE and m.isco_code
        else m
        for m in matches
    ]
    return sorted(out, key=lambda m: (-m.score, m.uri))


def skills_support(
    profile: tuple[int, int], essential: list[str], optional: list[str], scores: dict[str, float]
) -> float:
    """How strongly the skills found point at an occupation, in [0, 1].

    The mean score of its skills found, times how much of its profile they cover: finding
    six essential skills (optional ones count half) is full support; a small share of the
    whole profile adds a little, so that ties break towards better-covered occupations.
    """
    total = profile[0] + 0.5 * profile[1]
    found = len(essential) + 0.5 * len(optional)
    if not found or not total:
        return 0.0
    mean = sum(scores[u] for u in essential + optional) / (len(essential) + len(optional))
    strength = 0.8 * min(1.0, found / min(6.0, total)) + 0.2 * found / total
    return round(mean * strength, 6)


class OccupationInference:
    """Turns a text's occupation hits and skills into :class:`OccupationMatch` objects.

    Args:
        taxonomy: The taxonomy (for the occupation-skill relations).
        occupations: The occupations, in the order of the hits' concept indexes.
    """

    def __init__(self, taxonomy: Taxonomy, occupations: Sequence[Occupation]) -> None:
        self.taxonomy = taxonomy
        self.occupations = occupations
        self._index = {o.uri: i for i, o in enumerate(occupations)}
        self._profile_sizes: dict[str, tuple[int, int]] = {}

    def profile_size(self, occupation_uri: str) -> tuple[int, int]:
        """How many essential and optional skills ESCO lists for an occupation."""
        size = self._profile_sizes.get(occupation_uri)
        if size is None:
            size = self._profile_sizes[occupation_uri] = (
                len(self.taxonomy.essential_skills(occupation_uri)),
                len(self.taxonomy.optional_skills(occupation_uri)),
            )
        return size

    def _inferred(
        self, skill_scores: dict[str, float], named: set[int]
    ) -> dict[int, tuple[float, list[str], list[str]]]:
        """Occupations supported by the skills found: ``index -> (support, essential, optional)``."""
        # From the skills found to their occupations: only the relations that matter.
        linked: dict[str, tuple[list[str], list[str]]] = {}
        for uri in sorted(skill_scores, key=lambda u: (-skill_scores[u], u)):
            for occupation_uri, relation in self.taxonomy.occupations_of(uri).items():
                essential, optional = linked.setdefault(occupation_uri, ([], []))
                (essential if relation == "essential" else optional).append(uri)
        inferred = {}
        for occupation_uri, (essential, optional) in linked.items():
            index = self._index.get(occupation_uri)
            if index is None or (len(essential) < _INFER_MIN_ESSENTIAL and index not in named):
                continue
            support = skills_support(self.profile_size(occupation_uri), essential, optional, skill_scores)
            inferred[index] = (support, essential, optional)
        return inferred

    def matches(
        self,
        text: str,
        sentences: Sequence[ScoredSentence],
        skills: Sequence[SkillMatch],
        *,
        threshold: float,
        language: str,
        infer: bool,
        context_weight: float = 1.0,
        margin: float = 0.0,
        document: np.ndarray | None = None,
        document_weight: float = 0.0,
        title_tail_weight: float = 1.0,
        group_weight: float = 0.0,
    ) -> list[OccupationMatch]:
        """The occupations of one text scoring at least ``threshold``, best first.

        Args:
            text: The text the sentences' offsets refer to.
            sentences: Its scored sentences.
            skills: The skills found in it.
            threshold: The minimum score.
            language: Label language.
            infer: Also infer occupations from the skills.
            context_weight: See :func:`sentence_weights`.
            margin: Keep the occupations within this much of the best score (0: all).
            document: The whole text's similarity to each occupation (see
                :func:`blend_document`), or ``None``.
            document_weight: Its share of a named occupation's text score.
            title_tail_weight: Factor of the hits that reach into the title's tail
                (:func:`title_tail`); those within the title's own words count fully.
            group_weight: How much the ISCO group breaks near-ties (:func:`break_ties`).
        """
        weights = sentence_weights(text, sentences, context_weight)
        tail = title_tail(text) if title_tail_weight < 1 else None
        damped = (tail, title_tail_weight) if tail is not None else None
        named = collect(sentences, "occupation", threshold * 0.5 if infer else threshold, weights, damped)
        if document is not None and document_weight > 0:
            named = {
                index: (blend_document(score, float(document[index]), document_weight), spans, view)
                for index, (score, spans, view) in named.items()
            }
        skill_scores = {m.uri: m.score for m in skills}
        inferred = self._inferred(skill_scores, set(named)) if infer and skill_scores else {}
        scored: list[tuple[float, str, int]] = []  # (score, uri, index), best first
        for index in set(named) | set(inferred):
            text_score, support = named.get(index, (0.0,))[0], inferred.get(index, (0.0,))[0]
            if text_score and support:
                score = 1 - (1 - text_score) * (1 - support)  # independent evidence, combined
            else:
                score = max(text_score, support)
            if score >= threshold * 0.5:  # kept below the threshold only to weigh near-ties
                scored.append((round(score, 4), self.occupations[index].uri, index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        floor = max(threshold, scored[0][0] - margin) if margin > 0 and scored else threshold
        # Matches are built for what is returned and, to weigh near-ties, for the best few.
        ties = _GROUP_TOP if group_weight > 0 else 0
        matches = [
            self._match(text, index, score, threshold, language, named, inferred)
            for rank, (score, _, index) in enumerate(scored)
            if score >= floor or rank < ties
        ]
        if group_weight > 0:
            matches = break_ties(matches, group_weight)
        before = {uri: score for score, uri, _ in scored}
        return [m for m in matches if before[m.uri] >= floor]

    def _match(
        self,
        text: str,
        index: int,
        score: float,
        threshold: float,
        language: str,
        named: dict[int, tuple[float, list[tuple[float, tuple[int, int]]], int]],
        inferred: dict[int, tuple[float, list[str], list[str]]],
    ) -> OccupationMatch:
        occupation = self.occupations[index]
        text_score, spans, _ = named.get(index, (0.0, [], -1))
        support, essential, optional = inferred.get(index, (0.0, [], []))
        source = (
            "text+skills" if text_score >= threshold * 0.5 and support else "text" if text_score else "skills"
        )
        n_essential, n_optional = self.profile_size(occupation.uri)
        return OccupationMatch(
            uri=occupation.uri,
            label=occupation.label(language),
            score=score,
            isco_code=occupation.isco_code,
            source=source,  # type: ignore[arg-type]
            evidence=evidence_spans(text, spans),
            text_score=round(text_score, 4),
            skills_score=round(support, 4),
            essential_skills_found=tuple(essential),  # best first
            optional_skills_found=tuple(optional),
            essential_skills_total=n_essential,
            optional_skills_total=n_optional,
        )
