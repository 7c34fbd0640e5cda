"""The one place that assembles what an extractor needs, for the library, the CLI and the API.

Taxonomy → model → the recipe's views → the embedding cache (loaded, or built once) →
the lexical indexes (loaded, or built once) → one :class:`ConceptIndex` per concept kind.
Every folder comes from :mod:`esco_skill_extractor.paths`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..cache.encoding import Progress, describe_duration
from ..cache.recipe import ViewTable, build_views
from ..cache.store import CachedVectors, EmbeddingCache
from ..embedding import Backend, Embedder, LoadedModel
from ..embedding.registry import USE_MODEL, ModelSpec, model_spec
from ..paths import EMBEDDINGS_DIR, LEXICAL_DIR, cache_subdir
from ..taxonomy import Occupation, Skill, Taxonomy, load_taxonomy
from .glossary import Glossaries
from .lexical import PRIMARY_LANGUAGE
from .lexical_cache import lexical_index
from .matching import ConceptIndex

__all__ = [
    "AUTO",
    "BUILDING_PHASE",
    "Assembly",
    "assemble",
    "cache_ready",
    "choose_multilingual_model",
    "label_languages",
]

logger = logging.getLogger(__name__)

BUILDING_PHASE = "building the embedding cache"  # the phase that takes minutes
_PROGRESS_SECONDS = 2.0  # how often a build's progress reaches on_phase

Phase = Callable[[str], None]

#: Pick the model for other languages automatically (see :func:`assemble`).
AUTO = "auto"


@dataclass(frozen=True)
class Assembly:
    """Everything a :class:`~esco_skill_extractor.SkillExtractor` scores with.

    Attributes:
        embedder: The model.
        taxonomy: The ESCO taxonomy.
        tables: The views of each concept kind (``"skills"``, ``"occupations"``).
        cache: The cached vectors of the views.
        skills: The skills' index.
        occupations: The occupations' index.
        fallback_used: The default model was unavailable and the bundled one stands in.
        fallback_reason: Why ("" when no fallback).
        multilingual_model: The model that reads texts in the taxonomy's other languages
            when ``embedder`` reads only the primary one (``None``: ``embedder`` reads all).
        assemble_multilingual: Assembles that model's parts (called on first need: a text
            in another language), with the same taxonomy, folders and options.
        glossaries: English glosses of the other languages, for ``embedder`` to read them
            by (with a multilingual model beside it; ``None`` otherwise).
    """

    embedder: Embedder
    taxonomy: Taxonomy
    tables: Mapping[str, ViewTable]
    cache: CachedVectors
    skills: ConceptIndex
    occupations: ConceptIndex
    fallback_used: bool = False
    fallback_reason: str = ""
    multilingual_model: str | None = None
    assemble_multilingual: Callable[[], Assembly] | None = None
    glossaries: Glossaries | None = None


def _labels(concepts: Iterable[Skill | Occupation], language: str | None = None) -> list[tuple[int, str]]:
    """``(concept index, label)`` of every label: the primary ones, or those in ``language``."""
    if language is None:
        return [(i, label) for i, c in enumerate(concepts) for label in c.all_labels if label]
    out = []
    for i, concept in enumerate(concepts):
        translation = concept.translations.get(language)
        if translation is not None:
            out += [(i, label) for label in (translation.preferred_label, *translation.alt_labels) if label]
    return out


def label_languages(taxonomy: Taxonomy) -> tuple[str, ...]:
    """The languages whose labels are matched: the primary one first, then every language
    the taxonomy has labels in."""
    return (PRIMARY_LANGUAGE, *sorted(set(taxonomy.languages) - {PRIMARY_LANGUAGE, taxonomy.language}))


def cache_ready(
    embedder: Embedder,
    taxonomy: Taxonomy,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    dtype: Literal["float16", "float32"] = "float16",
) -> bool:
    """Whether ``embedder``'s embedding cache for ``taxonomy`` is on disk (no build needed)."""
    store = EmbeddingCache(cache_subdir(EMBEDDINGS_DIR, cache_dir))
    tables = build_views(taxonomy, multilingual=model_spec(embedder.model_id).multilingual)
    return _cache_on_disk(store, embedder, taxonomy, tables, dtype) is True


