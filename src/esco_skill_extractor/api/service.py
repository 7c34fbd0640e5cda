"""The server's one extractor: loaded once in the background, then shared by all requests.

Loading (taxonomy, model, embedding cache) runs in a thread started by the app's lifespan,
so the server answers at once: ``GET /`` and ``GET /health`` tell what it is doing, and the
endpoints that need the model answer 503 with a readable ``detail`` until it is ready.
Endpoints that need only the taxonomy (details, categories) work as soon as it is loaded.

Every call into the model runs on one worker thread (never on the event loop, and never
two at once: sentence-transformers models and fast tokenizers are not safe to call from
several threads, and on CPU one call using every core is as fast as two sharing them).
Requests queue for it; when the worker turns to the queue it takes everything waiting and
extracts all texts that share the same options (thresholds, language ...) in one call, so
concurrent requests are batched: one forward pass over many sentences costs much less than
one per request. The wait is measured (``esco_model_wait_seconds``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from fastapi import HTTPException

from ..errors import EscoError
from ..extraction.assembly import BUILDING_PHASE
from ..extraction.segmentation import split_sentences
from .metrics import Metrics

if TYPE_CHECKING:
    from ..extraction import SkillExtractor
    from ..settings import Settings
    from ..taxonomy import Taxonomy
    from ..types import Extraction

__all__ = ["ExtractOptions", "ExtractorService", "Loader", "State"]

logger = logging.getLogger(__name__)

State = Literal["loading", "healthy", "failed"]
Loader = Callable[["ExtractorService"], "SkillExtractor"]
T = TypeVar("T")

_RETRY_AFTER = "10"  # seconds, for 503 answers while loading
_BATCH_TEXTS = 64  # most texts extracted in one call
_BATCH_CHARS = 200_000  # most characters extracted in one call (a longer text goes alone)
_LINGER = 0.01  # seconds a round waits for more requests when the last one was a batch


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """The arguments of ``SkillExtractor.extract`` besides the texts; requests with equal
    options are extracted together."""

    skills_threshold: float | None  # None: the default of the model that reads the text
    occupations_threshold: float | None
    max_results: int | None
    language: str | None  # None: detected per text
    infer_occupations: bool = True


@dataclass(eq=False)
class _Job:
    operation: str
    texts: list[str]
    options: ExtractOptions | None  # a batchable extraction ...
    call: Callable[[SkillExtractor], Any] | None  # ... or any other use of the model
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    queued: float = field(default_factory=time.perf_counter)


def _chunks(jobs: list[_Job]) -> Iterator[list[_Job]]:
    chunk: list[_Job] = []
    texts = chars = 0
    for job in jobs:
        size = sum(len(t) for t in job.texts)
        if chunk and (texts + len(job.texts) > _BATCH_TEXTS or chars + size > _BATCH_CHARS):
            yield chunk
            chunk, texts, chars = [], 0, 0
        chunk.append(job)
        texts += len(job.texts)
        chars += size
    if chunk:
        yield chunk


class ExtractorService:
    """Owns the extractor: its loading state, and the one thread that runs the model.

    Args:
        settings: Where the model, taxonomy and cache come from, and the default thresholds.
        metrics: The app's metrics.
        extractor: A ready extractor (tests, embedding the API); skips loading.
        loader: Builds the extractor (default: from ``settings``); it may report progress
            with :meth:`set_phase` and publish the taxonomy early with :meth:`set_taxonomy`.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        extractor: SkillExtractor | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.state: State = "loading"
        self.phase = "starting"
        self.error = ""
        self.taxonomy: Taxonomy | None = None
        self.extractor: SkillExtractor | None = None
        self.standing_in_for: str | None = None  # the model whose cache is built meanwhile
        self.created = time.time()
        self.load_seconds: float | None = None
        self._loader = loader or load_from_settings
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        metrics.info.info({"version": _version(), "model": self.model_name, "device": ""})
        if extractor is not None:
            self._ready(extractor, 0.0)

    # -- identity ---------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The model in use, or the one being loaded."""
        if self.extractor is not None:
            return self.extractor.model_name
        return self.settings.model or "default (BAAI/bge-m3, else all-MiniLM-L6-v2)"

    @property
    def device(self) -> str | None:
        return self.extractor.device if self.extractor is not None else None

    @property
    def building_embeddings(self) -> bool:
        """Loading is building the embedding cache (minutes on a first run), while nothing or
        a stand-in answers."""
        loading = self.state == "loading" or self.standing_in_for is not None
        return loading and self.phase.startswith(BUILDING_PHASE)

    # -- loading ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start loading in a background thread (once; nothing to do when already ready)."""
        if self.state != "loading" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._load, name="esco-loader", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading ends (tests, benchmarks); ``True`` when ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state == "healthy"

    def set_phase(self, phase: str) -> None:
        """What loading is doing now, as ``/health`` shows it; logged too."""
        self.phase = phase
        logger.info("startup: %s", phase)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    def stand_in(self, extractor: SkillExtractor, building: str) -> None:
        """Answer with ``extractor`` while the cache of the model ``building`` is built; the
        extractor the loader returns takes over when it is ready."""
        self.standing_in_for = building
        self._ready(extractor, time.time() - self.created)
        logger.warning(
            "%s answers while the embedding cache of %s is built; %s takes over when it is ready",
            extractor.model_name,
            building,
            building,
        )

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            extractor = self._loader(self)
        except Exception as exc:  # noqa: BLE001 - reported by /health, never raised
            self.error = str(exc) if isinstance(exc, EscoError) else (f"{type(exc).__name__}: {exc}")
            self.phase = "failed"
            if self.standing_in_for is not None:  # the stand-in goes on answering
                self.error = f"{self.standing_in_for} could not be loaded: {self.error}"
                self.standing_in_for = None
                logger.error("%s; %s goes on answering", self.error, self.model_name)
                return
            self.state = "failed"
            logger.error(
                "the extractor could not be loaded: %s",
                self.error,
                exc_info=not isinstance(exc, EscoError),
            )
            return
        self._ready(extractor, time.perf_counter() - started)

    def _ready(self, extractor: SkillExtractor, seconds: float) -> None:
        if self.extractor is not None and self.standing_in_for is not None:
            self.standing_in_for = None  # the model takes over from its stand-in
        self.extractor = extractor
        self.taxonomy = extractor.taxonomy
        self.load_seconds = seconds
        self.phase = "ready"
        self.state = "healthy"
        self.metrics.ready.set(1)
        self.metrics.load_seconds.set(seconds)
        self.metrics.info.info(
            {"version": _version(), "model": extractor.model_name, "device": extractor.device}
        )
        if seconds:
            logger.info(
                "ready in %.1fs: %s on %s, ESCO %s (%d skills, %d occupations)",
                seconds,
                extractor.model_name,
                extractor.device,
                extractor.taxonomy.version,
                len(extractor.taxonomy.skills),
                len(extractor.taxonomy.occupations),
            )

    # -- access -----------------------------------------------------------------------------
    def require_extractor(self) -> SkillExtractor:
        """The extractor, or a 503 that says why there is none yet."""
        if self.extractor is not None:
            return self.extractor
        if self.state == "failed":
            raise HTTPException(
                503,
                f"The extractor could not be loaded: {self.error}. "
                "Fix the configuration and restart the server.",
            )
        raise HTTPException(
            503,
            f"The server is starting ({self.phase}); try again shortly. GET /health tells when it is ready.",
            headers={"Retry-After": _RETRY_AFTER},
        )

    def require_taxonomy(self) -> Taxonomy:
        """The taxonomy (available before the model), or a 503."""
        if self.taxonomy is not None:
            return self.taxonomy
        return self.require_extractor().taxonomy

    async def extract(
        self, operation: str, texts: Sequence[str], options: ExtractOptions
    ) -> list[Extraction]:
        """``extractor.extract(texts, **options)`` on the model thread, batched with other
        requests that have the same options."""
        self.require_extractor()
        if not texts:
            return []
        return await self._submit(_Job(operation, list(texts), options, None))  # type: ignore[no-any-return]

    async def run(self, operation: str, call: Callable[[SkillExtractor], T], texts: Sequence[str] = ()) -> T:
        """``call(extractor)`` on the model thread (not batched)."""
        self.require_extractor()
        return await self._submit(_Job(operation, list(texts), None, call))  # type: ignore[no-any-return]

    async def _submit(self, job: _Job) -> Any:
        self._start_worker()
        self._jobs.put(job)
        return await asyncio.wrap_future(job.future)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the model thread finish the queued work and end (the app's shutdown)."""
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._jobs.put(None)
            worker.join(timeout)

    def _start_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="esco-model", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        busy = False
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs, stop = [first], False
            # Everything waiting goes into this round. Under load (the last round had
            # several requests) wait a moment for more: clients answered together come
            # back together, and a round of one would leave the rest waiting a full round.
            linger = time.perf_counter() + (_LINGER if busy else 0.0)
            while True:
                try:
                    job = self._jobs.get(timeout=max(0.0, linger - time.perf_counter()))
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            busy = len(jobs) > 1
            running = [j for j in jobs if j.future.set_running_or_notify_cancel()]
            try:
                self._process(running)
            except Exception as exc:  # noqa: BLE001 - a bug here must not hang requests
                logger.exception("the model thread failed")
                for job in running:
                    if not job.future.done():
                        job.future.set_exception(exc)
            if stop:
                return

    def _process(self, jobs: list[_Job]) -> None:
        extractor = self.extractor
        assert extractor is not None  # jobs are only queued once it is ready
        groups: dict[ExtractOptions, list[_Job]] = {}
        for job in jobs:
            if job.options is not None:
                groups.setdefault(job.options, []).append(job)
        for options, group in groups.items():
            for chunk in _chunks(group):
                self._extract(extractor, options, chunk)
        for job in jobs:
            if job.call is not None:
                self._call(extractor, job)

    def _extract(self, extractor: SkillExtractor, options: ExtractOptions, chunk: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            results = extractor.extract([text for job in chunk for text in job.texts], **asdict(options))
        except Exception as exc:  # noqa: BLE001 - handed to the request(s)
            if len(chunk) > 1:  # find the culprit: the others still get their answers
                for job in chunk:
                    self._extract(extractor, options, [job])
                return
            chunk[0].future.set_exception(exc)
            return
        self._record("extract", chunk, started)
        offset = 0
        for job in chunk:
            job.future.set_result(results[offset : offset + len(job.texts)])
            offset += len(job.texts)

    def _call(self, extractor: SkillExtractor, job: _Job) -> None:
        started = time.perf_counter()
        assert job.call is not None
        try:
            result = job.call(extractor)
        except Exception as exc:  # noqa: BLE001 - handed to the request
            job.future.set_exception(exc)
            return
        self._record(job.operation, [job], started)
        job.future.set_result(result)

    def _record(self, operation: str, jobs: list[_Job], started: float) -> None:
        self.metrics.observe_model(
            operation, time.perf_counter() - started, sum(len(job.texts) for job in jobs)
        )
        for job in jobs:
            self.metrics.observe_job(
                job.operation,
                started - job.queued,
                len(job.texts),
                sum(len(split_sentences(t)) for t in job.texts),
                sum(len(t) for t in job.texts),
            )


def load_from_settings(service: ExtractorService) -> SkillExtractor:
    """Build the extractor the settings describe, reporting each step to ``service``."""
    from ..embedding import load_embedder
    from ..embedding.registry import BUNDLED_MODEL, model_spec
    from ..extraction import SkillExtractor
    from ..extraction.assembly import assemble, cache_ready
    from ..taxonomy import load_taxonomy

    settings = service.settings
    service.set_phase("loading the ESCO taxonomy")
    taxonomy = load_taxonomy(settings.data_dir, cache_dir=settings.cache_dir)
    service.set_taxonomy(taxonomy)  # taxonomy endpoints answer while the model loads
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    service.set_phase(f"loading the model {settings.model or '(default)'}")
    loaded = load_embedder(
        settings.model, device=settings.device, backend=settings.backend, cache_dir=settings.cache_dir
    )
    options: dict[str, Any] = {
        "device": settings.device,
        "backend": settings.backend,
        "taxonomy": taxonomy,
        "cache_dir": settings.cache_dir,
        "show_progress": settings.show_progress,
        "on_phase": service.set_phase,
        "multilingual_model": settings.multilingual_model,
    }
    model = loaded.embedder.model_id
    if (
        settings.stand_in
        and not model_spec(model).bundled
        and not cache_ready(loaded.embedder, taxonomy, cache_dir=settings.cache_dir)
    ):
        service.set_phase(
            f"loading the bundled model {BUNDLED_MODEL} to answer while {model}'s cache is built"
        )
        stand_in = assemble(model=BUNDLED_MODEL, **options)
        service.stand_in(
            SkillExtractor.from_assembly(stand_in, settings.skills_threshold, settings.occupation_threshold),
            model,
        )
    parts = assemble(loaded=loaded, **options)
    return SkillExtractor.from_assembly(parts, settings.skills_threshold, settings.occupation_threshold)


def _version() -> str:
    from ..__about__ import __version__

    return __version__
