"""Extraction on a Ray cluster: many workers, each holding one extractor, same records.

Two ways in, one worker class (:class:`ExtractorActor`):

* :func:`extract_dataset` for a Ray Dataset: ``map_batches`` over a pool of actors, which
  adds ``error``, ``skills`` and ``occupations`` columns (the Arrow types of Parquet output).
* :class:`ExtractorPool` for a stream of batches whose results come back in input order
  (the CLI's ``extract --engine ray``, which reads and writes records as the local engine
  does, so ids, formats and ``--resume`` are the same).

Each actor loads the model, the taxonomy and the embedding cache once. The cache is
prepared once, in the driver, before any actor starts (:func:`prepare_cache`): loaded, or
built. When the cluster has nodes besides the driver's, the driver also exports it to an
archive (``cache export``'s format, checksummed) and puts it into Ray's object store, with
the cache of the model that reads the taxonomy's other languages (built in the driver if
need be); an actor whose cache folder lacks one imports its archive instead of building. Every actor then
checks that it scores with the very cache the driver prepared (same key: model, taxonomy,
recipe, dtype, backend), so no node silently uses another model.

Failures: an actor that dies (a killed process, a lost node) is restarted by Ray and the
batches it held are sent again (``max_restarts``/``max_task_retries``); the pool hands out
each batch's results once, in order, so nothing is lost or repeated. An actor that keeps
dying ends the run with :class:`~esco_skill_extractor.errors.ClusterError`.

Ray is imported by these functions only, never when the package is imported; it is an
extra: ``pip install 'esco-skill-extractor[ray]'``.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .cache import EmbeddingCache
from .embedding import Backend, load_embedder
from .errors import ClusterError, EscoError, InputError
from .extraction import SkillExtractor
from .extraction.assembly import AUTO, assemble
from .paths import EMBEDDINGS_DIR, cache_subdir
from .schema import occupations_type, skills_type
from .taxonomy import load_taxonomy
from .types import Extraction

__all__ = [
    "RAY_HINT",
    "ExtractorActor",
    "ExtractorPool",
    "ExtractorSpec",
    "PreparedCache",
    "Task",
    "extract_dataset",
    "prepare_cache",
    "require_ray",
    "worker_resources",
]

logger = logging.getLogger(__name__)

RAY_HINT = "pip install 'esco-skill-extractor[ray]'"
RESTARTS = 3  # times one actor may die and be restarted before the run fails
TASK_RETRIES = 3  # times a batch is sent again after its actor died
_IN_FLIGHT = 2  # batches queued per actor: one running, the next ready to start
_COLUMNS = ("error", "skills", "occupations")

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")
#: Work that a worker runs with its extractor: ``(extractor, options, payload) -> result``.
Task = Callable[[SkillExtractor, dict[str, Any], P], R]


def require_ray() -> Any:
    """Import Ray, or fail with an install hint."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"the Ray engine needs Ray: {RAY_HINT}") from None
    return ray


@dataclass(frozen=True)
class ExtractorSpec:
    """How each worker builds its extractor; it travels to the workers, so it holds names
    and paths, not loaded objects.

    Attributes:
        model: A model name or folder (``None``: the default, with fallback to the bundled
            one); it must load on every node (bundled, in the node's model cache, or a
            folder every node can read).
        device: ``None``: the actor's GPU when Ray gave it one, else the CPU.
        backend: ``"torch"``, ``"onnx"`` or ``"onnx-int8"``.
        esco_dir: A folder of ESCO CSVs every node can read (``None``: the built-in ESCO).
        esco_language: The primary language of those files.
        cache_dir: The cache folder on each node (``None``: the node's user cache folder).
        skills_threshold: Minimum skill score (``None``: the model's default).
        occupation_threshold: Minimum occupation score (``None``: the model's default).
        segment_cache_size: Sentences whose results each actor remembers; 0 disables.
        multilingual_model: The model for texts in the taxonomy's other languages
            (``"auto"``: the bundled multilingual one when ``model`` reads only English;
            ``None``: ``model`` reads every text).
    """

    model: str | None = None
    device: str | None = None
    backend: Backend = "torch"
    esco_dir: str | None = None
    esco_language: str = "en"
    cache_dir: str | None = None
    skills_threshold: float | None = None
    occupation_threshold: float | None = None
    segment_cache_size: int = 10_000
    multilingual_model: str | None = AUTO

    def build(self) -> SkillExtractor:
        """The extractor, assembled as the CLI assembles its own (same parts, same results)."""
        loaded = load_embedder(self.model, device=self.device, backend=self.backend, cache_dir=self.cache_dir)
        taxonomy = load_taxonomy(self.esco_dir, language=self.esco_language, cache_dir=self.cache_dir)
        parts = assemble(
            loaded=loaded,
            taxonomy=taxonomy,
            cache_dir=self.cache_dir,
            show_progress=False,
            multilingual_model=self.multilingual_model,
        )
        return SkillExtractor.from_assembly(
            parts,
            self.skills_threshold,
            self.occupation_threshold,
            segment_cache_size=self.segment_cache_size,
        )