def _cache_on_disk(
    cache: EmbeddingCache,
    embedder: Embedder,
    taxonomy: Taxonomy,
    tables: Mapping[str, ViewTable],
    dtype: Literal["float16", "float32"],
) -> bool | None:
    """Whether the cache of this configuration has been written; ``None``: its key cannot be
    computed here (an unusual embedder: ``load_or_build`` decides and reports)."""
    try:
        key = cache.key_for(embedder, taxonomy, tables, dtype=dtype)
    except Exception:  # noqa: BLE001 - only a hint
        return None
    return (cache.path_for(key) / "manifest.json").is_file()


def _cache_phase(
    cache: EmbeddingCache,
    embedder: Embedder,
    taxonomy: Taxonomy,
    tables: Mapping[str, ViewTable],
    dtype: Literal["float16", "float32"],
) -> str:
    """Whether the embedding cache will be loaded or built (building takes minutes)."""
    model = embedder.model_id
    found = _cache_on_disk(cache, embedder, taxonomy, tables, dtype)
    if found is None:
        return f"loading or building the embedding cache of {model}"
    if found:
        return f"loading the embedding cache of {model}"
    return (
        f"{BUILDING_PHASE} of {model} for ESCO {taxonomy.version} (first run "
        "with this model and taxonomy: this takes minutes; progress in the log)"
    )


def _build_progress(model: str, on_phase: Phase | None) -> Progress | None:
    """Passes the build's progress to ``on_phase`` (a server's ``/health``), every few seconds."""
    if on_phase is None:
        return None
    last = [0.0]

    def progress(done: int, total: int, seconds_left: float | None) -> None:
        now = time.monotonic()
        if now - last[0] < _PROGRESS_SECONDS and done < total:
            return
        last[0] = now
        left = f", about {describe_duration(seconds_left)} left" if seconds_left is not None else ""
        on_phase(f"{BUILDING_PHASE} of {model}: {done:,} of {total:,} texts ({done / total:.0%}){left}")

    return progress


def choose_multilingual_model(
    spec: ModelSpec, taxonomy: Taxonomy, requested: str | None = AUTO, *, by_name: bool = True
) -> str | None:
    """The model that reads texts in the taxonomy's other languages beside the model of
    ``spec`` (see :func:`assemble`); ``None`` when that model reads them itself.

    Args:
        spec: The main model's registry entry.
        taxonomy: The taxonomy (its label languages).
        requested: ``"auto"``, a model name, or ``None``.
        by_name: The main model was loaded by name (not handed over ready-made).
    """
    if spec.multilingual or len(label_languages(taxonomy)) < 2:
        return None  # the model reads every language, or there is no other one
    if requested == AUTO:
        automatic = by_name and spec.known and spec.name != USE_MODEL
        return USE_MODEL if automatic else None
    return requested


