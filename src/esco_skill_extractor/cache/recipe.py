"""The recipe that turns each ESCO concept into the texts that are embedded ("views").

A concept is embedded several times: its preferred label, each alternative label and a
"blob": its preferred label and description (the labels alone for a concept without a
description). The alternative labels stay out of the blob, as they are views of their own:
with a blob of every label and the description (the PyPI package's, recipe version 1) the
bundled model's build took about 3 times the PyPI package's, with this one 1.26 times, for
better English rankings (README, "Models and the embedding cache").

A multilingual model keeps version 1's blob (every primary-language label and the
description): a text in another language reaches a concept through its blob first (the
coarse pass), and the alternative labels make the blob easier to find (German development
sentences, RP@5 0.550 with them, 0.533 without). Scores take the best label view and add the
blob view (see :mod:`esco_skill_extractor.extraction.matching`). For a multilingual model
the labels in every language of the taxonomy are views too (the blob stays in the primary
language); the recipe's name then lists those languages ("labels[de,en,es,fr]+blob"). The
recipe's name and version are part of the embedding cache key: change what is embedded,
bump ``RECIPE_VERSION``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..taxonomy import Occupation, Skill, Taxonomy

__all__ = ["RECIPE_NAME", "RECIPE_VERSION", "VIEW_BLOB", "VIEW_LABEL", "ViewTable", "build_views"]

RECIPE_NAME = "labels+blob"
RECIPE_VERSION = "2"
_MULTILINGUAL_VERSION = "1"  # the blob holds every primary-language label (see above)

VIEW_LABEL = 0  # preferred or alternative label
VIEW_BLOB = 1  # "preferred label description" (multilingual: every label): one per concept

_BLOB_CHARS = 1500  # long descriptions add nothing past the model's window; keeps encodes fast


@dataclass(frozen=True)
class ViewTable:
    """The texts embedded for one kind of concept, and which concept each belongs to.

    ``owners[i]`` is the index into ``uris`` of the concept of ``texts[i]``; ``kinds[i]`` is
    ``VIEW_LABEL`` or ``VIEW_BLOB``. Views of a concept are contiguous, labels first.
    """

    uris: tuple[str, ...]
    texts: tuple[str, ...]
    owners: np.ndarray  # int32, len(texts)
    kinds: np.ndarray  # int8, len(texts)
    recipe: tuple[str, str] = (RECIPE_NAME, RECIPE_VERSION)  # (name, version), for the cache key


def _blob(concept: Skill | Occupation, every_label: bool = False) -> str:
    if every_label or not concept.description.strip():
        words = [*concept.all_labels, concept.description]
    else:
        words = [concept.preferred_label, concept.description]
    return " ".join(words)[:_BLOB_CHARS].strip()


def _labels(concept: Skill | Occupation, languages: Sequence[str]) -> dict[str, None]:
    labels = dict.fromkeys(label for label in concept.all_labels if label)
    for language in languages:
        translation = concept.translations.get(language)
        if translation is not None:
            labels.update(
                dict.fromkeys(x for x in (translation.preferred_label, *translation.alt_labels) if x)
            )
    return labels


def _table(
    concepts: Iterable[Skill | Occupation], languages: Sequence[str], recipe: tuple[str, str]
) -> ViewTable:
    uris: list[str] = []
    texts: list[str] = []
    owners: list[int] = []
    kinds: list[int] = []
    for index, concept in enumerate(concepts):
        uris.append(concept.uri)
        for label in _labels(concept, languages):
            texts.append(label)
            owners.append(index)
            kinds.append(VIEW_LABEL)
        texts.append(_blob(concept, every_label=bool(languages)))
        owners.append(index)
        kinds.append(VIEW_BLOB)
    return ViewTable(
        tuple(uris),
        tuple(texts),
        np.asarray(owners, dtype=np.int32),
        np.asarray(kinds, dtype=np.int8),
        recipe,
    )


def build_views(taxonomy: Taxonomy, *, multilingual: bool = False) -> Mapping[str, ViewTable]:
    """The view tables of a taxonomy: ``{"skills": ..., "occupations": ...}``.

    Args:
        taxonomy: The taxonomy.
        multilingual: Also embed the labels in every other language the taxonomy has (for
            models that map languages into one space).
    """
    languages = sorted(set(taxonomy.languages) - {taxonomy.language}) if multilingual else []
    recipe = (RECIPE_NAME, RECIPE_VERSION)
    if languages:
        recipe = (f"labels[{','.join(sorted({taxonomy.language, *languages}))}]+blob", _MULTILINGUAL_VERSION)
    return {
        "skills": _table(taxonomy.skills.values(), languages, recipe),
        "occupations": _table(taxonomy.occupations.values(), languages, recipe),
    }
