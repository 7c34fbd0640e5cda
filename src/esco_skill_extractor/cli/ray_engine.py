"""``extract --engine ray``: batch extraction on a Ray cluster, same records as the local engine.

Two paths, one pool of workers (:class:`~esco_skill_extractor.cluster.ExtractorPool`),
and the same records as ``--engine local`` on either:

* **Parquet in, Parquet out** (every input a ``.parquet`` file, ``-o`` a ``.parquet`` file):
  the inputs are cut into slices of rows; each worker reads its slice (only the row groups
  that hold it), extracts it and writes it as a numbered part file in
  ``<output>.ray-parts/`` (a temporary name, then renamed: a part exists only when
  complete). Reading and writing are thus as parallel as extraction, and the driver only
  plans and, at the end, merges the parts in order into ``<output>``. ``--resume`` skips
  the slices whose part exists (``plan.json`` there checks that the inputs are the same).
  The inputs and the output must be on storage every node can read and write.
* **Anything else**: the driver (this process) reads the records with :mod:`.corpus` and
  writes them with :mod:`.outputs`, exactly as the local engine does; only the extraction
  runs on the workers, which return each batch's results in input order. Ids, sources,
  error rows, every output format and ``--resume`` are therefore the local engine's.
  Documents are read in the driver (for PDF and Word folders that is the driver's work).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import click

from ..cluster import ExtractorPool, ExtractorSpec, prepare_cache, require_ray, worker_resources
from ..extraction import SkillExtractor
from ..types import Extraction
from .base import AppContext, progress_bar
from .corpus import (
    Columns,
    CorpusError,
    InputRecord,
    ParquetSlice,
    parquet_slice_records,
    parquet_slices,
    require_pyarrow,
)
from .outputs import RecordWriter, format_records, merge_parts, write_part
from .work import OnError, RunOptions, chunks, extract_each, read_chunk

__all__ = ["extract_on_ray", "extract_parquet_on_ray", "ray_session"]

logger = logging.getLogger(__name__)

_SLICES = 64  # a run is cut into about this many slices (enough to keep many workers busy) ...
_SLICE_ROWS = 2000  # ... of at most this many rows (a part file, the unit of --resume)


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


@contextmanager
def _pool(
    app: AppContext, run: RunOptions, address: str | None, workers: int | None
) -> Iterator[ExtractorPool]:
    """Ray, the cache prepared once, and a pool of workers that extract as ``app`` would."""
    spec = ExtractorSpec(
        model=app.model,
        device=app.device,
        backend=app.backend,
        esco_dir=os.fspath(app.esco_dir) if app.esco_dir is not None else None,
        esco_language=app.language,
        cache_dir=os.fspath(app.cache_dir) if app.cache_dir is not None else None,
        skills_threshold=run.thresholds["skills_threshold"],
        occupation_threshold=run.thresholds["occupation_threshold"],
        segment_cache_size=run.segment_cache,
    )
    with ray_session(address):
        # On a cluster of one's own the workers may wait for an autoscaler; here they would hang.
        count, cpus, gpus = worker_resources(workers, strict=address is None)
        prepared = prepare_cache(spec)
        started = time.perf_counter()
        with ExtractorPool(
            spec, prepared, workers=count, num_cpus=cpus, num_gpus=gpus, **run.options
        ) as pool:
            logger.info("%d Ray workers ready in %.1f s", count, time.perf_counter() - started)
            if sys.stderr.isatty() if run.progress is None else run.progress:
                click.echo(f"Ray: {count} worker(s), {cpus:g} CPU and {gpus:g} GPU each.", err=True)
            yield pool


@dataclass(frozen=True)
class _Batch:
    """Texts to extract on a worker, with their sources (for messages) and read errors."""

    sources: list[str]
    texts: list[str]
    errors: list[str | None]
    on_error: OnError


def _extract_batch(
    extractor: SkillExtractor, options: dict[str, Any], batch: _Batch
) -> tuple[list[Extraction | None], list[str | None]]:
    """Runs on a worker: the results and the errors (read, or extraction) of a batch."""
    errors = list(batch.errors)
    return extract_each(extractor, batch.sources, batch.texts, errors, options, batch.on_error), errors


def extract_on_ray(
    app: AppContext,
    records: Iterator[InputRecord],
    writer: RecordWriter,
    *,
    skipped: int,
    total: int | None,
    run: RunOptions,
    address: str | None,
    workers: int | None,
) -> int:
    """Extract ``records`` on Ray (at ``address``, on ``workers`` workers) and write them in
    order; the number that could not be used.

    Raises:
        CorpusError: with ``on_error="stop"``, the first record that cannot be used (the
            records before it are written).
    """
    max_chars, on_error = run.limits.max_chars, run.limits.on_error
    batches = chunks(records, run.batch_size)
    first = next(batches, None)
    if first is None:
        return 0  # nothing to do: no need to start Ray
    stop: str | None = None

    def read() -> Iterator[tuple[list[InputRecord], _Batch]]:
        nonlocal stop
        for chunk in chain([first], batches):
            texts, errors, stop = read_chunk(chunk, max_chars, on_error)
            chunk = chunk[: len(texts)]
            if chunk:
                yield chunk, _Batch([r.source for r in chunk], texts, errors, on_error)
            if stop is not None:
                return

    failed = 0
    with _pool(app, run, address, workers) as pool, progress_bar(total, skipped, run.progress) as bar:
        for chunk, (results, errors) in pool.imap_apply(_extract_batch, read()):
            failed += sum(e is not None for e in errors)
            writer.write(format_records(chunk, results, errors))
            bar.update(len(chunk))
    if stop is not None:
        raise CorpusError(f"{stop} (--on-error stop; the records before it are written)")
    return failed


@dataclass(frozen=True)
class _SliceJob:
    """One slice's work on a worker: read it, extract it, write its part file."""

    piece: ParquetSlice
    columns: Columns
    part: str
    batch_size: int
    max_chars: int
    on_error: OnError


