"""Moving one cache between machines: export to a tar archive and import from one.

An archive holds ``SHA256SUMS`` and ``<digest>/manifest.json`` plus the vector files of one
cache folder. Exporting verifies the cache in full first; importing reads members as plain
bytes (no links, no paths outside one cache folder, no unknown names), checks them against
``SHA256SUMS`` and the manifest, and moves the folder into place atomically under its key's
lock. Each function takes the cache root it works on; :class:`~.store.EmbeddingCache`'s
``export`` and ``import_`` methods call them.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import shutil
import tarfile
import time
from pathlib import Path

from ..errors import CacheCorrupted, CacheError, CacheVersionMismatch
from .admin import CacheEntry, list_entries
from .files import CHUNK, MIB, file_sha256, install_folder, remove_path
from .key import CacheKey
from .layout import (
    CHECKSUMS,
    DIGEST_PATTERN,
    MANIFEST,
    TABLE_PATTERN,
    FolderMissing,
    check_folder,
    key_lock,
    read_manifest,
    resolve_target,
)

__all__ = ["export_cache", "import_cache"]

logger = logging.getLogger(__name__)


def export_cache(root: Path, target: CacheKey | str | Path, file: str | os.PathLike[str]) -> Path:
    """Write one cache to an archive (``.tar``, or gzipped for ``.tar.gz`` / ``.tgz``).

    The archive holds ``SHA256SUMS`` and ``<digest>/manifest.json`` plus the vector
    files; the cache is fully verified first.

    Args:
        root: The cache root.
        target: The cache: its key, its digest or its folder.
        file: The archive to write.

    Returns:
        The archive.

    Raises:
        CacheVersionMismatch: no such cache.
        CacheCorrupted: the cache fails its checks (a bad cache is never shipped).
    """
    path = resolve_target(root, target)
    if not path.is_dir():
        raise CacheVersionMismatch(f"no embedding cache at {path}")
    cached = check_folder(path)
    out = Path(file).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    members = [MANIFEST, *(e["file"] for e in cached.manifest["tables"].values())]
    sums = "".join(f"{file_sha256(path / m)}  {path.name}/{m}\n" for m in members)
    mode = "w:gz" if out.name.endswith((".gz", ".tgz")) else "w"
    temp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    try:
        with tarfile.open(temp, mode) as archive:  # type: ignore[call-overload]
            data = sums.encode()
            info = tarfile.TarInfo(CHECKSUMS)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            archive.addfile(info, io.BytesIO(data))
            for member in members:
                archive.add(path / member, arcname=f"{path.name}/{member}", recursive=False)
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    logger.info("exported %s to %s", path, out)
    return out


def import_cache(root: Path, file: str | os.PathLike[str], expect_key: CacheKey | None = None) -> CacheEntry:
    """Install a cache from an archive made by :func:`export_cache`.

    Members are read as plain bytes (no links, no paths outside one cache folder, no
    unknown names), checked against ``SHA256SUMS`` and the manifest, and moved into place
    atomically.

    Args:
        root: The cache root.
        file: The archive.
        expect_key: Refuse the archive unless it holds exactly this key (the running
            model, taxonomy, recipe and dtype).

    Returns:
        The installed cache, as listed.

    Raises:
        CacheVersionMismatch: the archive is for another configuration than
            ``expect_key``, or another cache format.
        CacheCorrupted: the archive is malformed or a member fails its checksum.
    """
    source = Path(file).expanduser()
    if not source.is_file():
        raise CacheCorrupted(f"archive not found: {source}")
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".tmp-import-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        digest, sums = _extract(source, staging)
        folder = staging / digest
        for name, expected in sums.items():
            if file_sha256(folder / name) != expected:
                raise CacheCorrupted(f"{source}: {digest}/{name} fails its checksum")
        manifest = read_manifest(folder)
        try:
            key = CacheKey.from_dict(manifest.get("key", {}))
        except (TypeError, ValueError) as exc:
            raise CacheCorrupted(f"{source}: the manifest's key is unreadable: {exc}") from None
        if expect_key is not None and key != expect_key:
            differs = key.differences(expect_key)
            detail = "; ".join(f"{k}: archive {a!r}, here {b!r}" for k, (a, b) in sorted(differs.items()))
            raise CacheVersionMismatch(
                f"{source} holds embeddings for {key.describe()}, which do not fit the "
                f"current configuration ({detail})"
            )
        if set(sums) != {MANIFEST, *(f"{t}.npy" for t in manifest.get("tables", {}))}:
            raise CacheCorrupted(f"{source}: the checksums do not cover the cache's files")
        check_folder(folder)
        with key_lock(root, digest):
            try:
                check_folder(root / digest)
                logger.info("%s is already installed and sound; keeping it", digest)
            except (FolderMissing, CacheError):
                install_folder(folder, root / digest)
    finally:
        remove_path(staging)
    logger.info("imported %s from %s", root / digest, source)
    return next(e for e in list_entries(root) if e.digest == digest)


def _extract(source: Path, staging: Path) -> tuple[str, dict[str, str]]:
    digest: str | None = None
    sums: dict[str, str] | None = None
    seen: set[str] = set()
    try:
        archive = tarfile.open(source, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise CacheCorrupted(f"{source} is not a cache archive: {exc}") from None
    with archive:
        try:
            for member in archive:
                name = member.name
                if name in seen:
                    raise CacheCorrupted(f"{source}: member {name!r} appears twice")
                seen.add(name)
                if not member.isreg():
                    raise CacheCorrupted(f"{source}: member {name!r} is not a plain file")
                parts = name.split("/")
                if name == CHECKSUMS:
                    handle = archive.extractfile(member)
                    assert handle is not None
                    sums = _parse_sums(source, handle.read(MIB).decode("utf-8"))
                    continue
                if (
                    len(parts) != 2
                    or not DIGEST_PATTERN.match(parts[0])
                    or not (
                        parts[1] == MANIFEST
                        or (parts[1].endswith(".npy") and TABLE_PATTERN.match(parts[1][:-4]))
                    )
                ):
                    raise CacheCorrupted(f"{source}: unexpected member {name!r}")
                if digest is None:
                    digest = parts[0]
                    (staging / digest).mkdir()
                elif parts[0] != digest:
                    raise CacheCorrupted(f"{source} holds more than one cache")
                handle = archive.extractfile(member)
                assert handle is not None
                with (staging / digest / parts[1]).open("wb") as out:
                    shutil.copyfileobj(handle, out, CHUNK)
        except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
            raise CacheCorrupted(f"{source} is damaged: {exc}") from None
    if digest is None or sums is None:
        raise CacheCorrupted(f"{source} holds no cache (or no {CHECKSUMS})")
    prefix = f"{digest}/"
    if any(not p.startswith(prefix) for p in sums):
        raise CacheCorrupted(f"{source}: {CHECKSUMS} names files of another cache")
    named = {p[len(prefix) :]: s for p, s in sums.items()}
    present = {p.name for p in (staging / digest).iterdir()}
    if set(named) != present:
        raise CacheCorrupted(f"{source}: {CHECKSUMS} and the archive's files differ")
    return digest, named


def _parse_sums(source: Path, text: str) -> dict[str, str]:
    sums = {}
    for line in text.splitlines():
        found = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line.strip())
        if found is None:
            raise CacheCorrupted(f"{source}: malformed {CHECKSUMS} line {line!r}")
        sums[found.group(2)] = found.group(1)
    return sums
