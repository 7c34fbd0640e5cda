"""Cache folders on disk: their names, their locks, and the checks a folder passes to be served.

:mod:`.store` documents the layout and the bytes, and writes folders; this module finds
them under a root, reads a folder's manifest and opens its tables after checking the
manifest against the expected key and every file's size, header and checksum (sampled, or
full sha256). Nothing here builds or deletes a cache.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import CacheCorrupted, CacheVersionMismatch
from .encoding import TextTable
from .files import file_sha256, sample_sha256, utc_now
from .key import FORMAT_VERSION, CacheKey

__all__ = [
    "CHECKSUMS",
    "DIGEST_PATTERN",
    "MANIFEST",
    "STAMPS_DIR",
    "TABLE_PATTERN",
    "CachedVectors",
    "FolderMissing",
    "cache_folders",
    "check_folder",
    "key_lock",
    "lock_file",
    "manifest_key",
    "missing_message",
    "open_folder",
    "read_manifest",
    "read_manifest_loosely",
    "resolve_target",
    "stamp_file",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
STAMPS_DIR = ".checked"  # under the root: one stamp per folder whose full sums passed
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{16}$")
TABLE_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
_LOCK_WAIT_LOG_S = 10.0


@dataclass(frozen=True)
class CachedVectors:
    """Vectors loaded from (or just written to) the cache.

    Attributes:
        key: The cache key.
        path: The cache folder.
        manifest: The parsed ``manifest.json``.
        vectors: ``vectors[name][i]`` is the vector of ``tables[name].texts[i]``: read-only
            memory-mapped arrays of the key's dtype.
    """

    key: CacheKey
    path: Path
    manifest: Mapping[str, Any]
    vectors: Mapping[str, np.ndarray]


class FolderMissing(Exception):
    """No folder for the key (internal; becomes a build or a CacheVersionMismatch)."""


# -- reading and checking one folder ----------------------------------------------------------
def open_folder(
    path: Path,
    key: CacheKey | None,
    tables: Mapping[str, TextTable] | None,
    *,
    full: bool,
) -> CachedVectors:
    """Open a cache folder after checking it against ``key`` (any key when ``None``).

    Args:
        path: The folder.
        key: The key it must record, or ``None`` to accept the one it records.
        tables: The tables it must hold (names and row counts), when given.
        full: Check full sha256 sums instead of sampled ones.

    Raises:
        FolderMissing: there is no such folder.
        CacheVersionMismatch: it records another key, format or tables.
        CacheCorrupted: its manifest or files fail the checks.
    """
    if not path.is_dir():
        raise FolderMissing(str(path))
    manifest = read_manifest(path)
    recorded = manifest.get("key")
    if key is not None and recorded != key.as_dict():
        try:
            differs = ", ".join(sorted(key.differences(CacheKey.from_dict(recorded or {}))))
        except (TypeError, ValueError):
            differs = "unreadable key"
        raise CacheVersionMismatch(f"{path} was built for another configuration (differs in: {differs})")
    if key is not None:
        stored_key = key
    else:
        try:
            stored_key = CacheKey.from_dict(recorded if isinstance(recorded, dict) else {})
        except (TypeError, ValueError) as exc:
            raise CacheCorrupted(f"{path}: the manifest's key is unreadable: {exc}") from None
    if stored_key.digest() != path.name:
        raise CacheCorrupted(f"{path}: the manifest's key does not match the folder name")
    entries = manifest.get("tables")
    if not isinstance(entries, dict) or not entries:
        raise CacheCorrupted(f"{path}: the manifest lists no tables")
    if not all(isinstance(entry, dict) for entry in entries.values()):
        raise CacheCorrupted(f"{path}: the manifest's tables are malformed")
    if tables is not None:
        if set(tables) != set(entries):
            raise CacheVersionMismatch(f"{path} holds tables {sorted(entries)}, not {sorted(tables)}")
        for name, table in tables.items():
            if entries[name].get("rows") != len(table.texts):
                raise CacheVersionMismatch(
                    f"{path}: table {name} has {entries[name].get('rows')} rows, expected {len(table.texts)}"
                )
    stamp = _stamp(path, entries)
    # Full sums once; afterwards the files' stat stamp (size, mtime, ctime, inode) tells
    # that nothing was written to them since (any write changes ctime).
    check_all = full or stamp is None or stamp != _read_stamp(path)
    vectors = {
        name: _open_table(path, name, entry, stored_key.dtype, full=check_all)
        for name, entry in entries.items()
    }
    if check_all and stamp is not None:
        _write_stamp(path, stamp)
    return CachedVectors(stored_key, path, MappingProxyType(manifest), MappingProxyType(vectors))


# -- the stamp of a folder whose full sums were checked -----------------------------------------
def stamp_file(path: Path) -> Path:
    """Where the stamp of the cache folder ``path`` is kept (outside it, so that an export
    holds only the cache's own files)."""
    return path.parent / STAMPS_DIR / f"{path.name}.json"


def _stamp(path: Path, entries: Mapping[str, Any]) -> dict[str, list[int]] | None:
    """The stat of the manifest and of every table file; ``None`` when one is missing."""
    out = {}
    for name in [MANIFEST, *(f"{table}.npy" for table in sorted(entries))]:
        try:
            info = (path / name).stat()
        except OSError:
            return None
        out[name] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]
    return out


