"""The identity of an embedding cache (pure: no paths, no I/O).

A cache holds the vectors of the texts one recipe made from one taxonomy, encoded by one
model revision with one set of encode settings, stored in one dtype by one backend. Every
one of these is a field of :class:`CacheKey`; a change in any field gives another digest,
hence another cache folder, so a stale cache is never found, let alone served.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ..embedding.base import BACKENDS, Backend

__all__ = ["FORMAT_VERSION", "Backend", "CacheKey", "Dtype", "texts_digest"]

#: Version of the on-disk layout (manifest fields, file names, byte format).
FORMAT_VERSION = 1

Dtype = Literal["float16", "float32"]

_DTYPES = ("float16", "float32")


@dataclass(frozen=True)
class CacheKey:
    """Everything that decides the vectors in a cache.

    Attributes:
        model_id: Model name or path (:attr:`Embedder.model_id`).
        model_revision: Hub commit or folder digest (:attr:`Embedder.revision`).
        taxonomy_version: ESCO version, e.g. ``"1.2.0"``.
        taxonomy_hash: Content hash of the ESCO files that were read.
        taxonomy_language: Primary language of the taxonomy.
        recipe_name: The recipe that turns concepts into texts (``cache.recipe``).
        recipe_version: Its version.
        texts_sha256: :func:`texts_digest` of the embedded texts, per table.
        encode_settings: Backend settings that change the vectors (prompt, sequence length).
        dtype: Stored float type.
        normalized: Vectors are L2-normalised.
        backend: The inference backend; ONNX vectors differ in the last bits and int8 ones
            by about 1% of cosine, so each keys apart.
        format_version: :data:`FORMAT_VERSION` of the layout.
    """

    model_id: str
    model_revision: str
    taxonomy_version: str
    taxonomy_hash: str
    taxonomy_language: str
    recipe_name: str
    recipe_version: str
    texts_sha256: str
    encode_settings: str = ""
    dtype: Dtype = "float16"
    normalized: bool = True
    backend: Backend = "torch"
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, not {self.dtype!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {self.backend!r}")

    def as_dict(self) -> dict[str, Any]:
        """Every field, ``format_version`` first, ready for JSON."""
        values = asdict(self)
        return {"format_version": values.pop("format_version"), **values}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> CacheKey:
        """The inverse of :meth:`as_dict`.

        Raises:
            ValueError: a field is missing, unknown or of the wrong type.
        """
        names = {f.name for f in fields(cls)}
        missing, unknown = names - set(values), set(values) - names
        if missing or unknown:
            raise ValueError(f"cache key fields differ: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for f in fields(cls):
            expected = {"normalized": bool, "format_version": int}.get(f.name, str)
            value = values[f.name]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ValueError(f"cache key field {f.name} has the wrong type: {value!r}")
        return cls(**dict(values))

    def digest(self) -> str:
        """16 hex digits of sha256 over the canonical JSON of every field (the folder name).

        Example:
            >>> key = CacheKey("m", "r", "1.2.0", "h", "en", "labels+blob", "1", "t")
            >>> len(key.digest())
            16
        """
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def differences(self, other: CacheKey) -> dict[str, tuple[Any, Any]]:
        """``{field: (this value, other value)}`` for each field that differs."""
        mine, theirs = self.as_dict(), other.as_dict()
        return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}

    def describe(self) -> str:
        """One line for messages: model, revision, taxonomy, recipe, dtype."""
        return (
            f"{self.model_id} ({_short(self.model_revision)}), ESCO {self.taxonomy_version} "
            f"{self.taxonomy_language} ({self.taxonomy_hash[:8]}), recipe "
            f"{self.recipe_name} v{self.recipe_version}, {self.dtype}, {self.backend}"
        )


def _short(revision: str) -> str:
    return revision[:19] if revision.startswith("sha256:") else revision[:12]


def texts_digest(tables: Mapping[str, Sequence[str]]) -> str:
    """sha256 over table names and their texts, in order, without ambiguity.

    Each table contributes its name, its length and every text, each prefixed by its byte
    length, so ``["ab", "c"]`` and ``["a", "bc"]`` differ, and so do renamed tables.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        texts = tables[name]
        encoded_name = name.encode()
        digest.update(b"T%d:" % len(encoded_name) + encoded_name + b"N%d;" % len(texts))
        for text in texts:
            data = text.encode("utf-8", "surrogatepass")
            digest.update(b"%d:" % len(data))
            digest.update(data)
    return digest.hexdigest()