def _extract_slice(extractor: SkillExtractor, options: dict[str, Any], job: _SliceJob) -> tuple[int, int]:
    """Runs on a worker: ``(records, records that could not be used)`` of the slice. With
    ``on_error="stop"`` a record that cannot be used stops the run and the slice is not written."""
    rows: list[dict[str, Any]] = []
    failed = 0
    try:
        for chunk in chunks(parquet_slice_records(job.piece, job.columns), job.batch_size):
            texts, errors, stop = read_chunk(chunk, job.max_chars, job.on_error)
            if stop is not None:
                raise CorpusError(f"{stop} (--on-error stop; the slices finished are kept for --resume)")
            sources = [r.source for r in chunk]
            results = extract_each(extractor, sources, texts, errors, options, job.on_error)
            failed += sum(e is not None for e in errors)
            rows.extend(format_records(chunk, results, errors))
        write_part(rows, Path(job.part))
    except OSError as exc:
        raise CorpusError(
            f"a Ray worker cannot read {job.piece.name} or write {job.part} ({exc.strerror or exc}): "
            "with --ray-address, the Parquet inputs and the output must be on storage every node "
            "reads and writes (a shared folder)"
        ) from None
    return len(rows), failed


def extract_parquet_on_ray(
    app: AppContext,
    inputs: tuple[Path, ...],
    output: Path,
    columns: Columns,
    *,
    resume: bool,
    overwrite: bool,
    run: RunOptions,
    address: str | None,
    workers: int | None,
) -> int:
    """Parquet files to a Parquet file, read, extracted and written by the workers slice by
    slice; the number of records (of this run) that could not be used.

    Raises:
        CorpusError: an existing output without ``--resume``/``--overwrite``, a resume of
            other inputs (or of a ``--engine local`` run's parts), storage a worker cannot
            reach.
    """
    parts = output.with_name(output.name + ".ray-parts")
    local_parts = output.with_name(output.name + ".parts")
    rows = [int(require_pyarrow().ParquetFile(p).metadata.num_rows) for p in inputs]
    total = sum(rows)
    if output.exists() or parts.exists() or local_parts.exists():
        if not resume and not overwrite:
            raise CorpusError(f"{output} exists: pass --resume to continue it, or --overwrite to replace it")
        if overwrite:
            output.unlink(missing_ok=True)
            shutil.rmtree(parts, ignore_errors=True)
            shutil.rmtree(local_parts, ignore_errors=True)
    if not output.parent.exists():
        raise CorpusError(f"the folder of {output} does not exist")
    if local_parts.exists():
        raise CorpusError(f"{local_parts} holds a run of --engine local: resume it with --engine local")
    if output.exists() and not parts.exists():  # a finished run
        done = int(require_pyarrow().ParquetFile(output).metadata.num_rows)
        if done != total:
            raise CorpusError(
                f"{output} holds {done} records but the inputs have {total}: are these the inputs "
                "of that run? (an output cut by --engine local is resumed with --engine local)"
            )
        logger.info("%s already holds all %d records", output, total)
        return 0
    size = min(_SLICE_ROWS, max(run.batch_size, math.ceil(total / _SLICES)))
    plan = {
        "inputs": [[str(p), n] for p, n in zip(inputs, rows, strict=True)],
        "columns": asdict(columns),
        "slice_rows": size,
    }
    size = _start_or_check(parts, plan)
    pieces = [piece for path in inputs for piece in parquet_slices(path, size)]
    files = [parts / f"part-{i:06d}.parquet" for i in range(len(pieces))]
    todo = [(i, piece) for i, piece in enumerate(pieces) if not files[i].exists()]
    skipped = sum(piece.stop - piece.start for i, piece in enumerate(pieces) if files[i].exists())
    failed = 0
    if todo:
        limits = run.limits
        jobs = (
            (
                i,
                _SliceJob(
                    piece,
                    columns,
                    str(files[i].absolute()),
                    run.batch_size,
                    limits.max_chars,
                    limits.on_error,
                ),
            )
            for i, piece in todo
        )
        with _pool(app, run, address, workers) as pool, progress_bar(total, skipped, run.progress) as bar:
            for _, (count, bad) in pool.imap_apply(_extract_slice, jobs):
                failed += bad
                bar.update(count)
    merge_parts(files, output)
    shutil.rmtree(parts)
    return failed


def _start_or_check(parts: Path, plan: dict[str, Any]) -> int:
    """Start ``parts`` with its plan, or check that a resumed one was planned for the same
    inputs; the slice size (a resumed plan keeps its own: the part files are numbered by it)."""
    file = parts / "plan.json"
    if file.exists():
        try:
            before = json.loads(file.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{file} cannot be read ({exc}): it cannot be resumed") from None
        if before.get("inputs") != plan["inputs"] or before.get("columns") != plan["columns"]:
            raise CorpusError(
                f"{parts} was started for other inputs ({before.get('inputs')}): "
                "are these the inputs of that run?"
            )
        for stray in parts.glob("*.tmp"):
            stray.unlink()
        return int(before.get("slice_rows", plan["slice_rows"]))
    parts.mkdir()
    temporary = file.with_suffix(".tmp")
    temporary.write_text(json.dumps(plan), "utf-8")
    os.replace(temporary, file)
    return int(plan["slice_rows"])
