"""Encoding the texts of a recipe's tables into the vectors a cache stores.

Each distinct text is embedded once, as a passage, in batches of similar length behind a
progress bar; the vectors are L2-normalised in float32 and cast to the stored dtype, and
the throughput is logged. :class:`TextTable` is all the cache needs from a table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import CacheError
from .key import Dtype

if TYPE_CHECKING:
    from ..embedding.base import Embedder

__all__ = ["Encoded", "Progress", "TextTable", "describe_duration", "encode_tables", "encode_with_stats"]

#: ``on_progress(done, total, seconds_left)``: texts embedded so far, of ``total``; the
#: estimated seconds left, or ``None`` before the first batches have given a rate.
Progress = Callable[[int, int, "float | None"], None]

_CALIBRATION_SECONDS = 5.0  # measured before an estimate is logged (after the first batch)
_CALIBRATION_BATCHES = 3
_LONG_BUILD_SECONDS = 15 * 60  # past this, the estimate is a warning with the ways out

logger = logging.getLogger(__name__)


class TextTable(Protocol):
    """What the cache needs from a view table: its texts, in row order."""

    @property
    def texts(self) -> Sequence[str]: ...


@dataclass
class Encoded:
    """Vectors of every table, with what it took to make them."""

    vectors: dict[str, np.ndarray]
    total: int
    unique: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def encode_tables(
    embedder: Embedder,
    tables: Mapping[str, TextTable],
    *,
    dtype: Dtype = "float16",
    batch_size: int = 64,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """Embed the texts of every table as passages, each distinct text once.

    Distinct texts are encoded in batches of similar length (less padding), the longest
    batch first and the others in a fixed shuffled order (a fair ETA), with a progress bar
    (texts/s, ETA) when ``show_progress``; throughput is logged.

    Returns:
        ``{name: (len(table.texts), dim) array}`` in ``dtype``, row i = text i.
    """
    return encode_with_stats(embedder, tables, dtype, batch_size, show_progress).vectors


def encode_with_stats(
    embedder: Embedder,
    tables: Mapping[str, TextTable],
    dtype: Dtype,
    batch_size: int,
    show_progress: bool,
    on_progress: Progress | None = None,
) -> Encoded:
    """:func:`encode_tables`, also counting the texts and timing the encoding.

    Once the first batches have given a rate, the estimate (texts, rate, time left, and the
    ways to serve sooner when that is long) is logged, and ``on_progress(done, total,
    seconds_left)`` is called after every batch (``seconds_left`` is ``None`` until then).
    A batch that runs out of (GPU) memory is retried in halves.
    """
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    names = list(tables)
    total = sum(len(tables[name].texts) for name in names)
    unique = list(dict.fromkeys(t for name in names for t in tables[name].texts))
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]), reverse=True)
    batch_size = max(1, batch_size)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    # Batches hold texts of similar length (little padding). The longest goes first, so a
    # lack of memory shows at once; the rest run in a fixed shuffled order, so the progress
    # bar's rate and ETA are fair from the start (longest-first would promise hours).
    if len(batches) > 2:
        rest = np.random.default_rng(0).permutation(len(batches) - 1) + 1
        batches = [batches[0], *(batches[i] for i in rest)]
    out = np.empty((len(unique), embedder.dim), dtype=np.dtype(dtype).newbyteorder("<"))
    started = time.perf_counter()
    with tqdm(
        total=len(unique),
        unit="text",
        desc=f"Embedding ESCO texts with {embedder.model_id}",
        disable=not show_progress,
        dynamic_ncols=True,
        mininterval=0.5,
    ) as bar:
        clock = _Clock(len(unique), embedder)
        for rows in batches:
            done = 0
            while done < len(rows):  # the whole batch, or halves of it after running out of memory
                part = rows[done : done + batch_size]
                try:
                    vectors = np.asarray(
                        embedder.embed([unique[i] for i in part], kind="passage", batch_size=batch_size),
                        dtype=np.float32,
                    )
                except Exception as exc:
                    if not _out_of_memory(exc):
                        raise
                    batch_size = _smaller_batch(embedder, batch_size, exc)
                    continue
                if vectors.shape != (len(part), embedder.dim):
                    raise CacheError(
                        f"{embedder.model_id} returned vectors of shape {vectors.shape} for "
                        f"{len(part)} texts; expected ({len(part)}, {embedder.dim})"
                    )
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                out[part] = vectors / np.where(norms > 0, norms, 1.0)  # the key says normalised
                done += len(part)
                bar.update(len(part))
            left = clock.batch_done(len(rows))
            if on_progress is not None:
                on_progress(clock.done, len(unique), left)
    seconds = time.perf_counter() - started
    rate = len(unique) / seconds if seconds > 0 else float("inf")
    logger.info(
        "embedded %d distinct texts (%d rows) with %s on %s in %.1fs: %.0f texts/s",
        len(unique),
        total,
        embedder.model_id,
        embedder.device,
        seconds,
        rate,
    )
    position = {text: i for i, text in enumerate(unique)}
    vectors_by_table = {
        name: out[
            np.fromiter(
                (position[t] for t in tables[name].texts), dtype=np.int64, count=len(tables[name].texts)
            )
        ]
        for name in names
    }
    return Encoded(vectors_by_table, total, len(unique), seconds)


def describe_duration(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3 h 20 min"``."""
    if seconds < 60:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class _Clock:
    """The build's rate, measured on the batches after the first (the longest texts, and the
    model's warm-up), and the estimate logged once when it is known."""

    def __init__(self, total: int, embedder: Embedder) -> None:
        self.total = total
        self.done = 0
        self._embedder = embedder
        self._batches = 0
        self._measured = 0
        self._since: float | None = None
        self._rate: float | None = None

    def batch_done(self, texts: int) -> float | None:
        """Count a finished batch; the seconds left, once they can be estimated."""
        self.done += texts
        self._batches += 1
        now = time.perf_counter()
        if self._since is None:  # the first batch: its end starts the clock
            self._since = now
            return None
        self._measured += texts
        elapsed = now - self._since
        calibrated = self._rate is not None
        if not calibrated and (elapsed < _CALIBRATION_SECONDS or self._batches <= _CALIBRATION_BATCHES):
            return None
        self._rate = self._measured / elapsed
        if not calibrated:
            self._log_estimate()
        return (self.total - self.done) / self._rate

    def _log_estimate(self) -> None:
        assert self._rate is not None
        left = (self.total - self.done) / self._rate
        message = (
            f"embedding {self.total:,} ESCO texts with {self._embedder.model_id} on "
            f"{self._embedder.device}: {self._rate:,.1f} texts/s measured, about "
            f"{describe_duration(left)} left"
        )
        if left < _LONG_BUILD_SECONDS:
            logger.info("%s", message)
            return
        logger.warning(
            "%s. To serve sooner: build the cache on a machine with a GPU (esco-skill-extractor "
            "cache build --device cuda, then cache export there and cache import here), or use "
            "the bundled model (--model all-MiniLM-L6-v2 / ESCO_MODEL=all-MiniLM-L6-v2), whose "
            "cache builds in minutes",
            message,
        )


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is the model running out of (GPU) memory."""
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"
        or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())
    )


def _smaller_batch(embedder: Embedder, batch_size: int, exc: BaseException) -> int:
    """Half the batch after running out of memory; a clear error when one text is too much."""
    if batch_size <= 1:
        elsewhere = "" if embedder.device.startswith("cpu") else ", or build on the CPU (--device cpu)"
        raise CacheError(
            f"{embedder.model_id} ran out of memory on {embedder.device} embedding one text at a "
            f"time; free the device's memory{elsewhere}"
        ) from exc
    _release_gpu_memory()
    smaller = batch_size // 2
    logger.warning(
        "out of memory on %s with batches of %d texts; going on with %d", embedder.device, batch_size, smaller
    )
    return smaller


def _release_gpu_memory() -> None:
    import sys

    torch = sys.modules.get("torch")  # only when a model has loaded it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
