"""The embedding cache on disk: one folder per :class:`CacheKey`, atomic and checksummed.

Layout under the root (default ``default_cache_dir() / "embeddings"``)::

    <digest>/manifest.json      every key part, tables, dims, counts, checksums, versions
    <digest>/<table>.npy        the vectors of one table, row i = text i of the table
    .locks/<digest>.lock        one file lock per key
    .tmp-<digest>-<random>/     a build or import in progress; never loaded
    backups/<name>/<digest>/    copies made by :meth:`EmbeddingCache.backup`

Bytes: each ``<table>.npy`` is a NumPy ``.npy`` file (format 1.0) holding one C-ordered
``(rows, dim)`` array of little-endian IEEE floats, ``<f2`` (float16, the default) or
``<f4`` (float32), L2-normalised in float32 before the cast. It is read with
``np.load(path, mmap_mode="r", allow_pickle=False)``; any ``.npy`` reader can read it, and
nothing in a cache is ever unpickled.

Safety: a build is written into a temporary folder next to its final place, then moved
there with one ``os.replace``, under a per-key file lock; a crash leaves at most a
``.tmp-*`` folder, which never loads. Loading checks the manifest against the expected key
and every file's size and header; the first load after a folder is written or changed
checks full sha256 sums and records the files' stat (size, mtime, ctime, inode) in
``.checked/<digest>.json`` under the root; later loads check that stamp and a sampled
checksum (the whole file up to 2 MiB, else its first and last MiB), so any write to a file
since its sums passed is caught. :meth:`EmbeddingCache.verify` always checks full sums. A cache that
fails a check is never served: it is rebuilt, or an error is raised when building is off.

The rest of the package works on the same folders: :mod:`.layout` finds, reads and checks
them, :mod:`.admin` lists, verifies and prunes them, :mod:`.archive` moves one between
machines and :mod:`.backup` copies them all aside and back; :mod:`.encoding` makes the
vectors.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import CacheCorrupted, CacheError, CacheVersionMismatch
from ..paths import EMBEDDINGS_DIR, cache_subdir
from . import admin, archive, backup
from .admin import CacheEntry, CacheStatus, VerifyReport
from .encoding import Progress, TextTable, encode_with_stats
from .files import (
    file_sha256,
    fsync_path,
    install_folder,
    package_versions,
    remove_path,
    sample_sha256,
    utc_now,
)
from .key import FORMAT_VERSION, Backend, CacheKey, Dtype, texts_digest
from .layout import (
    DIGEST_PATTERN,
    MANIFEST,
    TABLE_PATTERN,
    CachedVectors,
    FolderMissing,
    key_lock,
    missing_message,
    open_folder,
)
from .legacy_files import find_legacy
from .recipe import RECIPE_NAME, RECIPE_VERSION, ViewTable

if TYPE_CHECKING:
    from ..embedding.base import Embedder
    from ..taxonomy import Taxonomy

__all__ = ["CacheStats", "CachedVectors", "EmbeddingCache", "ModelIdentity"]

logger = logging.getLogger(__name__)


class ModelIdentity(Protocol):
    """What the cache key needs from a model: an :class:`Embedder` or a ``ModelLocation``."""

    @property
    def model_id(self) -> str: ...

    @property
    def revision(self) -> str | None: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def encode_settings(self) -> str: ...


@dataclass
class CacheStats:
    """Counters for one :class:`EmbeddingCache` object."""

    hits: int = 0
    misses: int = 0
    builds: int = 0
    rebuilds: int = 0
    texts_embedded: int = 0


# -- the cache --------------------------------------------------------------------------------
class EmbeddingCache:
    """Versioned, checksummed embedding caches under one root folder.

    Args:
        root: The folder; defaults to ``default_cache_dir() / "embeddings"`` (which honours
            ``ESCO_CACHE_DIR`` and ``ESCO_HOME``).

    Example:
        >>> cache = EmbeddingCache(tmp_path)  # doctest: +SKIP
        >>> tables = build_views(taxonomy)  # doctest: +SKIP
        >>> cached = cache.load_or_build(embedder, taxonomy, tables)  # doctest: +SKIP
        >>> cached.vectors["skills"].shape  # doctest: +SKIP
        (113521, 384)
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else cache_subdir(EMBEDDINGS_DIR)
        self.stats = CacheStats()
        self._legacy_checked = False

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    # -- keys ---------------------------------------------------------------------------------
    def path_for(self, key: CacheKey | str) -> Path:
        """The folder of a key (or of a digest)."""
        digest = key.digest() if isinstance(key, CacheKey) else key
        if not DIGEST_PATTERN.match(digest):
            raise CacheError(f"not a cache digest: {digest!r}")
        return self.root / digest

    def key_for(
        self,
        model: ModelIdentity,
        taxonomy: Taxonomy,
        tables: Mapping[str, TextTable],
        *,
        dtype: Dtype = "float16",
        recipe: tuple[str, str] | None = None,
    ) -> CacheKey:
        """The key of the vectors ``model`` gives for ``tables`` of ``taxonomy``.

        Args:
            model: An embedder, or a ``ModelLocation`` (to compute the key without loading).
            taxonomy: The taxonomy the tables were made from.
            tables: ``{name: table}``; only the texts matter.
            dtype: Stored float type.
            recipe: ``(name, version)``; defaults to the one the view tables name.

        Raises:
            CacheError: the model's revision is unknown (a Hub model not downloaded yet).
        """
        if recipe is None:  # the view tables say which recipe made them
            recipes = {t.recipe for t in tables.values() if isinstance(t, ViewTable)}
            recipe = recipes.pop() if len(recipes) == 1 else (RECIPE_NAME, RECIPE_VERSION)
        for name in tables:
            if not TABLE_PATTERN.match(name):
                raise CacheError(f"table name {name!r} is not usable as a file name")
        if not model.revision:
            raise CacheError(f"the revision of {model.model_id} is unknown until it is downloaded")
        return CacheKey(
            model_id=model.model_id,
            model_revision=model.revision,
            taxonomy_version=taxonomy.version,
            taxonomy_hash=taxonomy.content_hash,
            taxonomy_language=taxonomy.language,
            recipe_name=recipe[0],
            recipe_version=recipe[1],
            texts_sha256=texts_digest({name: t.texts for name, t in tables.items()}),
            encode_settings=model.encode_settings,
            dtype=dtype,
            backend=model.backend,
        )

    # -- the main entry point -----------------------------------------------------------------
    def load_or_build(
        self,
        embedder: Embedder,
        taxonomy: Taxonomy,
        tables: Mapping[str, TextTable],
        *,
        dtype: Dtype = "float16",
        batch_size: int = 64,
        show_progress: bool = True,
        build: bool = True,
        verify: bool = False,
        on_progress: Progress | None = None,
    ) -> CachedVectors:
        """The vectors of every table's texts: from the cache, or built and cached.

        Args:
            embedder: The model; texts are embedded as passages.
            taxonomy: The taxonomy the tables come from (its version and hash are keyed).
            tables: ``recipe.build_views(taxonomy)``.
            dtype: ``"float16"`` (half the disk and memory; scores within 1e-3 of float32)
                or ``"float32"``.
            batch_size: Texts per batch when building.
            show_progress: Progress bar while building.
            build: Build a missing or unusable cache; when ``False`` raise instead.
            verify: Check full checksums before serving (slower; default is a fast check).
            on_progress: Called while building: ``(texts done, total, seconds left or None)``.

        Returns:
            ``vectors[name][i]`` is the vector of ``tables[name].texts[i]``.

        Raises:
            CacheVersionMismatch: ``build=False`` and no cache fits the configuration.
            CacheCorrupted: ``build=False`` and the fitting cache fails its checks.
        """
        key = self.key_for(embedder, taxonomy, tables, dtype=dtype)
        path = self.path_for(key)
        problem: CacheError | None = None
        try:
            cached = open_folder(path, key, tables, full=verify)
        except FolderMissing:
            pass
        except (CacheCorrupted, CacheVersionMismatch) as exc:
            problem = exc
        else:
            self.stats.hits += 1
            logger.info("embeddings for %s loaded from %s", key.describe(), path)
            return cached
        self.stats.misses += 1
        if not build:
            if problem is not None:
                raise problem
            raise CacheVersionMismatch(missing_message(self.root, key))
        if problem is not None:
            logger.warning("embedding cache %s cannot be used (%s); rebuilding it", path, problem)
        self._warn_legacy()
        with key_lock(self.root, key.digest()):
            try:  # another process may have built it while this one waited
                cached = open_folder(path, key, tables, full=verify)
            except (FolderMissing, CacheError):
                pass
            else:
                self.stats.hits += 1
                logger.info("embeddings for %s were built by another process", key.describe())
                return cached
            logger.info("building embeddings for %s in %s", key.describe(), path)
            encoded = encode_with_stats(embedder, tables, dtype, batch_size, show_progress, on_progress)
            self.stats.builds += 1
            self.stats.rebuilds += problem is not None
            self.stats.texts_embedded += encoded.unique
            rate = encoded.unique / encoded.seconds if encoded.seconds > 0 else None
            info = {
                "texts": {"total": encoded.total, "unique": encoded.unique},
                "build": {
                    "seconds": round(encoded.seconds, 3),
                    "texts_per_second": round(rate, 1) if rate else None,
                    "device": embedder.device,
                    "batch_size": batch_size,
                    "precision": getattr(embedder, "passage_precision", "float32"),
                },
            }
            written = self._write_locked(key, encoded.vectors, info)
        return open_folder(written, key, tables, full=False)

    def load(
        self,
        key: CacheKey,
        tables: Mapping[str, TextTable] | None = None,
        *,
        verify: bool = False,
    ) -> CachedVectors:
        """Open the cache of ``key`` without building.

        Raises:
            CacheVersionMismatch: there is no cache for this key (the message says how the
                existing caches differ), or its manifest records another key.
            CacheCorrupted: its files fail the checks.
        """
        try:
            return open_folder(self.path_for(key), key, tables, full=verify)
        except FolderMissing:
            raise CacheVersionMismatch(missing_message(self.root, key)) from None

    def write(
        self,
        key: CacheKey,
        vectors: Mapping[str, np.ndarray],
        *,
        info: Mapping[str, Any] | None = None,
    ) -> CachedVectors:
        """Store given vectors under ``key`` (atomically, under the key's lock).

        Used to convert legacy caches; the vectors are cast to ``key.dtype`` and must be
        L2-normalised when ``key.normalized``.
        """
        with key_lock(self.root, key.digest()):
            path = self._write_locked(key, dict(vectors), dict(info or {}))
        return open_folder(path, key, None, full=False)

    def _write_locked(self, key: CacheKey, vectors: dict[str, np.ndarray], info: dict[str, Any]) -> Path:
        digest = key.digest()
        final = self.path_for(key)
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(f".tmp-{digest}-*"):  # crashed builds of this key
            remove_path(stale)
        temp = self.root / f".tmp-{digest}-{secrets.token_hex(4)}"
        temp.mkdir()
        try:
            dims = {a.shape[1] for a in vectors.values() if a.ndim == 2}
            if len(dims) != 1 or any(a.ndim != 2 for a in vectors.values()):
                raise CacheError("every table must be a 2-D array with the same dimensions")
            tables: dict[str, Any] = {}
            for name, array in vectors.items():
                if not TABLE_PATTERN.match(name):
                    raise CacheError(f"table name {name!r} is not usable as a file name")
                file = temp / f"{name}.npy"
                data = np.ascontiguousarray(array, dtype=np.dtype(key.dtype).newbyteorder("<"))
                with file.open("wb") as handle:
                    np.save(handle, data, allow_pickle=False)
                    handle.flush()
                    os.fsync(handle.fileno())
                tables[name] = {
                    "file": file.name,
                    "rows": int(data.shape[0]),
                    "dim": int(data.shape[1]),
                    "bytes": file.stat().st_size,
                    "sha256": file_sha256(file),
                    "sample_sha256": sample_sha256(file),
                }
            manifest = {
                "format_version": FORMAT_VERSION,
                "digest": digest,
                "key": key.as_dict(),
                "dim": dims.pop(),
                "dtype": key.dtype,
                "byte_order": "little",
                "normalized": key.normalized,
                "tables": tables,
                **info,
                "created": utc_now(),
                "versions": package_versions(),
            }
            (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            fsync_path(temp / MANIFEST)
            fsync_path(temp)
            install_folder(temp, final)
        except BaseException:
            remove_path(temp)
            raise
        logger.info("embedding cache written: %s", final)
        return final

    def _warn_legacy(self) -> None:
        if self._legacy_checked:
            return
        self._legacy_checked = True
        for item in find_legacy([self.root]):
            logger.warning("%s", item.advice())

    # -- housekeeping (admin.py), moving caches (archive.py) and backups (backup.py) -----------
    def list(self) -> builtins.list[CacheEntry]:
        """Every cache folder under the root, with the fast checks' verdict (:func:`.admin.list_entries`)."""
        return admin.list_entries(self.root)

    def status(
        self,
        current: CacheKey | None = None,
        *,
        legacy_dirs: Iterable[str | os.PathLike[str]] = (),
    ) -> CacheStatus:
        """What is cached, whether it is sound, and whether ``current`` has one (:func:`.admin.status`)."""
        return admin.status(self.root, current, legacy_dirs=legacy_dirs)

    def verify(self, target: CacheKey | str | Path | None = None) -> builtins.list[VerifyReport]:
        """Full checks (sha256 of every file) of one cache or of all of them (:func:`.admin.verify`)."""
        return admin.verify(self.root, target)

    def prune(self, keep: Iterable[CacheKey | str] = (), *, dry_run: bool = False) -> builtins.list[Path]:
        """Delete every cache folder except those in ``keep`` (:func:`.admin.prune`)."""
        return admin.prune(self.root, keep, dry_run=dry_run)

    def export(self, target: CacheKey | str | Path, file: str | os.PathLike[str]) -> Path:
        """Write one cache to an archive (:func:`.archive.export_cache`)."""
        return archive.export_cache(self.root, target, file)

    def import_(self, file: str | os.PathLike[str], expect_key: CacheKey | None = None) -> CacheEntry:
        """Install a cache from an archive made by :meth:`export` (:func:`.archive.import_cache`)."""
        return archive.import_cache(self.root, file, expect_key)

    @property
    def backups_dir(self) -> Path:
        return backup.backups_dir(self.root)

    def backups(self) -> builtins.list[str]:
        """Names of the backups, oldest first (:func:`.backup.list_backups`)."""
        return backup.list_backups(self.root)

    def backup(self, name: str | None = None) -> Path:
        """Copy every sound cache folder to ``backups/<name>`` (:func:`.backup.make_backup`)."""
        return backup.make_backup(self.root, name)

    def restore(self, name: str) -> builtins.list[Path]:
        """Copy the caches of backup ``name`` back into place (:func:`.backup.restore_backup`)."""
        return backup.restore_backup(self.root, name)
