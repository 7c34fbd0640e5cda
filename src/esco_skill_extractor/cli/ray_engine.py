"""``extract --engine ray``: batch extraction on a Ray cluster, same records as the local engine.

The driver (this process) reads the records with :mod:`.corpus` and writes them with
:mod:`.outputs`, exactly as the local engine does; only the extraction runs on the
workers (:class:`~esco_skill_extractor.cluster.ExtractorPool`), which return each batch's
results in input order. Ids, sources, error rows, every output format and ``--resume``
are therefore the local engine's. Documents are read in the driver (for PDF and Word
folders that is the driver's work), sent to the workers as text.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

import click

from ..cluster import ExtractorPool, ExtractorSpec, prepare_cache, require_ray, worker_resources
from .base import AppContext, progress_bar
from .corpus import DocumentError, InputRecord, too_long
from .outputs import RecordWriter, format_record

__all__ = ["extract_on_ray", "ray_session"]

logger = logging.getLogger(__name__)


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, connected to ``address`` (a running cluster) or started locally; a Ray already
    initialised in this process is used as it is (and left running)."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    started = time.perf_counter()
    if address is None:
        ray.init(include_dashboard=False, logging_level=logging.WARNING)
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    logger.info("Ray ready in %.1f s: %s", time.perf_counter() - started, ray.cluster_resources())
    try:
        yield ray
    finally:
        ray.shutdown()


def _read(chunk: list[InputRecord], max_chars: int) -> tuple[list[str], list[str | None]]:
    texts: list[str] = []
    errors: list[str | None] = []
    for record in chunk:
        try:
            body = record.read()
            if problem := too_long(body, max_chars):
                raise DocumentError(f"{record.source}: {problem}")
            texts.append(body)
            errors.append(None)
        except DocumentError as exc:
            texts.append("")
            errors.append(str(exc))
            logger.warning("skipped: %s", exc)
    return texts, errors


def extract_on_ray(
    app: AppContext,
    records: Iterator[InputRecord],
    writer: RecordWriter,
    *,
    skipped: int,
    total: int | None,
    batch_size: int,
    segment_cache: int,
    progress: bool | None,
    thresholds: dict[str, float | None],
    options: dict[str, Any],
    address: str | None,
    workers: int | None,
    max_chars: int,
) -> int:
    """Extract ``records`` on Ray and write them in order; the number that could not be read."""
    chunks = iter(lambda: list(islice(records, batch_size)), [])
    first = next(chunks, None)
    if first is None:
        return 0  # nothing to do: no need to start Ray
    spec = ExtractorSpec(
        model=app.model,
        device=app.device,
        backend=app.backend,
        esco_dir=os.fspath(app.esco_dir) if app.esco_dir is not None else None,
        esco_language=app.language,
        cache_dir=os.fspath(app.cache_dir) if app.cache_dir is not None else None,
        skills_threshold=thresholds["skills_threshold"],
        occupation_threshold=thresholds["occupation_threshold"],
        segment_cache_size=segment_cache,
    )
    failed = 0

    def batches() -> Iterator[tuple[tuple[list[InputRecord], list[str | None]], list[str]]]:
        nonlocal failed
        for chunk in chain([first], chunks):
            texts, errors = _read(chunk, max_chars)
            failed += sum(e is not None for e in errors)
            yield (chunk, errors), texts

    show = sys.stderr.isatty() if progress is None else progress
    with ray_session(address):
        # On a cluster of one's own the workers may wait for an autoscaler; here they would hang.
        count, cpus, gpus = worker_resources(workers, strict=address is None)
        prepared = prepare_cache(spec)
        started = time.perf_counter()
        with ExtractorPool(spec, prepared, workers=count, num_cpus=cpus, num_gpus=gpus, **options) as pool:
            logger.info("%d Ray workers ready in %.1f s", count, time.perf_counter() - started)
            if show:
                click.echo(f"Ray: {count} worker(s), {cpus:g} CPU and {gpus:g} GPU each.", err=True)
            with progress_bar(total, skipped, progress) as bar:
                for (chunk, errors), results in pool.imap(batches()):
                    writer.write(
                        [
                            format_record(r, None if e else x, e)
                            for r, x, e in zip(chunk, results, errors, strict=True)
                        ]
                    )
                    bar.update(len(chunk))
    return failed