def _read_stamp(path: Path) -> dict[str, list[int]] | None:
    try:
        stamp = json.loads(stamp_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp.get("files") if isinstance(stamp, dict) else None


def _write_stamp(path: Path, files: dict[str, list[int]]) -> None:
    target = stamp_file(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(exist_ok=True)
        temporary.write_text(json.dumps({"files": files, "checked": utc_now()}), encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:  # a read-only cache: every start checks the full sums
        logger.debug("cannot record that %s was checked: %s", path, exc)
        temporary.unlink(missing_ok=True)


def check_folder(path: Path) -> CachedVectors:
    """Full checks of a folder, whatever key it records (raises as :func:`open_folder`)."""
    return open_folder(path, None, None, full=True)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a folder, checked to be a JSON object of this cache format."""
    file = path / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CacheCorrupted(f"{path}: {MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CacheCorrupted(f"{file} is unreadable: {exc}") from None
    if not isinstance(manifest, dict):
        raise CacheCorrupted(f"{file} is not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CacheVersionMismatch(
            f"{path} has cache format {manifest.get('format_version')!r}; this version of "
            f"esco-skill-extractor reads format {FORMAT_VERSION}"
        )
    return manifest


def read_manifest_loosely(path: Path) -> dict[str, Any] | None:
    """The manifest of a folder as plain JSON, unchecked; ``None`` when it is unreadable."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def manifest_key(manifest: Mapping[str, Any] | None) -> CacheKey | None:
    """The key a manifest records, when it is readable."""
    if manifest is None:
        return None
    try:
        return CacheKey.from_dict(manifest.get("key", {}))
    except (TypeError, ValueError):
        return None


def _open_table(path: Path, name: str, entry: Any, dtype: str, *, full: bool) -> np.ndarray:
    if not isinstance(entry, dict) or not TABLE_PATTERN.match(name):
        raise CacheCorrupted(f"{path}: bad manifest entry for table {name!r}")
    file = path / f"{name}.npy"
    if entry.get("file") != file.name:
        raise CacheCorrupted(f"{path}: table {name} names file {entry.get('file')!r}")
    if not file.is_file():
        raise CacheCorrupted(f"{file} is missing")
    size = file.stat().st_size
    if size != entry.get("bytes"):
        raise CacheCorrupted(f"{file} has {size} bytes, the manifest says {entry.get('bytes')}")
    if full:
        if file_sha256(file) != entry.get("sha256"):
            raise CacheCorrupted(f"{file} fails its sha256 checksum")
    elif sample_sha256(file) != entry.get("sample_sha256"):
        raise CacheCorrupted(f"{file} fails its sampled checksum")
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CacheCorrupted(f"{file} is not a readable .npy array: {exc}") from None
    expected = (entry.get("rows"), entry.get("dim"))
    if array.shape != expected or array.dtype != np.dtype(dtype).newbyteorder("<"):
        raise CacheCorrupted(f"{file} holds {array.dtype} {array.shape}, expected {dtype} {expected}")
    return array  # type: ignore[no-any-return]


# -- the folders under a root -----------------------------------------------------------------
def cache_folders(root: Path) -> list[Path]:
    """The cache folders (named by a digest) under ``root``, sorted."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and DIGEST_PATTERN.match(p.name))


def lock_file(root: Path, digest: str) -> Path:
    """The lock file of one key under ``root``."""
    return root / ".locks" / f"{digest}.lock"


@contextmanager
def key_lock(root: Path, digest: str) -> Iterator[None]:
    """Hold the file lock of one key, logging while another process holds it."""
    from filelock import FileLock, Timeout

    path = lock_file(root, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    waited = 0.0
    while True:
        try:
            lock.acquire(timeout=_LOCK_WAIT_LOG_S)
            break
        except Timeout:
            waited += _LOCK_WAIT_LOG_S
            logger.warning(
                "waiting %.0fs for another process working on embedding cache %s",
                waited,
                digest,
            )
    try:
        yield
    finally:
        lock.release()


def missing_message(root: Path, key: CacheKey) -> str:
    """Why ``key`` has no cache under ``root``, naming how the closest existing one differs."""
    message = (
        f"no embedding cache for {key.describe()} in {root} (key {key.digest()}); "
        "build it with `esco-skill-extractor cache build`"
    )
    nearest: tuple[int, list[str]] | None = None
    for path in cache_folders(root):
        other = manifest_key(read_manifest_loosely(path))
        if other is None:
            continue
        differs = sorted(key.differences(other))
        if nearest is None or len(differs) < nearest[0]:
            nearest = (len(differs), differs)
    if nearest is not None:
        message += f"; the closest existing cache differs in: {', '.join(nearest[1])}"
    return message


def resolve_target(root: Path, target: CacheKey | str | Path) -> Path:
    """The folder under ``root`` that a key or a digest names, or the path itself."""
    if isinstance(target, CacheKey):
        return root / target.digest()
    if isinstance(target, str) and DIGEST_PATTERN.match(target):
        return root / target
    return Path(target)
