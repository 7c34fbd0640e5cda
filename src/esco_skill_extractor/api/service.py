"""The server's one extractor: loaded once in the background, then shared by all requests.

Loading (taxonomy, model, embedding cache) runs in a thread started by the app's lifespan,
so the server answers at once: ``GET /`` and ``GET /health`` tell what it is doing, and the
endpoints that need the model answer 503 with a readable ``detail`` until it is ready.
Endpoints that need only the taxonomy (details, categories) work as soon as it is loaded.

Every call into the model runs on one worker thread (never on the event loop, and never
two at once: sentence-transformers models and fast tokenizers are not safe to call from
several threads, and on CPU one call using every core is as fast as two sharing them).
Requests queue for it; each round the worker takes a slice of every waiting request (at
most 16 texts or 50,000 characters each, round-robin, so that a large batch cannot starve
small requests) and extracts all texts that share the same options (thresholds,
language ...) in one call, so concurrent requests are batched: one forward pass over many
sentences costs much less than one per request. The wait is measured
(``esco_model_wait_seconds``).

Back-pressure: the worker measures its throughput (characters per second); a request that
would find more than ``ESCO_MAX_QUEUE_SECONDS`` of work ahead of it is refused at once with
503 and ``Retry-After``. A request that is cancelled (its client left, its deadline
passed: :class:`~.middleware.DeadlineMiddleware`) has its remaining slices dropped; at
shutdown the queue is emptied with 503s and the worker ends after its current call.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from fastapi import HTTPException

from ..__about__ import __version__
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
_BATCH_TEXTS = 64  # most texts extracted in one round
_BATCH_CHARS = 200_000  # most characters extracted in one round (a longer text goes alone)
_SLICE_TEXTS = 16  # most texts of one request in a round ...
_SLICE_CHARS = 50_000  # ... and most characters (at least one text)
_TEXT_COST = 100  # characters a text costs besides its own (per-text work)
_LINGER = 0.01  # seconds a round waits for more requests when the last one was a batch
_RATE_WEIGHT = 0.3  # weight of the newest measurement in the throughput's moving average


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
    taken: int = 0  # texts handed to the model so far
    results: list[Any] = field(default_factory=list)
    started: float | None = None  # when its first slice ran

    @property
    def cost(self) -> int:
        """The work left, in characters (each text counts at least ``_TEXT_COST``)."""
        return (
            sum(len(t) + _TEXT_COST for t in self.texts[self.taken :]) if self.options else _cost(self.texts)
        )

    @property
    def cancelled(self) -> bool:
        return self.future.done()  # cancelled by its request, or failed


def _cost(texts: Sequence[str]) -> int:
    return sum(len(t) + _TEXT_COST for t in texts)


@dataclass(eq=False)
class _Slice:
    job: _Job
    texts: list[str]


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
        self._loader = loader
        self._thread: threading.Thread | None = None
        self._pending: collections.deque[_Job] = collections.deque()
        self._ready_jobs = threading.Condition()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self.rate: float | None = None  # characters per second the model works through
        metrics.info.info({"version": __version__, "model": self.model_name, "device": ""})
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
        """Start loading in a background thread (once; nothing to do when already ready);
        after a :meth:`stop`, accept work again (an app's lifespan may run more than once)."""
        with self._ready_jobs:
            self._stopping = False
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
            if self._loader is None:
                raise RuntimeError("the service was given neither an extractor nor a loader")
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
            {"version": __version__, "model": extractor.model_name, "device": extractor.device}
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
        with self._ready_jobs:
            if self._stopping:
                raise HTTPException(
                    503,
                    "The server is shutting down; try again shortly.",
                    headers={"Retry-After": _RETRY_AFTER},
                )
            self._admit(job)
            self._pending.append(job)
            self._ready_jobs.notify()
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.future.cancel()  # its remaining slices are dropped
            raise

    def queued_seconds(self) -> float | None:
        """The work waiting for the model, in seconds at the measured rate (None: unknown)."""
        if self.rate is None:
            return None
        with self._ready_jobs:
            return sum(job.cost for job in self._pending if not job.cancelled) / self.rate

    def _admit(self, job: _Job) -> None:
        """503 at once when the queue ahead of ``job`` is too long (under the lock)."""
        if self.rate is None or not self._pending:
            return
        ahead = sum(j.cost for j in self._pending if not j.cancelled) / self.rate
        limit = self.settings.max_queue_seconds
        if ahead + job.cost / self.rate > limit:
            self.metrics.refused.labels(job.operation).inc()
            retry = max(1, min(60, math.ceil(ahead)))
            raise HTTPException(
                503,
                f"The server is busy: about {ahead:.0f} s of work is queued ahead of this request "
                f"and the limit is {limit:g} s (ESCO_MAX_QUEUE_SECONDS). Try again in {retry} s"
                + (", or send fewer or shorter texts." if job.cost / self.rate > limit / 2 else "."),
                headers={"Retry-After": str(retry)},
            )

    def stop(self, timeout: float = 10.0) -> None:
        """The app's shutdown: queued work is answered 503, the model thread ends after its
        current call (waited for up to ``timeout`` seconds)."""
        with self._ready_jobs:
            self._stopping = True
            dropped = list(self._pending)
            self._pending.clear()
            self._ready_jobs.notify_all()
        for job in dropped:
            _fail(job, HTTPException(503, "The server is shutting down; try again shortly."))
        worker = self._worker
        if worker is not None and worker.is_alive():
            worker.join(timeout)

    def _start_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="esco-model", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        busy = False
        while True:
            with self._ready_jobs:
                while not self._pending and not self._stopping:
                    self._ready_jobs.wait()
                if self._stopping:
                    return
                if busy:
                    # Under load (the last round had several requests) wait a moment for
                    # more: clients answered together come back together.
                    self._ready_jobs.wait(_LINGER)
                slices = self._take_round()
            busy = len({id(s.job) for s in slices}) > 1
            if not slices:
                continue
            try:
                self._process(slices)
            except Exception as exc:  # noqa: BLE001 - a bug here must not hang requests
                logger.exception("the model thread failed")
                for piece in slices:
                    _fail(piece.job, exc)

    def _take_round(self) -> list[_Slice]:
        """One slice of each waiting request, round-robin, within the round's budget (under
        the lock). Requests the budget did not reach go first next round; those served and
        not finished go behind them."""
        slices: list[_Slice] = []
        texts = chars = 0
        waiting = list(self._pending)
        self._pending.clear()
        served: list[_Job] = []  # not finished: after those this round did not reach
        for job in waiting:
            if job.cancelled:
                continue
            if slices and (texts >= _BATCH_TEXTS or chars >= _BATCH_CHARS):
                self._pending.append(job)
                continue
            if job.options is None:  # any other use of the model: whole, alone in its slice
                piece = _Slice(job, job.texts)
                job.taken = len(job.texts)
            else:
                taken = job.taken
                end = taken + 1
                size = len(job.texts[taken]) + _TEXT_COST
                while (
                    end < len(job.texts)
                    and end - taken < min(_SLICE_TEXTS, _BATCH_TEXTS - texts)
                    and size + len(job.texts[end]) + _TEXT_COST <= min(_SLICE_CHARS, _BATCH_CHARS - chars)
                ):
                    size += len(job.texts[end]) + _TEXT_COST
                    end += 1
                piece = _Slice(job, job.texts[taken:end])
                job.taken = end
            slices.append(piece)
            texts += len(piece.texts)
            chars += _cost(piece.texts)
            if job.taken < len(job.texts):
                served.append(job)
        self._pending.extend(served)
        return slices

    def _process(self, slices: list[_Slice]) -> None:
        extractor = self.extractor
        assert extractor is not None  # jobs are only queued once it is ready
        groups: dict[ExtractOptions, list[_Slice]] = {}
        for piece in slices:
            if piece.job.started is None:
                piece.job.started = time.perf_counter()
            if piece.job.options is not None:
                groups.setdefault(piece.job.options, []).append(piece)
        for options, group in groups.items():
            self._extract(extractor, options, group)
        for piece in slices:
            if piece.job.call is not None:
                self._call(extractor, piece.job)

    def _extract(self, extractor: SkillExtractor, options: ExtractOptions, group: list[_Slice]) -> None:
        group = [piece for piece in group if not piece.job.cancelled]
        if not group:
            return
        started = time.perf_counter()
        texts = [text for piece in group for text in piece.texts]
        try:
            results = extractor.extract(texts, **asdict(options))
        except Exception as exc:  # noqa: BLE001 - handed to the request(s)
            if len(group) > 1:  # find the culprit: the others still get their answers
                for piece in group:
                    self._extract(extractor, options, [piece])
                return
            _fail(group[0].job, exc)
            return
        seconds = time.perf_counter() - started
        self._measure(_cost(texts), seconds)
        self.metrics.observe_model("extract", seconds, len(texts))
        offset = 0
        for piece in group:
            job = piece.job
            job.results.extend(results[offset : offset + len(piece.texts)])
            offset += len(piece.texts)
            if len(job.results) == len(job.texts):
                self._finish(job, job.results)

    def _call(self, extractor: SkillExtractor, job: _Job) -> None:
        if job.cancelled:
            return
        started = time.perf_counter()
        assert job.call is not None
        try:
            result = job.call(extractor)
        except Exception as exc:  # noqa: BLE001 - handed to the request
            _fail(job, exc)
            return
        self.metrics.observe_model(job.operation, time.perf_counter() - started, len(job.texts))
        self._finish(job, result)

    def _measure(self, cost: int, seconds: float) -> None:
        if seconds <= 0:
            return
        sample = cost / seconds
        self.rate = sample if self.rate is None else (1 - _RATE_WEIGHT) * self.rate + _RATE_WEIGHT * sample

    def _finish(self, job: _Job, result: Any) -> None:
        started = job.started if job.started is not None else time.perf_counter()
        self.metrics.observe_job(
            job.operation,
            started - job.queued,
            len(job.texts),
            sum(len(split_sentences(t)) for t in job.texts),
            sum(len(t) for t in job.texts),
        )
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled meanwhile
            job.future.set_result(result)


def _fail(job: _Job, error: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        job.future.set_exception(error)
