"""A deterministic embedder for tests and demos: no model, no torch, same vectors everywhere."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from .base import Backend, TextKind

__all__ = ["FakeEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Hashed word and character-trigram features, L2-normalised.

    Texts that share words or spellings get similar vectors, so similarity-based code can
    be tested without a model. Vectors depend only on the text (never on ``kind``, the
    process or the platform). The counters let tests check cache hits.

    Attributes:
        batch_count: How many batches :meth:`embed` has encoded.
        texts_embedded: How many texts :meth:`embed` has encoded.
        calls: How many times :meth:`embed` was called.

    Example:
        >>> fake = FakeEmbedder(dim=16)
        >>> fake.embed(["python", "java"]).shape
        (2, 16)
    """

    def __init__(
        self, dim: int = 32, *, model_id: str = "fake", revision: str = "", device: str = "cpu"
    ) -> None:
        if dim < 2:
            raise ValueError("dim must be at least 2")
        self._dim = dim
        self._model_id = model_id
        self._revision = revision or f"fake-v1-{dim}d"
        self._device = device
        self.batch_count = 0
        self.texts_embedded = 0
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def device(self) -> str:
        return self._device

    @property
    def backend(self) -> Backend:
        return "torch"  # what cache keys have always said for the fake

    @property
    def encode_settings(self) -> str:
        return ""

    def reset_counts(self) -> None:
        """Set the counters back to zero."""
        self.batch_count = self.texts_embedded = self.calls = 0

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array of L2-normalised vectors."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        self.calls += 1
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for start in range(0, len(texts), max(1, batch_size)):
            batch = texts[start : start + batch_size]
            for offset, text in enumerate(batch):
                out[start + offset] = self._vector(text)
            self.batch_count += 1
            self.texts_embedded += len(batch)
        return out

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dim, dtype=np.float64)
        for feature, weight in _features(text):
            hashed = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            digest = int.from_bytes(hashed, "little")
            vector[digest % self._dim] += weight if (digest >> 63) & 1 else -weight
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # empty or symbol-only text: a fixed unit vector keeps it normalised
            vector[0] = 1.0
            norm = 1.0
        return (vector / norm).astype(np.float32)


def _features(text: str) -> list[tuple[str, float]]:
    features: list[tuple[str, float]] = []
    for word in _WORD.findall(text.lower()):
        features.append(("w:" + word, 1.0))
        padded = f" {word} "
        features.extend(("c:" + padded[i : i + 3], 0.5) for i in range(len(padded) - 2))
    return features