def assemble(
    *,
    model: str | None = None,
    device: str | None = None,
    backend: Backend = "torch",
    embedder: Embedder | None = None,
    loaded: LoadedModel | None = None,
    taxonomy: Taxonomy | None = None,
    esco_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    dtype: Literal["float16", "float32"] = "float16",
    show_progress: bool = True,
    on_phase: Phase | None = None,
    multilingual_model: str | None = AUTO,
) -> Assembly:
    """Load (or build once) everything an extractor needs.

    Args:
        model: A model name or folder; ``None``: the default with fallback to the bundled
            one. Ignored when ``embedder`` or ``loaded`` is given.
        device: The model's device; ``None`` picks cuda, then mps, then cpu.
        backend: ``"torch"``, ``"onnx"`` or ``"onnx-int8"``.
        embedder: A ready embedder.
        loaded: A model loaded by :func:`~esco_skill_extractor.embedding.load_embedder`
            (keeps its fallback information).
        taxonomy: A loaded taxonomy; default: ``esco_dir`` or the built-in ESCO.
        esco_dir: A folder of ESCO CSVs, when ``taxonomy`` is not given.
        cache_dir: The cache folder; default: the user cache folder.
        dtype: Precision of cached concept vectors.
        show_progress: Progress bar while building the embedding cache.
        on_phase: Called with a readable phase ("loading the model ...") at each step.
        multilingual_model: The model for texts in the taxonomy's other languages when the
            model reads only English: ``"auto"`` (the default) picks the bundled multilingual
            Universal Sentence Encoder for a registered English-only model loaded by name (not
            for a ready ``embedder``); a name picks that model; ``None`` lets the model read
            every language. It is loaded when the first text in another language arrives.

    Returns:
        The parts, ready to score.
    """

    def report(phase: str) -> None:
        logger.info("%s", phase)
        if on_phase is not None:
            on_phase(phase)

    if embedder is None:
        if loaded is None:
            from ..embedding import load_embedder

            report(f"loading the model {model or '(default)'}")
            loaded = load_embedder(model, device=device, backend=backend, cache_dir=cache_dir)
        embedder = loaded.embedder
    if taxonomy is None:
        report("loading the ESCO taxonomy")
        taxonomy = load_taxonomy(esco_dir, cache_dir=cache_dir)
    tables = build_views(taxonomy, multilingual=model_spec(embedder.model_id).multilingual)
    store = EmbeddingCache(cache_subdir(EMBEDDINGS_DIR, cache_dir))
    report(_cache_phase(store, embedder, taxonomy, tables, dtype))
    vectors = store.load_or_build(
        embedder,
        taxonomy,
        tables,
        dtype=dtype,
        show_progress=show_progress,
        on_progress=_build_progress(embedder.model_id, on_phase),
    )
    report("loading the lexical indexes")
    lexical_root = cache_subdir(LEXICAL_DIR, cache_dir)
    indexes = {}
    for name, concepts, bare_variants in (
        ("skills", list(taxonomy.skills.values()), True),
        ("occupations", list(taxonomy.occupations.values()), False),
    ):
        labels = _labels(concepts)
        primary = lexical_index(len(concepts), labels, bare_variants=bare_variants, root=lexical_root)
        lazy = {
            language: functools.partial(
                lexical_index,
                len(concepts),
                _labels(concepts, language),
                bare_variants=bare_variants,
                root=lexical_root,
                language=language,
            )
            for language in label_languages(taxonomy)[1:]
        }
        indexes[name] = ConceptIndex(
            tables[name],
            vectors.vectors[name],
            labels,
            bare_variants=bare_variants,
            lexical=primary,
            lazy_lexical=lazy,
        )
    multilingual_model = choose_multilingual_model(
        model_spec(embedder.model_id), taxonomy, multilingual_model, by_name=loaded is not None
    )
    other_taxonomy = taxonomy
    factory = None
    if multilingual_model is not None:
        name = multilingual_model

        def factory() -> Assembly:
            return assemble(
                model=name,
                device=device,
                taxonomy=other_taxonomy,
                cache_dir=cache_dir,
                dtype=dtype,
                show_progress=show_progress,
                on_phase=on_phase,
                multilingual_model=None,
            )

    return Assembly(
        embedder=embedder,
        taxonomy=taxonomy,
        tables=tables,
        cache=vectors,
        skills=indexes["skills"],
        occupations=indexes["occupations"],
        fallback_used=loaded.fallback_used if loaded is not None else False,
        fallback_reason=loaded.fallback_reason if loaded is not None else "",
        multilingual_model=multilingual_model,
        assemble_multilingual=factory,
        glossaries=Glossaries(taxonomy, lexical_root) if factory is not None else None,
    )
