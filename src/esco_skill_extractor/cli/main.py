"""The ``esco-skill-extractor`` command group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..__about__ import __version__
from ..embedding import ModelChoice, resolve_model
from ..errors import EscoError
from ..taxonomy import Taxonomy
from .base import AppContext, EscoGroup, configure_logging, echo_json, pass_app
from .cache import cache_group, cache_summary, model_summary
from .export import export_js_command
from .extract import extract_command
from .serve import serve_command
from .taxonomy import taxonomy_group

__all__ = ["cli", "main"]


@click.group(cls=EscoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esco-skill-extractor")
@click.option(
    "--esco-dir",
    type=click.Path(path_type=Path),
    envvar="ESCO_DATA_DIR",
    help="Folder with ESCO CSVs (official layout). Default: the built-in ESCO v1.2.0.",
)
@click.option(
    "--esco-language",
    default="en",
    show_default=True,
    help="Primary language of the ESCO files (skills_<lang>.csv).",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    envvar="ESCO_CACHE_DIR",
    help="Cache folder (embeddings, taxonomy snapshots).",
)
@click.option(
    "--model",
    envvar="ESCO_MODEL",
    help="Embedding model: a Hugging Face id, all-MiniLM-L6-v2 (bundled, offline) or "
    "a local folder. Default: BAAI/bge-m3, else the bundled model with a warning.",
)
@click.option(
    "--device", envvar="ESCO_DEVICE", help="cpu, cuda, cuda:N or mps. Default: cuda, then mps, then cpu."
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(
    ctx: click.Context,
    esco_dir: Path | None,
    esco_language: str,
    cache_dir: Path | None,
    model: str | None,
    device: str | None,
    verbose: int,
) -> None:
    """Extract ESCO skills and occupations from free text."""
    configure_logging(verbose)
    ctx.obj = AppContext(
        esco_dir=esco_dir,
        cache_dir=cache_dir,
        language=esco_language,
        model=model or None,
        device=device or None,
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def info(app: AppContext, as_json: bool) -> None:
    """Show the version, the taxonomy, the embedding model and the state of its cache."""
    try:
        choice = resolve_model(app.model)
    except EscoError:
        choice = None  # model_summary reports the error
    summary: dict[str, Any] = {
        "version": __version__,
        "taxonomy": app.taxonomy.summary(),
        "model": model_summary(app, choice),
        "cache": cache_summary(app, choice=choice),
        "languages": languages_summary(app.taxonomy, choice),
    }
    if as_json:
        echo_json(summary)
        return
    t = summary["taxonomy"]
    click.echo(f"esco-skill-extractor {__version__}")
    click.echo(f"ESCO {t['version']} from {t['source']}")
    click.echo(
        f"  skills: {t['skills']:,}  occupations: {t['occupations']:,}  "
        f"ISCO groups: {t['isco_groups']:,}  relations: {t['occupation_skill_relations']:,}"
    )
    click.echo(f"  languages: {', '.join(t['languages'])}")
    m = summary["model"]
    if "error" in m:
        click.echo(f"Model: {m['name']}: {m['error']}")
    else:
        click.echo(
            f"Model: {m['name']} ({m['source']}, {m['dims'] or '?'} dims, "
            f"device {m['device'] or m.get('device_error')})"
        )
        if m["fallback_used"]:
            click.echo(f"  fallback: {m['fallback_reason']}")
    c = summary["cache"]
    click.echo(f"Embedding cache: {c['state']}" + (f" at {c['path']}" if c["path"] else ""))
    if c["problem"]:
        click.echo(f"  {c['problem']}")
    lang = summary["languages"]
    click.echo(
        f"Languages matched: {', '.join(lang['matched'])} (labels embedded: {', '.join(lang['embedded'])}"
        + (f"; other languages read by {lang['multilingual_model']})" if lang["multilingual_model"] else ")")
    )
    if lang["glossed"]:
        click.echo(f"  {m['name']} reads an English gloss of: {', '.join(lang['glossed'])}")


def languages_summary(taxonomy: Taxonomy, choice: ModelChoice | None) -> dict[str, Any]:
    """Which languages' labels are matched, embedded and shown, and which model reads which."""
    from ..extraction.assembly import choose_multilingual_model, label_languages

    spec = choice.location.spec if choice is not None else None
    other = choose_multilingual_model(spec, taxonomy) if spec is not None else None
    embedded = list(taxonomy.languages) if spec is not None and spec.multilingual else [taxonomy.language]
    return {
        "matched": list(label_languages(taxonomy)),
        "embedded": embedded,
        "displayed": list(taxonomy.languages),
        "multilingual_model": other,
        # read by the main model through an English gloss learned from the parallel labels
        "glossed": list(label_languages(taxonomy)[1:]) if other is not None else [],
        "detection": "per text (lingua), unless a language is given",
    }


cli.add_command(taxonomy_group)
cli.add_command(extract_command)
cli.add_command(cache_group)
cli.add_command(serve_command)
cli.add_command(export_js_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="esco-skill-extractor")
