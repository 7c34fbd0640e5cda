"""The ``esco-skill-extractor`` command group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..__about__ import __version__
from .base import AppContext, EscoGroup, configure_logging, echo_json, pass_app
from .taxonomy import taxonomy_group

__all__ = ["cli", "main"]


@click.group(cls=EscoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esco-skill-extractor")
@click.option("--esco-dir", type=click.Path(path_type=Path), envvar="ESCO_DATA_DIR",
              help="Folder with ESCO CSVs (official layout). Default: the built-in ESCO v1.2.0.")
@click.option("--esco-language", default="en", show_default=True,
              help="Primary language of the ESCO files (skills_<lang>.csv).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="ESCO_CACHE_DIR",
              help="Cache folder (embeddings, taxonomy snapshots).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, esco_dir: Path | None, esco_language: str,
        cache_dir: Path | None, verbose: int) -> None:
    """Extract ESCO skills and occupations from free text."""
    configure_logging(verbose)
    ctx.obj = AppContext(esco_dir=esco_dir, cache_dir=cache_dir, language=esco_language)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def info(app: AppContext, as_json: bool) -> None:
    """Show the version, the taxonomy and its counts."""
    summary: dict[str, Any] = {"version": __version__, "taxonomy": app.taxonomy.summary()}
    if as_json:
        echo_json(summary)
        return
    t = summary["taxonomy"]
    click.echo(f"esco-skill-extractor {__version__}")
    click.echo(f"ESCO {t['version']} from {t['source']}")
    click.echo(f"  skills: {t['skills']:,}  occupations: {t['occupations']:,}  "
               f"ISCO groups: {t['isco_groups']:,}  relations: {t['occupation_skill_relations']:,}")
    click.echo(f"  languages: {', '.join(t['languages'])}")


cli.add_command(taxonomy_group)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="esco-skill-extractor")
