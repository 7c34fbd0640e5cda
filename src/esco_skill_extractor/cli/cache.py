"""``cache ...`` commands, and the model and cache sections of ``info``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cache import CacheKey, CacheStatus, VerifyReport, import_legacy
from ..cache.key import Dtype
from ..embedding import ModelChoice, resolve_model, select_device
from ..errors import CacheError, EscoError
from .base import AppContext, echo_json, pass_app

__all__ = [
    "cache_group",
    "cache_summary",
    "format_status",
    "model_summary",
]

F = TypeVar("F", bound=Callable[..., Any])


def _dtype_option(function: F) -> F:
    return click.option(
        "--dtype",
        type=click.Choice(["float16", "float32"]),
        default="float16",
        show_default=True,
        help="Stored float type of the cache in question.",
    )(function)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


# -- the current configuration ----------------------------------------------------------------
def _current(
    app: AppContext, dtype: Dtype, choice: ModelChoice | None = None
) -> tuple[ModelChoice, CacheKey | None, str]:
    """The model a run would use and its cache key, without loading the model."""
    from ..cache.recipe import build_views

    choice = choice or resolve_model(app.model)
    location = choice.location
    if location.revision is None:
        return (
            choice,
            None,
            (f"{location.model_id} is not downloaded yet; its first run (or `cache build`) downloads it"),
        )
    taxonomy = app.taxonomy
    key = app.embedding_cache.key_for(
        location, taxonomy, build_views(taxonomy, multilingual=location.spec.multilingual), dtype=dtype
    )
    return choice, key, ""


def model_summary(app: AppContext, choice: ModelChoice | None = None) -> dict[str, Any]:
    """The ``model`` section of ``info --json``: what would be used, found without loading it."""
    try:
        choice = choice or resolve_model(app.model)
    except EscoError as exc:
        return {"name": app.model, "error": str(exc)}
    location = choice.location
    try:
        device: str | None = select_device(app.device)
        device_error = ""
    except EscoError as exc:
        device, device_error = None, str(exc)
    summary = {
        "name": location.model_id,
        "requested": choice.requested,
        "path": str(location.path) if location.path else None,
        "source": location.source,
        "revision": location.revision,
        "dims": location.dim(),
        "device": device,
        "fallback_used": choice.fallback_used,
        "fallback_reason": choice.fallback_reason,
        "skills_threshold": location.spec.skills_threshold,
        "occupations_threshold": location.spec.occupations_threshold,
    }
    if device_error:
        summary["device_error"] = device_error
    return summary


def cache_summary(
    app: AppContext, dtype: Dtype = "float16", choice: ModelChoice | None = None
) -> dict[str, Any]:
    """The ``cache`` section of ``info --json``: key, path and state of the current cache."""
    cache = app.embedding_cache
    try:
        _, key, problem = _current(app, dtype, choice)
    except EscoError as exc:
        return {"root": str(cache.root), "key": None, "path": None, "state": "unknown", "problem": str(exc)}
    if key is None:
        return {"root": str(cache.root), "key": None, "path": None, "state": "unknown", "problem": problem}
    status = cache.status(key)
    current = status.summary()["current"]
    return {
        "root": str(cache.root),
        "key": current["digest"],
        "path": current["path"],
        "state": current["state"],
        "problem": current["problem"],
    }


# -- formatting -------------------------------------------------------------------------------
def format_status(status: CacheStatus, choice: ModelChoice | None, problem: str) -> dict[str, Any]:
    """The JSON of ``cache status``: root, current configuration, caches, legacy files."""
    out = status.summary()
    if choice is not None:
        out["current"]["model"] = choice.location.model_id
        out["current"]["fallback_used"] = choice.fallback_used
        out["current"]["fallback_reason"] = choice.fallback_reason
    if problem and not out["current"]["problem"]:
        out["current"]["problem"] = problem
    return out


def _print_status(view: dict[str, Any], backups: list[str]) -> None:
    current = view["current"]
    click.echo(f"Embedding caches in {view['root']}")
    model = current.get("model") or "?"
    fallback = " (fallback: the default model is unavailable)" if current.get("fallback_used") else ""
    click.echo(f"Current configuration: {model}{fallback}")
    click.echo(f"  state: {current['state']}" + (f"  key: {current['digest']}" if current["digest"] else ""))
    if current["problem"]:
        click.echo(f"  {current['problem']}")
    if not view["caches"]:
        click.echo("No caches.")
    for entry in view["caches"]:
        mark = "  <- current" if entry["current"] else ""
        rows = ", ".join(f"{n} {r:,}" for n, r in (entry["rows"] or {}).items() if r is not None)
        click.echo(
            f"{entry['digest']}  {entry['state']:9}  {entry['model'] or '?'}  "
            f"ESCO {entry['taxonomy_version'] or '?'}  {entry['recipe'] or '?'}  "
            f"{entry['dtype'] or '?'}  {entry['dim'] or '?'}d  {rows}  "
            f"{_mb(entry['size_bytes'])}{mark}"
        )
        if entry["problem"]:
            click.echo(f"    {entry['problem']}")
    click.echo(f"Total: {_mb(view['total_bytes'])}")
    if backups:
        click.echo("Backups: " + ", ".join(backups))
    for item in view["legacy"]:
        click.echo(f"Legacy: {item['advice']}")


def _print_reports(reports: list[VerifyReport]) -> None:
    for report in reports:
        if report.ok:
            click.echo(f"{report.digest}  ok")
        for problem in report.problems:
            click.echo(f"{report.digest}  FAILED  {problem}")


# -- commands ---------------------------------------------------------------------------------
@click.group("cache")
def cache_group() -> None:
    """Build, check and move embedding caches (one per model, taxonomy, recipe and dtype)."""


@cache_group.command("status")
@_dtype_option
@click.option(
    "--legacy-dir",
    "legacy_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also look for legacy caches here (e.g. an old install's package folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def status_command(app: AppContext, dtype: Dtype, legacy_dirs: tuple[Path, ...], as_json: bool) -> None:
    """What is cached, for which model and taxonomy, and whether it fits the configuration."""
    cache = app.embedding_cache
    choice, key, problem = _current(app, dtype)
    view = format_status(cache.status(key, legacy_dirs=legacy_dirs), choice, problem)
    view["backups"] = cache.backups()
    if as_json:
        echo_json(view)
    else:
        _print_status(view, view["backups"])


_CPU_BATCH = 64
_GPU_BATCH = 256


@cache_group.command("build")
@click.option("--model", help="Model name or folder (default: the global --model).")
@click.option("--device", help="cpu, cuda, cuda:N or mps (default: the global --device).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 4096),
    help=f"Texts per forward pass (default {_CPU_BATCH} on a CPU, {_GPU_BATCH} on a GPU; halved "
    "automatically when the GPU runs out of memory).",
)
@_dtype_option
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@pass_app
def build_command(
    app: AppContext,
    model: str | None,
    device: str | None,
    batch_size: int | None,
    dtype: Dtype,
    progress: bool,
) -> None:
    """Build the cache of the current configuration (or check that it is there).

    On a GPU (--device cuda) ESCO's texts are encoded under float16 autocast in large
    batches; `cache export` there and `cache import` on a CPU-only machine serve the result.
    """
    from ..cache.recipe import build_views
    from ..embedding.registry import model_spec

    if model is not None:
        app.model = model
    if device is not None:
        app.device = device
    loaded = app.loaded_model
    taxonomy = app.taxonomy
    cache = app.embedding_cache
    cached = cache.load_or_build(
        loaded.embedder,
        taxonomy,
        build_views(taxonomy, multilingual=model_spec(loaded.embedder.model_id).multilingual),
        dtype=dtype,
        batch_size=batch_size or (_GPU_BATCH if loaded.embedder.device.startswith("cuda") else _CPU_BATCH),
        show_progress=progress,
    )
    rows = ", ".join(f"{name} {len(v):,}" for name, v in cached.vectors.items())
    verb = "built" if cache.stats.builds else "already built"
    click.echo(f"Embedding cache {verb}: {cached.path}")
    click.echo(f"  {cached.key.describe()}")
    click.echo(f"  {rows} vectors of {cached.manifest['dim']} dims")


@cache_group.command("verify")
@_dtype_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def verify_command(app: AppContext, dtype: Dtype, as_json: bool) -> None:
    """Check every cache's checksums, and that the configuration has a sound cache.

    Exits 1 when a cache fails its checks or the current configuration has none.
    """
    cache = app.embedding_cache
    reports = cache.verify()
    choice, key, problem = _current(app, dtype)
    current_ok = key is not None and any(r.ok and r.digest == key.digest() for r in reports)
    if key is not None and not current_ok and not problem:
        problem = next(
            ("; ".join(r.problems) for r in reports if r.digest == key.digest()),
            f"no cache for the current configuration (key {key.digest()})",
        )
    failed = any(not r.ok for r in reports) or not current_ok
    if as_json:
        echo_json(
            {
                "ok": not failed,
                "current": {
                    "digest": key.digest() if key else None,
                    "ok": current_ok,
                    "problem": problem,
                    "model": choice.location.model_id,
                },
                "caches": [
                    {"digest": r.digest, "path": str(r.path), "ok": r.ok, "problems": list(r.problems)}
                    for r in reports
                ],
            }
        )
    else:
        _print_reports(reports)
        if current_ok:
            click.echo(f"The current configuration ({choice.location.model_id}) has a sound cache.")
        else:
            click.echo(f"Current configuration ({choice.location.model_id}): {problem}")
    if failed:
        raise click.exceptions.Exit(1)


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def list_command(app: AppContext, as_json: bool) -> None:
    """List the caches (fast checks only; `cache verify` checks checksums)."""
    entries = [e.summary() for e in app.embedding_cache.list()]
    if as_json:
        echo_json(entries)
        return
    if not entries:
        click.echo("No caches.")
    for entry in entries:
        click.echo(
            f"{entry['digest']}  {entry['state']:9}  {entry['model'] or '?'}  "
            f"ESCO {entry['taxonomy_version'] or '?'}  {entry['dtype'] or '?'}  "
            f"{_mb(entry['size_bytes'])}  {entry['created'] or ''}"
        )


@cache_group.command("prune")
@click.option("--keep-current", is_flag=True, help="Keep the cache of the current configuration.")
@_dtype_option
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def prune_command(app: AppContext, keep_current: bool, dtype: Dtype, dry_run: bool, yes: bool) -> None:
    """Delete caches (all, or all but the current one) and leftovers of crashed builds.

    Backups are kept.
    """
    cache = app.embedding_cache
    keep: list[CacheKey] = []
    if keep_current:
        _, key, problem = _current(app, dtype)
        if key is None:
            raise CacheError(f"cannot tell the current cache: {problem}")
        keep.append(key)
    doomed = cache.prune(keep, dry_run=True)
    if not doomed:
        click.echo("Nothing to delete.")
        return
    for path in doomed:
        click.echo(f"{'would delete' if dry_run else 'delete'} {path}")
    if dry_run:
        return
    if not yes:
        click.confirm(f"Delete {len(doomed)} folder(s)?", abort=True)
    removed = cache.prune(keep)
    click.echo(f"Deleted {len(removed)} folder(s).")


@cache_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "digest", help="Digest of the cache to export (default: the current one).")
@_dtype_option
@pass_app
def export_command(app: AppContext, file: Path, digest: str | None, dtype: Dtype) -> None:
    """Write a cache to one archive (.tar, or .tar.gz) with its manifest and checksums."""
    cache = app.embedding_cache
    target: CacheKey | str
    if digest:
        target = digest
    else:
        _, key, problem = _current(app, dtype)
        if key is None:
            raise CacheError(f"cannot tell the current cache: {problem}")
        target = key
    out = cache.export(target, file)
    click.echo(f"Exported to {out} ({_mb(out.stat().st_size)})")


@cache_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--any-config",
    is_flag=True,
    help="Install the archive even if it does not fit the current model and taxonomy.",
)
@_dtype_option
@pass_app
def import_command(app: AppContext, file: Path, any_config: bool, dtype: Dtype) -> None:
    """Install a cache archive; it must fit the current model, taxonomy and recipe."""
    expect: CacheKey | None = None
    if not any_config:
        _, expect, problem = _current(app, dtype)
        if expect is None:
            raise CacheError(
                f"cannot tell the current configuration: {problem}; use --any-config to import anyway"
            )
    entry = app.embedding_cache.import_(file, expect_key=expect)
    click.echo(f"Imported {entry.digest} into {entry.path}")


@cache_group.command("backup")
@click.argument("name", required=False)
@pass_app
def backup_command(app: AppContext, name: str | None) -> None:
    """Copy every sound cache to backups/NAME (default: a timestamp)."""
    path = app.embedding_cache.backup(name)
    click.echo(f"Backed up to {path}")


@cache_group.command("restore")
@click.argument("name")
@pass_app
def restore_command(app: AppContext, name: str) -> None:
    """Put the caches of backup NAME back (each is verified first)."""
    restored = app.embedding_cache.restore(name)
    click.echo(f"Restored {len(restored)} cache(s) from {name}")


@cache_group.command("import-legacy")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--model",
    "model",
    required=True,
    help="The model that made the legacy file (PyPI package: all-MiniLM-L6-v2).",
)
@click.option(
    "--trust", is_flag=True, help="You made this file yourself: it is a pickle, and reading one can run code."
)
@_dtype_option
@pass_app
def import_legacy_command(app: AppContext, path: Path, model: str, trust: bool, dtype: Dtype) -> None:
    """Convert a legacy pickle cache (skill_embeddings.bin ...) into a safe cache.

    It is checked against the taxonomy (--esco-dir: the ESCO files it was built from) and
    stored with recipe "pypi-blob", apart from this package's own caches.
    """
    cached = import_legacy(
        path, model, taxonomy=app.taxonomy, cache=app.embedding_cache, trust=trust, dtype=dtype
    )
    rows = ", ".join(f"{name} {len(v):,}" for name, v in cached.vectors.items())
    click.echo(f"Converted {path} into {cached.path} ({rows} vectors)")
