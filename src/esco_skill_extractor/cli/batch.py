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
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import click

from ..extraction import SkillExtractor
from ..settings import Settings
from ..types import Extraction
from .base import AppContext, make_extractor, progress_bar
from .corpus import (
    Columns,
    CorpusError,
    DocumentError,
    InputRecord,
    check_inputs,
    count_records,
    iter_records,
    too_long,
)
from .outputs import OutputFormat, RecordWriter, format_record, open_writer

__all__ = ["MAX_CHARS", "Limits", "OnError", "run_batch"]

logger = logging.getLogger(__name__)

#: The default of ``--max-chars``: the HTTP API's default ``ESCO_MAX_TEXT_CHARS``.
MAX_CHARS: int = Settings.model_fields["max_text_chars"].default

OnError = Literal["skip", "stop"]


@dataclass(frozen=True)
class Limits:
    """What a record may hold (``--max-chars``) and what a bad one does (``--on-error``)."""

    max_chars: int
    on_error: OnError


def run_batch(
    app: AppContext,
    inputs: tuple[Path, ...],
    output: Path | None,
    fmt: OutputFormat,
    text_column: str,
    id_column: str | None,
    resume: bool,
    overwrite: bool,
    batch_size: int,
    segment_cache: int,
    progress: bool | None,
    thresholds: dict[str, float | None],
    options: dict[str, Any],
    limits: Limits,
    cluster: dict[str, Any] | None = None,
) -> None:
    """Extract every record of ``inputs`` into ``output``, here or on Ray (``cluster``: the
    Ray engine's ``address`` and ``workers``)."""
    if cluster is not None and limits.on_error == "stop":
        raise click.UsageError("--on-error stop is for --engine local; the Ray engine writes error rows")
    if not inputs and sys.stdin.isatty():
        raise click.UsageError("give files or folders, or pipe JSONL or text on stdin")
    if sum(str(p) == "-" for p in inputs) > 1:
        raise click.UsageError("stdin (-) can be read only once")
    check_inputs(inputs, Columns(text_column, id_column))
    writer = open_writer(output, fmt, resume=resume, overwrite=overwrite, stdout=sys.stdout)
    try:
        records = iter_records(inputs, text_column=text_column, id_column=id_column, stdin=sys.stdin)
        skipped = _skip(records, writer.done, writer.last_id, output)
        total = count_records(inputs) if all(str(p) != "-" for p in inputs) and inputs else None
        if cluster is None:
            failed = _extract_here(
                app,
                records,
                writer,
                skipped,
                total,
                batch_size,
                segment_cache,
                progress,
                thresholds,
                options,
                limits,
            )
        else:
            from .ray_engine import extract_on_ray

            failed = extract_on_ray(
                app,
                records,
                writer,
                skipped=skipped,
                total=total,
                batch_size=batch_size,
                segment_cache=segment_cache,
                progress=progress,
                thresholds=thresholds,
                options=options,
                max_chars=limits.max_chars,
                **cluster,
            )
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    if failed:
        click.echo(f"{failed} record(s) could not be used; their rows say why in 'error'.", err=True)


def _extract_here(
    app: AppContext,
    records: Iterator[InputRecord],
    writer: RecordWriter,
    skipped: int,
    total: int | None,
    batch_size: int,
    segment_cache: int,
    progress: bool | None,
    thresholds: dict[str, float | None],
    options: dict[str, Any],
    limits: Limits,
) -> int:
    extractor = make_extractor(
        app,
        thresholds["skills_threshold"],
        thresholds["occupation_threshold"],
        segment_cache_size=segment_cache,
    )
    failed = 0
    with progress_bar(total, skipped, progress) as bar:
        for chunk in _chunks(records, batch_size):
            texts: list[str] = []
            errors: list[str | None] = []
            stop: str | None = None
            for record in chunk:
                try:
                    body = record.read()
                    if problem := too_long(body, limits.max_chars):
                        raise DocumentError(f"{record.source}: {problem}")
                except DocumentError as exc:
                    if limits.on_error == "stop":
                        stop = str(exc)
                        break
                    texts.append("")
                    errors.append(str(exc))
                    logger.warning("skipped: %s", exc)
                else:
                    texts.append(body)
                    errors.append(None)
            chunk = chunk[: len(texts)]
            results = _extract_each(extractor, chunk, texts, errors, options, limits.on_error)
            failed += sum(e is not None for e in errors)
            writer.write(
                [
                    format_record(r, None if e else x, e)
                    for r, x, e in zip(chunk, results, errors, strict=True)
                ]
            )
            bar.update(len(chunk))
            if stop is not None:
                raise CorpusError(f"{stop} (--on-error stop; the records before it are written)")
    return failed


def _extract_each(
    extractor: SkillExtractor,
    chunk: list[InputRecord],
    texts: list[str],
    errors: list[str | None],
    options: dict[str, Any],
    on_error: OnError,
) -> list[Extraction | None]:
    """The chunk's results; when extraction fails, each text alone, so that only the record
    that fails is marked (``errors`` is updated) or, with ``stop``, named."""
    try:
        return list(extractor.extract(texts, **options))
    except Exception:  # noqa: BLE001 - narrowed down below, record by record
        if len(texts) == 1:
            raise
    results: list[Extraction | None] = []
    for position, (record, text) in enumerate(zip(chunk, texts, strict=True)):
        try:
            [result] = extractor.extract([text], **options)
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the run
            message = f"{record.source}: extraction failed: {type(exc).__name__}: {exc}"
            if on_error == "stop":
                raise CorpusError(message) from None
            logger.warning("skipped: %s", message)
            errors[position] = message
            results.append(None)
        else:
            results.append(result)
    return results


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


def _chunks(records: Iterator[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk
