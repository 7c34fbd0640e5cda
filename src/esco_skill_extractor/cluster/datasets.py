"""Extraction over a Ray Dataset: ``map_batches`` on a pool of :class:`~.workers.ExtractorActor`."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import InputError
from .caches import ExtractorSpec, prepare_cache, require_ray
from .workers import ExtractorActor, worker_resources

__all__ = ["extract_dataset"]

logger = logging.getLogger(__name__)


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