@dataclass(frozen=True)
class PreparedCache:
    """The embedding caches the driver prepared.

    Attributes:
        digest: The model's cache key digest; every actor checks that its own cache has it.
        archives: ``()``, or ``(digest, object-store reference)`` of each cache shipped: the
            model's and, when another model reads the taxonomy's other languages, that
            one's (references in a tuple, so that Ray hands actors the reference and they
            fetch the bytes only when they need them).
        size: The archives' size in bytes (0 when nothing is shipped).
    """

    digest: str
    archives: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    size: int = 0


def prepare_cache(spec: ExtractorSpec, *, ship: bool | None = None) -> PreparedCache:
    """Load or build the embedding caches once, in the driver, and ship them when needed.

    Args:
        spec: The workers' extractor.
        ship: Put the caches' archives into the object store for nodes that lack them;
            ``None``: when the cluster has more than one node (Ray must be initialised).
            Shipping also prepares the cache of the model for the taxonomy's other
            languages (built here if need be), so that no node builds one of its own.

    Returns:
        What the actors need to find (or install) the same caches.
    """
    ray = require_ray()
    extractor = spec.build()
    digest = extractor.cache.key.digest()
    if ship is None:
        ship = sum(1 for node in ray.nodes() if node.get("Alive")) > 1
    if not ship:
        return PreparedCache(digest)
    archives = []
    size = 0
    for cached in extractor.embedding_caches(every_language=True):
        name = cached.key.digest()
        with tempfile.TemporaryDirectory(prefix="esco-ship-") as folder:
            file = EmbeddingCache(cached.path.parent).export(cached.path, Path(folder) / f"{name}.tar")
            data = file.read_bytes()
        logger.info("embedding cache %s shipped through the object store (%.1f MB)", name, len(data) / 1e6)
        archives.append((name, ray.put(data)))
        size += len(data)
    return PreparedCache(digest, tuple(archives), size)


def _install_cache(spec: ExtractorSpec, prepared: PreparedCache) -> None:
    """Import the shipped archives whose caches this node's cache folder lacks."""
    root = cache_subdir(EMBEDDINGS_DIR, spec.cache_dir)
    for digest, reference in prepared.archives:
        if (root / digest / "manifest.json").is_file():
            continue
        data = require_ray().get(reference)
        with tempfile.TemporaryDirectory(prefix="esco-ship-") as folder:
            file = Path(folder) / f"{digest}.tar"
            file.write_bytes(data)
            EmbeddingCache(root).import_(file)
        logger.info("embedding cache %s imported from the object store into %s", digest, root)


class ExtractorActor:
    """One worker: an extractor loaded once, then batch after batch.

    Ray Data instantiates it for :func:`extract_dataset` (``__call__`` on Arrow batches);
    :class:`ExtractorPool` runs it as a Ray actor (``extract`` on lists of texts).

    Args:
        spec: How to build the extractor.
        prepared: The driver's cache (see :func:`prepare_cache`).
        text_column: The text column of dataset batches.
        max_results: At most this many skills and occupations per text.
        language: The texts' language (``None``: detected per text).
    """

    def __init__(
        self,
        spec: ExtractorSpec,
        prepared: PreparedCache,
        *,
        text_column: str = "text",
        max_results: int | None = None,
        language: str | None = None,
    ) -> None:
        self._text_column = text_column
        self._options: dict[str, Any] = {"max_results": max_results, "language": language}
        self._failure: EscoError | None = None
        try:
            _install_cache(spec, prepared)
            self._extractor = spec.build()
            found = self._extractor.cache.key.digest()
            if found != prepared.digest:
                raise ClusterError(
                    f"a worker's embedding cache ({found}, {self._extractor.cache.key.describe()}) is "
                    f"not the driver's ({prepared.digest}): install the same package, model and "
                    "ESCO files on every node"
                )
        except EscoError as exc:  # reported by ready(), as the error it is (not a dead actor)
            self._failure = exc

    def ready(self) -> None:
        """Raise what went wrong while loading, if anything."""
        if self._failure is not None:
            raise self._failure

    def extract(self, texts: list[str]) -> list[Extraction]:
        """The extractions of ``texts``, in order."""
        self.ready()
        return self._extractor.extract(texts, **self._options)

    def apply(self, task: Task[P, R], payload: P) -> R:
        """``task(extractor, options, payload)``: work that reads and writes its own data
        with this worker's extractor (``options``: ``max_results`` and ``language``)."""
        self.ready()
        return task(self._extractor, dict(self._options), payload)

    def __call__(self, batch: Any) -> Any:
        """A pyarrow batch with ``error``, ``skills`` and ``occupations`` columns added."""
        import pyarrow as pa  # type: ignore[import-untyped]

        if self._text_column not in batch.column_names:
            raise InputError(
                f"the dataset has no column {self._text_column!r} (columns: "
                f"{', '.join(batch.column_names)}); name it with text_column="
            )
        texts: list[str] = []
        errors: list[str | None] = []
        for value in batch.column(self._text_column).to_pylist():
            good = value is None or isinstance(value, str)
            texts.append(value if isinstance(value, str) else "")
            errors.append(None if good else f"{self._text_column!r} is {type(value).__name__}, not text")
        results = self.extract(texts)
        kept = [r if e is None else None for r, e in zip(results, errors, strict=True)]
        columns = {
            "error": pa.array(errors, pa.string()),
            "skills": pa.array(
                [[m.to_dict() for m in r.skills] if r is not None else [] for r in kept], skills_type()
            ),
            "occupations": pa.array(
                [[m.to_dict() for m in r.occupations] if r is not None else [] for r in kept],
                occupations_type(),
            ),
        }
        batch = batch.drop_columns([name for name in _COLUMNS if name in batch.column_names])
        for name, values in columns.items():
            batch = batch.append_column(name, values)
        return batch


