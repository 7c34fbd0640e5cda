"""The parity set of a JavaScript export: which texts, and the search both runtimes run (pure).

The texts are chosen deterministically from the taxonomy (preferred and alternative labels
of skills and occupations, labels in the taxonomy's other languages) plus a fixed list of
sentences in English, German, French and Spanish, and a few long texts that run past the
model's token limit, so that truncation is checked too. The same taxonomy always gives the
same texts, in the same order.

The search is the one the JavaScript client runs: a concept's score is the best cosine
between the text and any of its views (labels and blob, see :mod:`..cache.recipe`), and the
``top_k`` concepts by score are returned, ties broken by row order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..taxonomy import Occupation, Skill, Taxonomy

__all__ = ["ParityText", "SENTENCES", "parity_texts", "top_concepts"]

#: Sentences as they appear in CVs and job ads, in the languages ESCO users write in most.
SENTENCES: tuple[tuple[str, str], ...] = (
    ("en", "We are hiring a software developer with experience in Python and SQL."),
    ("en", "Responsible for managing a team of five nurses on the night shift."),
    ("en", "Cook wanted for our restaurant kitchen; teamwork and communication matter."),
    ("en", "She maintained electrical equipment and wrote safety reports."),
    ("en", "Analyse financial data and prepare the quarterly budget."),
    ("en", "Drive forklift trucks in the warehouse and check incoming goods."),
    ("en", "Teach English and French to adult learners in evening classes."),
    ("en", "Design web applications in JavaScript and deploy them to the cloud."),
    ("en", "Negotiate contracts with suppliers and monitor delivery times."),
    ("en", "Provide customer support by phone and e-mail, in a friendly tone."),
    ("en", "Experienced welder, certified for MIG and TIG welding of stainless steel."),
    ("en", "Plan marketing campaigns and measure their results with analytics tools."),
    ("en", "Clean hotel rooms and restock the minibar."),
    ("en", "Assist the head chef with food preparation and hygiene checks."),
    ("en", "Repair cars, diagnose engine faults and replace brake pads."),
    ("en", "Curriculum vitae: project manager, PMP certified, fluent in German."),
    ("en", "x"),
    ("en", "Python"),
    ("en", "communication skills, Microsoft Excel, driving licence B"),
    ("en", "Led a data science team building machine learning models for fraud detection."),
    ("de", "Wir suchen einen Koch für unser Restaurant."),
    ("de", "Erfahrung in der Softwareentwicklung mit Java und Python."),
    ("de", "Pflege von Patientinnen und Patienten im Schichtdienst."),
    ("de", "Wartung elektrischer Anlagen und Erstellung von Prüfberichten."),
    ("de", "Sie führen ein Team von zehn Mitarbeitenden im Vertrieb."),
    ("de", "Buchhaltung, Lohnabrechnung und Jahresabschluss nach HGB."),
    ("de", "Gabelstaplerfahrer (m/w/d) für unser Lager gesucht."),
    ("de", "Kundenberatung am Telefon und per E-Mail."),
    ("fr", "Nous recherchons un développeur logiciel expérimenté."),
    ("fr", "Gérer une équipe de vente et négocier avec les fournisseurs."),
    ("fr", "Préparer les repas et respecter les règles d'hygiène en cuisine."),
    ("fr", "Assurer la maintenance des équipements électriques."),
    ("fr", "Enseigner les mathématiques au lycée."),
    ("fr", "Infirmière diplômée d'État, expérience en soins intensifs."),
    ("es", "Buscamos un desarrollador de software con experiencia en Python."),
    ("es", "Atención al cliente por teléfono y correo electrónico."),
    ("es", "Conducir carretillas elevadoras en el almacén."),
    ("es", "Gestionar proyectos de construcción y supervisar a los trabajadores."),
    ("es", "Cocinero con experiencia en cocina mediterránea."),
    ("es", "Análisis de datos financieros y elaboración de presupuestos."),
)

_LABELS_PER_KIND = 150  # skills; occupations get a third of it
_OTHER_LANGUAGE_LABELS = 60
_LONG_TEXTS = 3

T = TypeVar("T")


@dataclass(frozen=True)
class ParityText:
    """One text of the parity set.

    Attributes:
        text: The text.
        source: Where it comes from: ``"skill-label"``, ``"occupation-label"``,
            ``"translated-label"``, ``"sentence"`` or ``"long-text"``.
        language: Its language code.
    """

    text: str
    source: str
    language: str


def _spread(items: Sequence[T], count: int) -> list[T]:
    """``count`` items evenly spread over ``items`` (all of them when there are fewer)."""
    items = list(items)
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _labels(concepts: Iterable[Skill | Occupation], count: int) -> list[str]:
    ordered = sorted(concepts, key=lambda c: c.uri)
    preferred = [c.preferred_label for c in ordered if c.preferred_label]
    alternative = [c.alt_labels[0] for c in ordered if c.alt_labels and c.alt_labels[0]]
    return _spread(preferred, count - count // 4) + _spread(alternative, count // 4)


def _translated(taxonomy: Taxonomy, count: int) -> list[tuple[str, str]]:
    languages = sorted(set(taxonomy.languages) - {taxonomy.language})
    if not languages:
        return []
    found: list[tuple[str, str]] = []
    concepts = sorted([*taxonomy.skills.values(), *taxonomy.occupations.values()], key=lambda c: c.uri)
    for language in languages:
        labels = [
            (language, t.preferred_label)
            for c in concepts
            if (t := c.translations.get(language)) is not None and t.preferred_label
        ]
        found += _spread(labels, count // len(languages))
    return found


def parity_texts(taxonomy: Taxonomy) -> list[ParityText]:
    """The parity set of ``taxonomy``: a few hundred distinct texts, always the same ones.

    Example:
        >>> texts = parity_texts(taxonomy)  # doctest: +SKIP
        >>> texts[0].source  # doctest: +SKIP
        'skill-label'
    """
    texts: list[ParityText] = []
    texts += [
        ParityText(t, "skill-label", taxonomy.language)
        for t in _labels(taxonomy.skills.values(), _LABELS_PER_KIND)
    ]
    texts += [
        ParityText(t, "occupation-label", taxonomy.language)
        for t in _labels(taxonomy.occupations.values(), _LABELS_PER_KIND // 3)
    ]
    texts += [
        ParityText(t, "translated-label", language)
        for language, t in _translated(taxonomy, _OTHER_LANGUAGE_LABELS)
    ]
    texts += [ParityText(t, "sentence", language) for language, t in SENTENCES]
    english = " ".join(t for language, t in SENTENCES if language == "en")
    for i in range(_LONG_TEXTS):  # past any model's token limit: truncation must agree
        texts.append(ParityText(" ".join([english] * (2 + i)), "long-text", "en"))
    unique: dict[str, ParityText] = {}
    for item in texts:
        unique.setdefault(item.text, item)
    return list(unique.values())


def top_concepts(
    queries: np.ndarray, vectors: np.ndarray, owners: np.ndarray, concepts: int, top_k: int
) -> list[list[tuple[int, float]]]:
    """The ``top_k`` concepts of each query: ``(concept index, score)``, best first.

    Args:
        queries: ``(n, dim)`` unit vectors.
        vectors: ``(rows, dim)`` unit vectors of the views (any float type).
        owners: ``(rows,)`` the concept index of each view.
        concepts: How many concepts there are.
        top_k: How many to return.

    Returns:
        Per query, a concept's score is its best view's cosine; ties go to the lower index.

    Raises:
        ValueError: a concept has no view, or its views are not contiguous rows.
    """
    owners = np.asarray(owners)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    if len(owners) == 0 or not np.array_equal(owners[starts], np.arange(concepts)):
        raise ValueError("every concept needs at least one view, and its views must be contiguous")
    out: list[list[tuple[int, float]]] = []
    matrix = np.asarray(vectors, dtype=np.float32)
    ranks = np.arange(concepts)
    for start in range(0, len(queries), 64):
        sims = np.asarray(queries[start : start + 64], dtype=np.float32) @ matrix.T
        for best in np.maximum.reduceat(sims, starts, axis=1):
            order = np.lexsort((ranks, -best))[:top_k]
            out.append([(int(i), float(best[i])) for i in order])
    return out
