"""The embedder protocol every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "TextKind", "embed_distinct"]

TextKind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    ``kind`` tells query texts (from users' documents) from passage texts (ESCO concept
    views), for models that prompt them differently.
    """

    @property
    def model_id(self) -> str:
        """The model's name or local path, as the user gave it (after alias resolution)."""

    @property
    def revision(self) -> str:
        """A commit hash, or a digest of the model's config and weight files."""

    @property
    def dim(self) -> int:
        """Vector dimensions."""

    @property
    def device(self) -> str:
        """Where the model runs: "cpu", "cuda", "mps" ..."""

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array of L2-normalised vectors."""


def embed_distinct(texts: Sequence[str], dim: int, encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """``encode`` each distinct text once; the rows come back in the order of ``texts``.

    Raises:
        TypeError: ``texts`` is one string rather than a sequence of them.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not one string")
    texts = list(texts)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    vectors = encode(unique)
    if len(unique) != len(texts):
        position = {text: i for i, text in enumerate(unique)}
        vectors = vectors[[position[text] for text in texts]]
    return vectors
