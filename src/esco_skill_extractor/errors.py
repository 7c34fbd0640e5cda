"""The exception hierarchy of ESCO Skill Extractor.

Every error the library raises on purpose derives from :class:`EscoError`::

    EscoError
    ├── TaxonomyError
    │   ├── TaxonomyNotFound        a folder or file of ESCO data is missing
    │   ├── TaxonomyFormatError     a CSV is malformed (names the file and row)
    │   └── ConceptNotFound         an unknown concept URI or label
    ├── ModelError
    │   ├── ModelUnavailable        a model cannot be loaded (not cached, no network, bad path)
    │   └── UnknownBackend          an embedding backend name that is not registered
    ├── CacheError
    │   ├── CacheVersionMismatch    a cache was built for another model, taxonomy or recipe
    │   ├── CacheCorrupted          files are missing, truncated or fail their checksums
    │   └── LegacyCacheError        a legacy (pickled) cache cannot be converted
    ├── ExportError                 a JavaScript export folder is missing files, is newer
    │                               than this version reads, or was made for another model
    │                               or taxonomy
    ├── InputError                  bad input to extraction (wrong type, too long)
    └── ClusterError                the Ray engine cannot run (Ray missing, workers lost)

The CLI turns these into one-line messages with exit code 2; the HTTP API maps them to
4xx answers with a JSON body.
"""

from __future__ import annotations

__all__ = [
    "CacheCorrupted",
    "CacheError",
    "CacheVersionMismatch",
    "ClusterError",
    "ConceptNotFound",
    "EscoError",
    "ExportError",
    "InputError",
    "LegacyCacheError",
    "ModelError",
    "ModelUnavailable",
    "TaxonomyError",
    "TaxonomyFormatError",
    "TaxonomyNotFound",
    "UnknownBackend",
]


class EscoError(Exception):
    """Root of every error raised on purpose by this package."""


class TaxonomyError(EscoError):
    """Something is wrong with ESCO data."""


class TaxonomyNotFound(TaxonomyError):
    """A folder or file of ESCO data does not exist."""


class TaxonomyFormatError(TaxonomyError):
    """An ESCO CSV file is malformed; the message names the file and the row."""


class ConceptNotFound(TaxonomyError, LookupError):
    """No concept has this URI or label."""


class ModelError(EscoError):
    """Something is wrong with an embedding model."""


class ModelUnavailable(ModelError):
    """The model cannot be loaded: not in the local cache, no network, or a bad path."""


class UnknownBackend(ModelError):
    """An embedding backend name that is not registered."""


class CacheError(EscoError):
    """Something is wrong with the embedding cache."""


class CacheVersionMismatch(CacheError):
    """A cache was built for another model, taxonomy, recipe or format."""


class CacheCorrupted(CacheError):
    """Cache files are missing, truncated or fail their checksums."""


class LegacyCacheError(CacheError):
    """A legacy cache file cannot be converted."""


class ExportError(EscoError):
    """A JavaScript export folder cannot be written or used: files missing or altered, a
    format newer than this version reads, or made for another model or taxonomy."""


class InputError(EscoError, ValueError):
    """Bad input to extraction: wrong type, empty where not allowed, or too long."""


class ClusterError(EscoError):
    """The Ray engine cannot run: Ray is not installed, or workers died more often than retried."""
