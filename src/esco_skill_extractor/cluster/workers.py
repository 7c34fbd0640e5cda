"""The workers: Ray actors holding one extractor each, and the pool that feeds them in order."""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ..cache import EmbeddingCache
from ..errors import ClusterError, EscoError, InputError
from ..extraction import SkillExtractor
from ..paths import EMBEDDINGS_DIR, cache_subdir
from ..schema import occupations_type, skills_type
from ..types import Extraction
from .caches import ExtractorSpec, PreparedCache, require_ray

__all__ = ["ExtractorActor", "ExtractorPool", "Task", "worker_resources"]

logger = logging.getLogger(__name__)


RESTARTS = 3  # times one actor may die and be restarted before the run fails
TASK_RETRIES = 3  # times a batch is sent again after its actor died
_IN_FLIGHT = 2  # batches queued per actor: one running, the next ready to start
_COLUMNS = ("error", "skills", "occupations")

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")
#: Work that a worker runs with its extractor: ``(extractor, options, payload) -> result``.
Task = Callable[[SkillExtractor, dict[str, Any], P], R]


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
