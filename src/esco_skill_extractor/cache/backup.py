"""Backups of the caches under one root: copy every sound cache aside, list, restore.

A backup is ``backups/<name>/<digest>/`` under the root, made in a temporary folder and
moved into place at once; :func:`prune <.admin.prune>` never touches it. Restoring checks
every cache of the backup in full before copying any back, each under its key's lock.
Each function takes the cache root it works on; :class:`~.store.EmbeddingCache`'s
``backups``, ``backup`` and ``restore`` methods call them.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..errors import CacheError
from .admin import list_entries
from .files import install_folder, remove_path
from .layout import DIGEST_PATTERN, check_folder, key_lock

__all__ = ["backups_dir", "list_backups", "make_backup", "restore_backup"]

logger = logging.getLogger(__name__)

_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def backups_dir(root: Path) -> Path:
    """The folder that holds the backups of the caches under ``root``."""
    return root / "backups"


def list_backups(root: Path) -> list[str]:
    """Names of the backups, oldest first."""
    folder = backups_dir(root)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _BACKUP_NAME.match(p.name)]
    return [p.name for p in sorted(found, key=lambda p: (p.stat().st_mtime, p.name))]


def make_backup(root: Path, name: str | None = None) -> Path:
    """Copy every sound cache folder to ``backups/<name>`` (default: a UTC timestamp).

    Args:
        root: The cache root.
        name: The backup's name: letters, digits, ``.``, ``_`` and ``-``.

    Returns:
        The backup's folder.

    Raises:
        CacheError: the name is not a simple file name, or the backup exists already.
    """
    name = name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if not _BACKUP_NAME.match(name):
        raise CacheError(f"backup name {name!r}: use letters, digits, '.', '_' and '-'")
    folder = backups_dir(root)
    target = folder / name
    if target.exists():
        raise CacheError(f"a backup named {name!r} exists already: {target}")
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".tmp-{name}-{secrets.token_hex(4)}"
    temp.mkdir()
    try:
        for entry in list_entries(root):
            if entry.state != "ok":
                logger.warning("not backing up %s: %s", entry.path, entry.problem)
                continue
            shutil.copytree(entry.path, temp / entry.digest)
        os.replace(temp, target)
    except BaseException:
        remove_path(temp)
        raise
    logger.info("backed up the embedding caches to %s", target)
    return target


def restore_backup(root: Path, name: str) -> list[Path]:
    """Copy the caches of backup ``name`` back into place (each checked in full first).

    Args:
        root: The cache root.
        name: The backup, as :func:`list_backups` names it.

    Returns:
        The cache folders restored.

    Raises:
        CacheError: there is no such backup.
        CacheCorrupted: a cache in the backup fails its checks (nothing is restored).
    """
    source = backups_dir(root) / name
    if not _BACKUP_NAME.match(name) or not source.is_dir():
        known = ", ".join(list_backups(root)) or "none"
        raise CacheError(f"no backup named {name!r} (backups: {known})")
    folders = sorted(p for p in source.iterdir() if p.is_dir() and DIGEST_PATTERN.match(p.name))
    for folder in folders:
        check_folder(folder)
    restored = []
    for folder in folders:
        with key_lock(root, folder.name):
            temp = root / f".tmp-{folder.name}-{secrets.token_hex(4)}"
            try:
                shutil.copytree(folder, temp)
                install_folder(temp, root / folder.name)
            except BaseException:
                remove_path(temp)
                raise
        restored.append(root / folder.name)
    logger.info("restored %d caches from backup %s", len(restored), name)
    return restored