def worker_resources(
    workers: int | None, num_cpus: float = 1.0, num_gpus: float | None = None, *, strict: bool = True
) -> tuple[int, float, float]:
    """``(workers, cpus, gpus)`` per actor, checked against the cluster (Ray initialised).

    ``num_gpus=None`` gives each actor one GPU when the cluster has GPUs, else none;
    ``workers=None`` is one actor per GPU, else one per ``num_cpus`` CPUs.

    Args:
        workers: Actors wanted.
        num_cpus: CPUs per actor.
        num_gpus: GPUs per actor.
        strict: Refuse more actors than the cluster holds now (else warn: an autoscaling
            cluster may grow to hold them).

    Raises:
        ClusterError: ``strict`` and the cluster cannot hold that many actors (they would
            wait forever).
    """
    ray = require_ray()
    total = ray.cluster_resources()
    cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
    if num_gpus is None:
        num_gpus = 1.0 if gpus >= 1 else 0.0
    if workers is None:
        workers = int(gpus // num_gpus) if num_gpus else int(cpus // num_cpus)
    if workers < 1 or workers * num_cpus > cpus or workers * num_gpus > gpus:
        message = (
            f"the cluster has {cpus:g} CPUs and {gpus:g} GPUs: {max(workers, 1)} worker(s) of "
            f"{num_cpus:g} CPU and {num_gpus:g} GPU do not fit"
        )
        if strict or workers < 1:
            raise ClusterError(f"{message}; use fewer workers or add nodes")
        logger.warning("%s now; they wait for the cluster to grow", message)
    return workers, num_cpus, num_gpus


class ExtractorPool:
    """Ray actors holding one extractor each; batches go to the least busy actor and their
    results come back in input order, each once.

    Args:
        spec: How each actor builds its extractor.
        prepared: The driver's cache (:func:`prepare_cache`).
        workers: Number of actors.
        num_cpus: CPUs per actor (Ray sets the actor's thread count to it).
        num_gpus: GPUs per actor (fractions share a GPU).
        max_results: At most this many skills and occupations per text.
        language: The texts' language (``None``: detected per text).

    Raises:
        ClusterError: an actor keeps dying; the error names the cause.

    Example:
        >>> with ExtractorPool(spec, prepare_cache(spec), workers=2) as pool:  # doctest: +SKIP
        ...     for key, results in pool.imap([("a", ["Python developer"])]):
        ...         print(key, results[0].skills[0].label)
    """

    def __init__(
        self,
        spec: ExtractorSpec,
        prepared: PreparedCache,
        *,
        workers: int,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        max_results: int | None = None,
        language: str | None = None,
    ) -> None:
        self._ray = require_ray()
        self.name = f"esco-extract-{secrets.token_hex(4)}"
        remote = self._ray.remote(ExtractorActor)
        self._actors = [
            remote.options(
                name=f"{self.name}-{i}",
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                max_restarts=RESTARTS,
                max_task_retries=TASK_RETRIES,
            ).remote(spec, prepared, max_results=max_results, language=language)
            for i in range(workers)
        ]
        try:
            self._get([actor.ready.remote() for actor in self._actors])
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the actors."""
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []

    def _get(self, refs: Any) -> Any:
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(refs)
        except exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, EscoError):
                raise cause from None
            raise ClusterError(f"a worker failed: {cause!r}") from None
        except exceptions.RayActorError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClusterError(
                f"a worker died more than {RESTARTS} times ({reason}); the records written so far are kept"
            ) from None

    def imap(self, batches: Iterable[tuple[T, list[str]]]) -> Iterator[tuple[T, list[Extraction]]]:
        """``(key, extractions)`` of each ``(key, texts)``, in input order.

        Batches are read lazily: at most two per actor are in flight.
        """
        return self._imap(batches, lambda actor, texts: actor.extract.remote(texts))

    def imap_apply(self, task: Task[P, R], payloads: Iterable[tuple[T, P]]) -> Iterator[tuple[T, R]]:
        """``(key, task(extractor, options, payload))`` of each ``(key, payload)``, in input
        order, each run once by one of the actors (see :meth:`ExtractorActor.apply`).

        ``task`` must be importable on every node (a module-level function of an installed
        package); payloads are read lazily, at most two per actor in flight.
        """
        return self._imap(payloads, lambda actor, payload: actor.apply.remote(task, payload))

    def _imap(
        self, items: Iterable[tuple[T, Any]], send: Callable[[Any, Any], Any]
    ) -> Iterator[tuple[T, Any]]:
        load = [0] * len(self._actors)
        pending: deque[tuple[T, Any, int]] = deque()

        def finished() -> tuple[T, Any]:
            key, ref, index = pending.popleft()
            results = self._get(ref)
            load[index] -= 1
            return key, results

        for key, item in items:
            while len(pending) >= _IN_FLIGHT * len(self._actors):
                yield finished()
            index = min(range(len(load)), key=load.__getitem__)
            pending.append((key, send(self._actors[index], item), index))
            load[index] += 1
        while pending:
            yield finished()


def extract_dataset(
    ds: Any,
    *,
    text_column: str = "text",
    workers: int | None = None,
    batch_size: int = 32,
    num_cpus: float = 1.0,
    num_gpus: float | None = None,
    ship_cache: bool | None = None,
    max_results: int | None = None,
    language: str | None = None,
    **extractor_options: Any,
) -> Any:
    """Skills and occupations of every row of a Ray Dataset, on a pool of actors.

    The embedding cache is loaded (or built) here, in the driver, before any actor starts
    (:func:`prepare_cache`); the dataset itself is lazy, as Ray Datasets are.

    Args:
        ds: A ``ray.data.Dataset`` with a text column.
        text_column: Its name. Null texts count as empty; other non-text values give a row
            with ``error`` set and no matches.
        workers: Actors in the pool (``None``: one per GPU, else one per ``num_cpus`` CPUs
            but one, which Ray Data's read and write tasks need).
        batch_size: Rows per batch.
        num_cpus: CPUs per actor.
        num_gpus: GPUs per actor (``None``: one when the cluster has GPUs, else none).
        ship_cache: Ship the cache through the object store (``None``: when the cluster
            has more than one node).
        max_results: At most this many skills and occupations per row.
        language: The texts' language (``None``: detected per text).
        **extractor_options: :class:`ExtractorSpec` fields: ``model``, ``device``,
            ``backend``, ``esco_dir``, ``esco_language``, ``cache_dir``,
            ``skills_threshold``, ``occupation_threshold``, ``segment_cache_size``,
            ``multilingual_model``.

    Returns:
        The dataset with ``error``, ``skills`` and ``occupations`` columns added (replaced
        if present), typed as in Parquet output. Row order follows Ray Data's
        ``preserve_order`` setting.

    Example:
        >>> import ray
        >>> ds = ray.data.read_parquet("ads.parquet")  # doctest: +SKIP
        >>> out = extract_dataset(ds, text_column="body", model="all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> out.write_parquet("skills/")  # doctest: +SKIP
    """
    ray = require_ray()
    paths = {k: str(v) for k, v in extractor_options.items() if k in ("esco_dir", "cache_dir") and v}
    options: dict[str, Any] = extractor_options | paths
    try:
        spec = ExtractorSpec(**options)
    except TypeError as exc:
        raise InputError(f"unknown extractor option: {exc}") from None
    schema = ds.schema(fetch_if_missing=False)
    if schema is not None and text_column not in schema.names:
        raise InputError(
            f"the dataset has no column {text_column!r} (columns: {', '.join(schema.names)}); "
            "name it with text_column="
        )
    if workers is None:
        count, _, gpus = worker_resources(None, num_cpus, num_gpus, strict=False)
        workers = count if gpus else max(1, count - 1)
    workers, num_cpus, gpus = worker_resources(workers, num_cpus, num_gpus, strict=False)
    prepared = prepare_cache(spec, ship=ship_cache)
    return ds.map_batches(
        ExtractorActor,
        fn_constructor_args=(spec, prepared),
        fn_constructor_kwargs={"text_column": text_column, "max_results": max_results, "language": language},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=num_cpus,
        num_gpus=gpus,
    )
