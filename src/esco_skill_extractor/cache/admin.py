"""Looking after the caches under one root: list, status, full verification and pruning.

Each function takes the cache root it works on; :class:`~.store.EmbeddingCache`'s ``list``,
``status``, ``verify`` and ``prune`` methods call them. Listing runs the fast
checks of every folder, verifying the full ones; pruning deletes folders under their key's
lock and never touches backups.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CacheError
from .files import folder_bytes, remove_path
from .key import CacheKey
from .layout import (
    DIGEST_PATTERN,
    FolderMissing,
    cache_folders,
    check_folder,
    key_lock,
    lock_file,
    manifest_key,
    missing_message,
    open_folder,
    read_manifest_loosely,
    resolve_target,
)
from .legacy_files import LegacyCache, find_legacy

__all__ = ["CacheEntry", "CacheStatus", "VerifyReport", "list_entries", "prune", "status", "verify"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheEntry:
    """One cache folder as :meth:`EmbeddingCache.list` sees it (fast checks only).

    Attributes:
        digest: The folder name.
        path: The folder.
        state: ``"ok"`` or ``"corrupted"``.
        problem: What is wrong, when corrupted.
        manifest: The manifest, when it could be read.
        size_bytes: Bytes on disk.
    """

    digest: str
    path: Path
    state: str
    problem: str = ""
    manifest: Mapping[str, Any] | None = None
    size_bytes: int = 0

    @property
    def key(self) -> CacheKey | None:
        """The key the manifest records, when it is readable."""
        return manifest_key(self.manifest)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (``cache list --json``)."""
        key = self.key
        manifest = self.manifest or {}
        return {
            "digest": self.digest,
            "path": str(self.path),
            "state": self.state,
            "problem": self.problem,
            "model": key.model_id if key else None,
            "model_revision": key.model_revision if key else None,
            "taxonomy_version": key.taxonomy_version if key else None,
            "taxonomy_hash": key.taxonomy_hash if key else None,
            "language": key.taxonomy_language if key else None,
            "recipe": f"{key.recipe_name} v{key.recipe_version}" if key else None,
            "dtype": key.dtype if key else None,
            "backend": key.backend if key else None,
            "dim": manifest.get("dim"),
            "rows": {n: t.get("rows") for n, t in manifest.get("tables", {}).items()},
            "created": manifest.get("created"),
            "size_bytes": self.size_bytes,
        }


@dataclass(frozen=True)
class CacheStatus:
    """What :func:`status` reports.

    Attributes:
        root: The cache root.
        entries: Every cache folder.
        current: The key of the running configuration, when known.
        current_state: ``"ready"``, ``"missing"``, ``"corrupted"`` or ``"unknown"`` (no key).
        current_problem: What is wrong with the current configuration's cache.
        legacy: Legacy cache files found (never loaded).
    """

    root: Path
    entries: tuple[CacheEntry, ...]
    current: CacheKey | None
    current_state: str
    current_problem: str = ""
    legacy: tuple[LegacyCache, ...] = ()

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (``cache status --json``)."""
        current_digest = self.current.digest() if self.current else None
        return {
            "root": str(self.root),
            "current": {
                "key": self.current.as_dict() if self.current else None,
                "digest": current_digest,
                "path": str(self.root / current_digest) if current_digest else None,
                "state": self.current_state,
                "problem": self.current_problem,
            },
            "caches": [{**e.summary(), "current": e.digest == current_digest} for e in self.entries],
            "total_bytes": sum(e.size_bytes for e in self.entries),
            "legacy": [item.summary() for item in self.legacy],
        }


@dataclass(frozen=True)
class VerifyReport:
    """The result of a full check of one cache folder.

    Attributes:
        digest: The folder name.
        path: The folder.
        problems: Everything found wrong; empty when the cache is good.
    """

    digest: str
    path: Path
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def list_entries(root: Path) -> list[CacheEntry]:
    """Every cache folder under ``root``, with the fast checks' verdict."""
    entries = []
    for path in cache_folders(root):
        size = folder_bytes(path)
        try:
            cached = open_folder(path, None, None, full=False)
        except CacheError as exc:
            entries.append(
                CacheEntry(path.name, path, "corrupted", str(exc), read_manifest_loosely(path), size)
            )
        else:
            entries.append(CacheEntry(path.name, path, "ok", "", cached.manifest, size))
    return entries


def status(
    root: Path,
    current: CacheKey | None = None,
    *,
    legacy_dirs: Iterable[str | os.PathLike[str]] = (),
) -> CacheStatus:
    """What is cached, whether it is sound, and whether the current configuration has one.

    Args:
        root: The cache root.
        current: The key of the running configuration, if known.
        legacy_dirs: Extra folders to scan for legacy caches.
    """
    entries = tuple(list_entries(root))
    state, problem = "unknown", ""
    if current is not None:
        entry = next((e for e in entries if e.digest == current.digest()), None)
        if entry is None:
            state, problem = "missing", missing_message(root, current)
        elif entry.state != "ok":
            state, problem = "corrupted", entry.problem
        elif entry.manifest and entry.manifest.get("key") != current.as_dict():
            state, problem = "corrupted", "the manifest records another key"
        else:
            state = "ready"
    legacy = tuple(find_legacy([*legacy_dirs, root]))
    return CacheStatus(root, entries, current, state, problem, legacy)


def verify(root: Path, target: CacheKey | str | Path | None = None) -> list[VerifyReport]:
    """Full checks (sha256 of every file) of one cache or of all of them under ``root``."""
    paths = [resolve_target(root, target)] if target is not None else cache_folders(root)
    reports = []
    for path in paths:
        problems: list[str] = []
        try:
            cached = check_folder(path)
        except FolderMissing:
            problems.append(f"{path} does not exist")
        except CacheError as exc:
            problems.append(str(exc))
        else:
            for name, vectors in cached.vectors.items():
                if cached.key.normalized and len(vectors):
                    norms = np.linalg.norm(np.asarray(vectors[:4096], np.float32), axis=1)
                    if not np.allclose(norms, 1.0, atol=1e-2):
                        problems.append(f"{path}/{name}.npy: vectors are not normalised")
        reports.append(VerifyReport(path.name, path, tuple(problems)))
    return reports


def prune(root: Path, keep: Iterable[CacheKey | str] = (), *, dry_run: bool = False) -> list[Path]:
    """Delete every cache folder under ``root`` except those in ``keep``, and leftovers of crashed builds.

    Backups are never touched. A build in progress (its lock is held) is left alone.

    Returns:
        The folders deleted (or that would be, with ``dry_run``).
    """
    from filelock import FileLock, Timeout

    kept = {k.digest() if isinstance(k, CacheKey) else k for k in keep}
    removed = []
    for path in cache_folders(root):
        if path.name not in kept:
            removed.append(path)
    if root.is_dir():
        for path in sorted(root.glob(".tmp-*")) + sorted(root.glob(".trash-*")):
            digest = path.name.split("-")[1]
            lock = FileLock(str(lock_file(root, digest)))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # being built right now
            lock.release()
            removed.append(path)
    if not dry_run:
        for path in removed:
            if DIGEST_PATTERN.match(path.name):
                with key_lock(root, path.name):
                    remove_path(path)
            else:
                remove_path(path)
            logger.info("removed %s", path)
    return removed
