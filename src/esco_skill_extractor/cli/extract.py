"""``extract``: skills and occupations of a text, a file or stdin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..extraction import SkillExtractor
from ..types import Extraction
from .base import AppContext, echo_json, pass_app

__all__ = ["extract_command", "format_extraction", "make_extractor"]


def make_extractor(app: AppContext, skills_threshold: float | None = None,
                   occupation_threshold: float | None = None) -> SkillExtractor:
    """A :class:`SkillExtractor` for the CLI's options (model, device, data and cache folders)."""
    loaded = app.loaded_model
    extractor = SkillExtractor(
        skills_threshold=skills_threshold,
        occupation_threshold=occupation_threshold,
        taxonomy=app.taxonomy,
        embedder=loaded.embedder,
        cache_dir=app.cache_dir,
        show_progress=sys.stderr.isatty(),
    )
    extractor.fallback_used = loaded.fallback_used
    extractor.fallback_reason = loaded.fallback_reason
    return extractor


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
            via = {"text": "named in the text", "skills": "inferred from skills",
                   "text+skills": "named and supported by skills"}[o.source]
            lines.append(f"  {o.score:.2f}  {o.label}  (ISCO {o.isco_code}; {via})")
            lines.append(f"        {o.uri}")
            if o.essential_skills_found:
                lines.append(f"        essential skills covered: {len(o.essential_skills_found)}"
                             f" of {o.essential_skills_total}")
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
        try:
            out.append((str(path), path.read_text("utf-8")))
        except UnicodeDecodeError:
            raise click.BadParameter(f"{path} is not UTF-8 text", param_hint="INPUT") from None
    return out


@click.command("extract")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", "-t", help="The text to analyse (instead of files or stdin).")
@click.option("--skills-threshold", type=click.FloatRange(0, 1),
              help="Minimum skill score (default: the model's).")
@click.option("--occupation-threshold", "--occupations-threshold", "occupation_threshold",
              type=click.FloatRange(0, 1), help="Minimum occupation score (default: the model's).")
@click.option("--max-results", type=click.IntRange(1), help="At most this many of each.")
@click.option("--lang", "language", default="en", show_default=True, help="Label language.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def extract_command(app: AppContext, inputs: tuple[Path, ...], text: str | None,
                    skills_threshold: float | None, occupation_threshold: float | None,
                    max_results: int | None, language: str, as_json: bool) -> None:
    """Find ESCO skills and occupations in a text, files, or stdin."""
    documents = _read_inputs(text, inputs)
    extractor = make_extractor(app, skills_threshold, occupation_threshold)
    results = extractor.extract([body for _, body in documents], max_results=max_results,
                                language=language)
    if as_json:
        payload = [{"source": name} | r.to_dict() for (name, _), r in zip(documents, results,
                                                                           strict=True)]
        echo_json(payload[0] if text is not None or len(payload) == 1 else payload)
        return
    for (name, _), result in zip(documents, results, strict=True):
        if len(documents) > 1:
            click.secho(f"== {name}", bold=True)
        click.echo(format_extraction(result))
