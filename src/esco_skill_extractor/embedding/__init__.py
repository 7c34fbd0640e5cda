"""Embedding models: the protocol, the fake, the sentence-transformers backend and loading.

Nothing here imports torch until a model is loaded or a device is chosen.
"""

from __future__ import annotations

from .base import Embedder, TextKind
from .fake import FakeEmbedder
from .loading import (
    LoadedModel,
    ModelChoice,
    ModelLocation,
    bundled_model_path,
    folder_digest,
    load_embedder,
    locate_model,
    resolve_model,
    select_device,
)
from .registry import BUNDLED_MODEL, DEFAULT_MODEL, MODELS, ModelSpec, model_spec
from .sentence_transformers import SentenceTransformerEmbedder

__all__ = [
    "BUNDLED_MODEL",
    "DEFAULT_MODEL",
    "MODELS",
    "Embedder",
    "FakeEmbedder",
    "LoadedModel",
    "ModelChoice",
    "ModelLocation",
    "ModelSpec",
    "SentenceTransformerEmbedder",
    "TextKind",
    "bundled_model_path",
    "folder_digest",
    "load_embedder",
    "locate_model",
    "model_spec",
    "resolve_model",
    "select_device",
]
