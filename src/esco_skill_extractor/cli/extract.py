"""``extract``: skills and occupations of a text, files, folders, tables or stdin.

A single text (``--text``, a file, stdin) gets a readable report or ``--json``; batch mode
(:mod:`.batch`) streams one record per document to JSONL, CSV or Parquet.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from ..embedding import BACKENDS, Backend
from ..types import Extraction
from .base import AppContext, echo_json, make_extractor, pass_app
from .batch import MAX_CHARS, Limits, OnError, RunOptions, run_batch
from .corpus import (
    Columns,
    DocumentError,
    is_batch_input,
    read_document_file,
    too_long,
)
from .outputs import OutputFormat, guess_format

__all__ = ["MAX_CHARS", "extract_command", "format_extraction", "make_extractor"]

logger = logging.getLogger(__name__)


def format_extraction(result: Extraction, taxonomy: Any = None) -> str:
    """A readable report of one extraction (the CLI's default output)."""
    lines = []
    if result.skills:
        lines.append(f"Skills ({len(result.skills)}):")
        for m in result.skills:
            kind = "knowledge" if m.skill_type == "knowledge" else "skill"
            spans = "; ".join(f'"{e.text}" [{e.start}:{e.end}]' for e in m.evidence[:3])
            lines.append(f"  {m.score:.2f}  {m.label}  ({kind})")
            lines.append(f"        {m.uri}")
            if spans:
                lines.append(f"        evidence: {spans}")
    else:
        lines.append("Skills: none above the threshold.")
    if result.occupations:
        lines.append(f"Occupations ({len(result.occupations)}):")
        for o in result.occupations:
            via = {
                "text": "named in the text",
                "skills": "inferred from skills",
                "text+skills": "named and supported by skills",
            }[o.source]
            lines.append(f"  {o.score:.2f}  {o.label}  (ISCO {o.isco_code}; {via})")
            lines.append(f"        {o.uri}")
            if o.essential_skills_found:
                lines.append(
                    f"        essential skills covered: {len(o.essential_skills_found)}"
                    f" of {o.essential_skills_total}"
                )
    else:
        lines.append("Occupations: none above the threshold.")
    return "\n".join(lines)


def _read_inputs(text: str | None, inputs: tuple[Path, ...]) -> list[tuple[str, str]]:
    if text is not None:
        return [("text", text)]
    if not inputs:
        if sys.stdin.isatty():
            raise click.UsageError("give --text, one or more files, or pipe text on stdin")
        return [("stdin", sys.stdin.read())]
    out = []
    for path in inputs:
        if str(path) == "-":
            out.append(("stdin", sys.stdin.read()))
            continue
        if not path.is_file():
            raise click.BadParameter(f"no such file: {path}", param_hint="INPUT")
        if path.suffix.lower() in (".pdf", ".docx"):
            try:
                out.append((str(path), read_document_file(path)))
            except DocumentError as exc:
                raise click.BadParameter(str(exc), param_hint="INPUT") from None
            continue
        try:
            out.append((str(path), path.read_text("utf-8")))
        except UnicodeDecodeError:
            raise click.BadParameter(f"{path} is not UTF-8 text", param_hint="INPUT") from None
    return out


@click.command("extract")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", "-t", help="The text to analyse (instead of files or stdin).")
@click.option(
    "--skills-threshold", type=click.FloatRange(0, 1), help="Minimum skill score (default: the model's)."
)
@click.option(
    "--occupation-threshold",
    "--occupations-threshold",
    "occupation_threshold",
    type=click.FloatRange(0, 1),
    help="Minimum occupation score (default: the model's).",
)
@click.option("--max-results", type=click.IntRange(1), help="At most this many of each.")
@click.option(
    "--lang",
    "--language",
    "language",
    default=None,
    help="The texts' language (its labels are matched and returned); default: detected per text.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (single texts and files).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Batch mode: write one record per input to this file (default: stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    help="Batch output format. Default: from the output's suffix, else jsonl.",
)
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="The text field of JSONL, CSV and Parquet inputs.",
)
@click.option(
    "--id-column",
    help="The id field of JSONL, CSV and Parquet inputs (default: 'id' when present, else file:row).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted batch run: keep the records in OUTPUT, skip their inputs.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT.")
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=32,
    show_default=True,
    help="Documents extracted (and written) together.",
)
@click.option(
    "--segment-cache",
    type=click.IntRange(0),
    default=10_000,
    show_default=True,
    help="Sentences whose results are remembered (repeated boilerplate is scored once); 0 disables.",
)
@click.option(
    "--backend",
    type=click.Choice(list(BACKENDS)),
    default="torch",
    show_default=True,
    help="Inference backend: torch, or ONNX Runtime on the CPU (onnx, onnx-int8: "
    "faster, needs the onnx extra).",
)
@click.option(
    "--max-chars",
    type=click.IntRange(1),
    default=MAX_CHARS,
    show_default=True,
    help="Longest text accepted per record (characters), as the HTTP API's ESCO_MAX_TEXT_CHARS; "
    "a longer one is a bad record.",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "stop"]),
    default="skip",
    show_default=True,
    help="Batch mode, a record that cannot be used (unreadable document, malformed row, too "
    "long, extraction failed): skip writes it as a row whose 'error' says why and goes on; "
    "stop ends the run there (exit code 2), keeping the records before it (--resume "
    "continues once it is fixed).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Batch mode: extract in this process, or on Ray workers (needs the ray extra).",
)
@click.option(
    "--ray-address",
    help="--engine ray: the cluster to join (e.g. auto, or ray://head:10001); default: start Ray here.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="--engine ray: workers, each with its own model (default: one per GPU, else per CPU).",
)
@pass_app
def extract_command(
    app: AppContext,
    inputs: tuple[Path, ...],
    text: str | None,
    skills_threshold: float | None,
    occupation_threshold: float | None,
    max_results: int | None,
    language: str | None,
    as_json: bool,
    output: Path | None,
    fmt: OutputFormat | None,
    text_column: str,
    id_column: str | None,
    resume: bool,
    overwrite: bool,
    batch_size: int,
    segment_cache: int,
    backend: Backend,
    max_chars: int,
    on_error: OnError,
    progress: bool | None,
    engine: str,
    ray_address: str | None,
    workers: int | None,
) -> None:
    """Find ESCO skills and occupations in a text, files, folders, tables or stdin.

    With --text, or text/PDF/Word files, prints a readable report (or --json).

    Batch mode (with -o, --format or --resume, or when an input is a folder or a
    .jsonl/.csv/.parquet table) writes one record per document, streaming: id, source,
    error, skills and occupations with URIs, labels, scores and evidence spans. Folders
    are read recursively (.txt, .md, .pdf, .docx, sorted by path). Stdin is JSONL when it
    starts with "{", else one text. A kill leaves a valid OUTPUT; --resume continues it.
    """
    app.backend = backend
    if engine == "local" and (ray_address is not None or workers is not None):
        raise click.UsageError("--ray-address and --workers need --engine ray")
    batch = engine == "ray" or (
        output is not None
        or fmt is not None
        or resume
        or any(str(p) != "-" and is_batch_input(p) for p in inputs)
    )
    if batch:
        if text is not None:
            raise click.UsageError(
                "--text cannot be combined with batch mode; put the text in a file or pipe it on stdin"
            )
        if as_json:
            raise click.UsageError("--json is for single texts; batch output is --format")
        run_batch(
            app,
            inputs,
            output,
            fmt or guess_format(output),
            Columns(text_column, id_column),
            resume,
            overwrite,
            RunOptions(
                batch_size,
                segment_cache,
                progress,
                {"skills_threshold": skills_threshold, "occupation_threshold": occupation_threshold},
                {"max_results": max_results, "language": language},
                Limits(max_chars, on_error),
            ),
            {"address": ray_address, "workers": workers} if engine == "ray" else None,
        )
        return
    documents = _read_inputs(text, inputs)
    for name, body in documents:
        if problem := too_long(body, max_chars):
            raise click.BadParameter(f"{name}: {problem}", param_hint="INPUT")
    extractor = make_extractor(app, skills_threshold, occupation_threshold, segment_cache_size=segment_cache)
    results = extractor.extract([body for _, body in documents], max_results=max_results, language=language)
    if as_json:
        payload = [{"source": name} | r.to_dict() for (name, _), r in zip(documents, results, strict=True)]
        echo_json(payload[0] if text is not None or len(payload) == 1 else payload)
        return
    for (name, _), result in zip(documents, results, strict=True):
        if len(documents) > 1:
            click.secho(f"== {name}", bold=True)
        click.echo(format_extraction(result))
