"""Legacy embedding caches: read and converted on request, never loaded implicitly.

:mod:`.legacy_files` finds them and says what they are. Unpickling runs code, so these
files are only read by :func:`import_legacy` with ``trust=True``, through
``torch.load(weights_only=True)`` (or, for the PyPI package's raw pickles, which that
loader rejects, through an unpickler that allows nothing but torch's tensor-rebuild
functions). The result is stored as an ordinary cache whose recipe is ``pypi-blob``, so it
never stands in for this package's own recipe.
"""

from __future__ import annotations

import collections
import hashlib
import io
import logging
import os
import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LegacyCacheError
from .key import CacheKey, Dtype, texts_digest
from .legacy_files import LegacyCache, LegacyTable, classify, find_legacy, legacy_search_dirs
from .store import CachedVectors, EmbeddingCache

if TYPE_CHECKING:
    from ..embedding import ModelLocation
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
        item = classify(path)
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
    from ..embedding import locate_model

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
