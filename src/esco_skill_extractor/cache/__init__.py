"""The versioned embedding cache: keys (pure), the on-disk store, and legacy caches.

Modules, lowest first: ``key`` (pure), ``recipe`` (what is embedded), ``files`` (file
helpers), ``encoding`` (texts to vectors), ``legacy_files`` (finding legacy files),
``layout`` (finding, reading and checking cache folders), ``admin`` (list, status, verify,
prune), ``archive`` (export, import), ``backup`` (backups), ``store``
(:class:`EmbeddingCache`: build, load, write) and ``legacy`` (reading and converting legacy
files). Each imports only modules before it.
"""

from __future__ import annotations

from .admin import CacheEntry, CacheStatus, VerifyReport
from .encoding import encode_tables
from .key import FORMAT_VERSION, CacheKey, texts_digest
from .legacy import import_legacy, read_legacy
from .legacy_files import LegacyCache, find_legacy
from .store import CachedVectors, CacheStats, EmbeddingCache

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
