"""The versioned embedding cache: keys (pure), the on-disk store, and legacy caches."""

from __future__ import annotations

from .key import FORMAT_VERSION, CacheKey, texts_digest
from .legacy import LegacyCache, find_legacy, import_legacy, read_legacy
from .store import (
    CachedVectors,
    CacheEntry,
    CacheStats,
    CacheStatus,
    EmbeddingCache,
    VerifyReport,
    encode_tables,
)

__all__ = [
    "FORMAT_VERSION",
    "CacheEntry",
    "CacheKey",
    "CacheStats",
    "CacheStatus",
    "CachedVectors",
    "EmbeddingCache",
    "LegacyCache",
    "VerifyReport",
    "encode_tables",
    "find_legacy",
    "import_legacy",
    "read_legacy",
    "texts_digest",
]
