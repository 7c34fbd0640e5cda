"""Shared CLI plumbing: error translation, the lazily loaded taxonomy, JSON output."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import EscoError
from ..paths import EMBEDDINGS_DIR, cache_subdir
from ..taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..embedding import Backend, LoadedModel
    from ..extraction import SkillExtractor

__all__ = ["AppContext", "EscoGroup", "echo_json", "make_extractor", "pass_app", "progress_bar"]


class EscoGroup(click.Group):
    """A click group that turns library errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EscoError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@dataclass
class AppContext:
    """Options every command shares; the taxonomy loads on first use."""

    esco_dir: Path | None = None
    cache_dir: Path | None = None
    language: str = "en"
    model: str | None = None  # None: the default model, with fallback to the bundled one
    device: str | None = None  # None: cuda, then mps, then cpu
    backend: Backend = "torch"  # set by commands that take --backend, before the model loads
    _taxonomy: Taxonomy | None = field(default=None, repr=False)
    _loaded_model: LoadedModel | None = field(default=None, repr=False)

    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy(self.esco_dir, language=self.language, cache_dir=self.cache_dir)
        return self._taxonomy

    @property
    def loaded_model(self) -> LoadedModel:
        """The embedding model, loaded on first use (``--model``, ``--device``)."""
        if self._loaded_model is None:
            from ..embedding import load_embedder

            self._loaded_model = load_embedder(
                self.model, device=self.device, backend=self.backend, cache_dir=self.cache_dir
            )
        return self._loaded_model

    @property
    def embedding_cache(self) -> EmbeddingCache:
        """The embedding cache under ``--cache-dir`` (default: the user cache folder)."""
        from ..cache import EmbeddingCache

        return EmbeddingCache(cache_subdir(EMBEDDINGS_DIR, self.cache_dir))


pass_app = click.make_pass_decorator(AppContext)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON (UTF-8, not ASCII-escaped)."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def make_extractor(
    app: AppContext,
    skills_threshold: float | None = None,
    occupation_threshold: float | None = None,
    *,
    segment_cache_size: int = 10_000,
) -> SkillExtractor:
    """A :class:`SkillExtractor` for the CLI's options (model, device, data and cache folders)."""
    from ..extraction import SkillExtractor
    from ..extraction.assembly import assemble

    parts = assemble(
        loaded=app.loaded_model,
        taxonomy=app.taxonomy,
        cache_dir=app.cache_dir,
        show_progress=sys.stderr.isatty(),
    )
    return SkillExtractor.from_assembly(
        parts, skills_threshold, occupation_threshold, segment_cache_size=segment_cache_size
    )


def progress_bar(total: int | None, done: int, progress: bool | None) -> Any:
    """The documents' progress bar on stderr (``progress=None``: when stderr is a terminal)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    return tqdm(
        total=total,
        initial=done,
        unit="doc",
        desc="Extracting",
        disable=not (sys.stderr.isatty() if progress is None else progress),
        dynamic_ncols=True,
        mininterval=0.5,
        file=sys.stderr,
    )
