"""Where the product keeps its files: the only environment it reads for that."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["EMBEDDINGS_DIR", "LEXICAL_DIR", "TAXONOMY_DIR", "cache_subdir", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``ESCO_CACHE_DIR``, else ``$ESCO_HOME/cache``, else the platform's user cache folder.

    Embedding caches and taxonomy snapshots live here, never inside the installed package.
    """
    explicit = os.environ.get("ESCO_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("ESCO_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("esco-skill-extractor", appauthor=False))


# Folders under the cache folder, one per kind of derived data.
EMBEDDINGS_DIR = "embeddings"
LEXICAL_DIR = "lexical"
TAXONOMY_DIR = "taxonomy"


def cache_subdir(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder ``name`` under ``cache_dir`` (default: :func:`default_cache_dir`)."""
    return (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / name
