"""Batch extraction: one output record per input record, on this machine or on Ray.

:mod:`.corpus` reads the inputs (records with ids), :mod:`.outputs` writes the records so
that a kill leaves a valid file; both engines share them, the resume check and the progress
bar, so their records are the same. The local engine extracts chunk by chunk in this
process; the Ray engine (:mod:`.ray_engine`) sends the chunks to Ray workers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from ..settings import Settings
from .base import AppContext, make_extractor, progress_bar
from .corpus import (
    Columns,
    CorpusError,
    InputRecord,
    check_inputs,
    count_records,
    iter_records,
)
from .outputs import OutputFormat, RecordWriter, format_records, open_writer
from .work import Limits, OnError, RunOptions, chunks, extract_each, read_chunk

__all__ = ["MAX_CHARS", "Limits", "OnError", "RunOptions", "run_batch"]

logger = logging.getLogger(__name__)

#: The default of ``--max-chars``: the HTTP API's default ``ESCO_MAX_TEXT_CHARS``.
MAX_CHARS: int = Settings.model_fields["max_text_chars"].default


def run_batch(
    app: AppContext,
    inputs: tuple[Path, ...],
    output: Path | None,
    fmt: OutputFormat,
    columns: Columns,
    resume: bool,
    overwrite: bool,
    run: RunOptions,
    cluster: dict[str, Any] | None = None,
) -> None:
    """Extract every record of ``inputs`` into ``output``, here or on Ray (``cluster``: the
    Ray engine's ``address`` and ``workers``)."""
    if not inputs and sys.stdin.isatty():
        raise click.UsageError("give files or folders, or pipe JSONL or text on stdin")
    if sum(str(p) == "-" for p in inputs) > 1:
        raise click.UsageError("stdin (-) can be read only once")
    check_inputs(inputs, columns)
    if cluster is not None and output is not None and _parquet_to_parquet(inputs, fmt):
        from .ray_engine import extract_parquet_on_ray

        failed = extract_parquet_on_ray(
            app, inputs, output, columns, resume=resume, overwrite=overwrite, run=run, **cluster
        )
        _report(failed)
        return
    writer = open_writer(output, fmt, resume=resume, overwrite=overwrite, stdout=sys.stdout)
    try:
        records = iter_records(inputs, text_column=columns.text, id_column=columns.id, stdin=sys.stdin)
        skipped = _skip(records, writer.done, writer.last_id, output)
        total = count_records(inputs) if all(str(p) != "-" for p in inputs) and inputs else None
        if cluster is None:
            failed = _extract_here(app, records, writer, skipped, total, run)
        else:
            from .ray_engine import extract_on_ray

            failed = extract_on_ray(app, records, writer, skipped=skipped, total=total, run=run, **cluster)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    _report(failed)


def _report(failed: int) -> None:
    if failed:
        click.echo(f"{failed} record(s) could not be used; their rows say why in 'error'.", err=True)


def _parquet_to_parquet(inputs: tuple[Path, ...], fmt: OutputFormat) -> bool:
    """Parquet files in and out: the Ray engine's workers then read and write in parallel."""
    return (
        fmt == "parquet"
        and bool(inputs)
        and all(p.suffix.lower() == ".parquet" and p.is_file() for p in inputs)
    )


def _extract_here(
    app: AppContext,
    records: Iterator[InputRecord],
    writer: RecordWriter,
    skipped: int,
    total: int | None,
    run: RunOptions,
) -> int:
    extractor = make_extractor(
        app,
        run.thresholds["skills_threshold"],
        run.thresholds["occupation_threshold"],
        segment_cache_size=run.segment_cache,
    )
    limits = run.limits
    failed = 0
    with progress_bar(total, skipped, run.progress) as bar:
        for chunk in chunks(records, run.batch_size):
            texts, errors, stop = read_chunk(chunk, limits.max_chars, limits.on_error)
            chunk = chunk[: len(texts)]
            sources = [r.source for r in chunk]
            results = extract_each(extractor, sources, texts, errors, run.options, limits.on_error)
            failed += sum(e is not None for e in errors)
            writer.write(format_records(chunk, results, errors))
            bar.update(len(chunk))
            if stop is not None:
                raise CorpusError(f"{stop} (--on-error stop; the records before it are written)")
    return failed


def _skip(records: Iterator[InputRecord], count: int, last_id: str | None, output: Path | None) -> int:
    """Skip the inputs a resumed output already holds; check that they are the same ones."""
    record = None
    for _ in range(count):
        record = next(records, None)
        if record is None:
            raise CorpusError(
                f"{output} holds {count} records but the inputs have fewer: are these the inputs of that run?"
            )
    if record is not None and last_id is not None and record.id != last_id:
        raise CorpusError(
            f"{output} ends with the record of {last_id!r} but input {count} "
            f"is {record.id!r}: are these the inputs of that run?"
        )
    if count:
        logger.info("resuming after %d records", count)
    return count
