"""The server's one extractor: loaded once in the background, then shared by all requests.

Loading (taxonomy, model, embedding cache) runs in a thread started by the app's lifespan,
so the server answers at once: ``GET /`` and ``GET /health`` tell what it is doing, and the
endpoints that need the model answer 503 with a readable ``detail`` until it is ready.
Endpoints that need only the taxonomy (details, categories) work as soon as it is loaded.

Every call into the model runs in a worker thread (never on the event loop) and holds one
lock: sentence-transformers models and fast tokenizers are not safe to call from several
threads at once, and on CPU one call at a time with all cores is as fast as two sharing
them. Calls queue in arrival order; the wait is measured (``esco_model_wait_seconds``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio.to_thread
from fastapi import HTTPException

from ..errors import EscoError
from ..extraction.segmentation import split_sentences
from .metrics import Metrics

if TYPE_CHECKING:
    from ..extraction import SkillExtractor
    from ..settings import Settings
    from ..taxonomy import Taxonomy

__all__ = ["ExtractorService", "Loader", "State"]

logger = logging.getLogger(__name__)

State = Literal["loading", "healthy", "failed"]
Loader = Callable[["ExtractorService"], "SkillExtractor"]
T = TypeVar("T")

_RETRY_AFTER = "10"  # seconds, for 503 answers while loading


class ExtractorService:
    """Owns the extractor: its loading state, and the lock that serialises the model.

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
        self.created = time.time()
        self.load_seconds: float | None = None
        self._loader = loader or load_from_settings
        self._model_lock = threading.Lock()
        self._thread: threading.Thread | None = None
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

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            extractor = self._loader(self)
        except Exception as exc:  # noqa: BLE001 - reported by /health, never raised
            self.state = "failed"
            self.error = (
                str(exc) if isinstance(exc, EscoError) else (f"{type(exc).__name__}: {exc}")
            )
            self.phase = "failed"
            logger.error(
                "the extractor could not be loaded: %s",
                self.error,
                exc_info=not isinstance(exc, EscoError),
            )
            return
        self._ready(extractor, time.perf_counter() - started)

    def _ready(self, extractor: SkillExtractor, seconds: float) -> None:
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
            f"The server is starting ({self.phase}); try again shortly. "
            "GET /health tells when it is ready.",
            headers={"Retry-After": _RETRY_AFTER},
        )

    def require_taxonomy(self) -> Taxonomy:
        """The taxonomy (available before the model), or a 503."""
        if self.taxonomy is not None:
            return self.taxonomy
        return self.require_extractor().taxonomy

    async def run(
        self, operation: str, call: Callable[[SkillExtractor], T], texts: Sequence[str] = ()
    ) -> T:
        """Run ``call(extractor)`` in a worker thread, holding the model lock."""
        extractor = self.require_extractor()
        return await anyio.to_thread.run_sync(self._locked, operation, call, extractor, texts)

    def _locked(
        self,
        operation: str,
        call: Callable[[SkillExtractor], T],
        extractor: SkillExtractor,
        texts: Sequence[str],
    ) -> T:
        queued = time.perf_counter()
        with self._model_lock:
            started = time.perf_counter()
            try:
                return call(extractor)
            finally:
                ended = time.perf_counter()
                self.metrics.observe_model(
                    operation,
                    started - queued,
                    ended - started,
                    len(texts),
                    sum(len(split_sentences(t)) for t in texts),
                    sum(len(t) for t in texts),
                )


def load_from_settings(service: ExtractorService) -> SkillExtractor:
    """Build the extractor the settings describe, reporting each step to ``service``."""
    from ..embedding import load_embedder
    from ..extraction import SkillExtractor
    from ..taxonomy import load_taxonomy

    settings = service.settings
    service.set_phase("loading the ESCO taxonomy")
    taxonomy = load_taxonomy(settings.data_dir, cache_dir=settings.cache_dir)
    service.set_taxonomy(taxonomy)
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    service.set_phase(f"loading the model {settings.model or '(default)'}")
    loaded = load_embedder(settings.model, device=settings.device)
    service.set_phase(_cache_phase(loaded.embedder, taxonomy, settings.cache_dir))
    extractor = SkillExtractor(
        embedder=loaded.embedder,
        taxonomy=taxonomy,
        cache_dir=settings.cache_dir,
        skills_threshold=settings.skills_threshold,
        occupation_threshold=settings.occupation_threshold,
        show_progress=settings.show_progress,
    )
    extractor.fallback_used = loaded.fallback_used
    extractor.fallback_reason = loaded.fallback_reason
    return extractor


def _cache_phase(embedder: object, taxonomy: Taxonomy, cache_dir: Path | None) -> str:
    """Whether the embedding cache will be loaded or built (building takes minutes)."""
    model = getattr(embedder, "model_id", "the model")
    try:
        from ..cache import EmbeddingCache
        from ..extraction.views import build_views

        cache = EmbeddingCache(Path(cache_dir) / "embeddings" if cache_dir else None)
        key = cache.key_for(embedder, taxonomy, build_views(taxonomy))  # type: ignore[arg-type]
        if (cache.path_for(key) / "manifest.json").is_file():
            return f"loading the embedding cache of {model}"
    except Exception:  # noqa: BLE001 - only a hint; the extractor decides
        return f"loading or building the embedding cache of {model}"
    return (
        f"building the embedding cache of {model} for ESCO {taxonomy.version} (first run "
        "with this model and taxonomy: this takes minutes; progress in the server log)"
    )


def _version() -> str:
    from ..__about__ import __version__

    return __version__
