"""Encoding the texts of a recipe's tables into the vectors a cache stores.

Each distinct text is embedded once, as a passage, in batches of similar length behind a
progress bar; the vectors are L2-normalised in float32 and cast to the stored dtype, and
the throughput is logged. :class:`TextTable` is all the cache needs from a table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import CacheError
from .key import Dtype

if TYPE_CHECKING:
    from ..embedding.base import Embedder

__all__ = ["Encoded", "TextTable", "encode_tables", "encode_with_stats"]

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
) -> Encoded:
    """:func:`encode_tables`, also counting the texts and timing the encoding."""
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
        for rows in batches:
            vectors = np.asarray(
                embedder.embed([unique[i] for i in rows], kind="passage", batch_size=batch_size),
                dtype=np.float32,
            )
            if vectors.shape != (len(rows), embedder.dim):
                raise CacheError(
                    f"{embedder.model_id} returned vectors of shape {vectors.shape} for "
                    f"{len(rows)} texts; expected ({len(rows)}, {embedder.dim})"
                )
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[rows] = vectors / np.where(norms > 0, norms, 1.0)  # the key says normalised
            bar.update(len(rows))
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
