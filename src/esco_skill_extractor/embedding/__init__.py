"""Embedding models: the protocol, the fake, the sentence-transformers backend and loading.

Nothing here imports torch until a model is loaded or a device is chosen.
"""

from __future__ import annotations

from .base import BACKENDS, Backend, Embedder, TextKind, TokenEncoder, TokenOutput
from .devices import select_device
from .fake import FakeEmbedder
from .loading import LoadedModel, ModelChoice, load_embedder, resolve_model
from .location import ModelLocation, bundled_model_path, folder_digest, locate_model
from .registry import BUNDLED_MODEL, DEFAULT_MODEL, MODELS, ModelSpec, model_spec
from .sentence_transformers import SentenceTransformerEmbedder

__all__ = [
    "BACKENDS",
    "BUNDLED_MODEL",
    "DEFAULT_MODEL",
    "MODELS",
    "Backend",
    "Embedder",
    "FakeEmbedder",
    "LoadedModel",
    "ModelChoice",
    "ModelLocation",
    "ModelSpec",
    "SentenceTransformerEmbedder",
    "TextKind",
    "TokenEncoder",
    "TokenOutput",
    "bundled_model_path",
    "folder_digest",
    "load_embedder",
    "locate_model",
    "model_spec",
    "resolve_model",
    "select_device",
]
