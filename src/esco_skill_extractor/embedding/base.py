"""The embedder protocol every backend implements, and the optional token capability.

:class:`Embedder` is what every caller may rely on. :class:`TokenEncoder` is an optional
capability on top of it: an embedder that also returns its contextual token vectors, so that
:mod:`.spans` can pool span vectors from one forward pass. Callers test for it with
``isinstance(embedder, TokenEncoder)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args, runtime_checkable

import numpy as np

__all__ = [
    "BACKENDS",
    "SPAN_POOLING",
    "Backend",
    "Embedder",
    "TextKind",
    "TokenEncoder",
    "TokenOutput",
    "embed_distinct",
]

TextKind = Literal["query", "passage"]

#: The inference backends: sentence-transformers on torch, ONNX Runtime (float32 or int8), or
#: numpy alone (the bundled multilingual Universal Sentence Encoder).
Backend = Literal["torch", "onnx", "onnx-int8", "numpy"]

BACKENDS: tuple[Backend, ...] = get_args(Backend)


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

    @property
    def backend(self) -> Backend:
        """The inference backend (part of the cache key)."""

    @property
    def encode_settings(self) -> str:
        """The settings that change passage vectors, as canonical JSON, or "" (part of the cache key)."""

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array of L2-normalised vectors."""


#: Pooling modes whose models get span vectors pooled from one forward pass (see
#: :mod:`.spans`): for a mean-pooled model the mean of a span's token vectors is the span's
#: own pooling; for a CLS-pooled one (bge-m3) it is the stand-in that costs no extra pass.
SPAN_POOLING = ("mean", "cls")


@dataclass(frozen=True)
class TokenOutput:
    """One forward pass over a batch of query texts: what span pooling needs.

    Attributes:
        tokens: ``(batch, tokens, dim)`` float32 contextual token embeddings.
        sentence: ``(batch, dim)`` float32 pooled vectors (not normalised).
        offsets: ``(batch, tokens, 2)`` character offsets of each token; ``(0, 0)`` for
            special and padding tokens.
        mask: ``(batch, tokens)`` bool, ``True`` for real tokens.
    """

    tokens: np.ndarray
    sentence: np.ndarray
    offsets: np.ndarray
    mask: np.ndarray


@runtime_checkable
class TokenEncoder(Embedder, Protocol):
    """An :class:`Embedder` that also gives its contextual token vectors.

    Implemented by the sentence-transformers and ONNX backends. Span pooling averages a
    span's token vectors, which is only a good span vector for some models; see
    :attr:`supports_span_pooling`.
    """

    @property
    def supports_span_pooling(self) -> bool:
        """Whether span vectors may come from the token vectors of one forward pass: the model
        pools by the mean or by its CLS token (:data:`SPAN_POOLING`), has no query prompt,
        and its tokenizer reports character offsets."""

    def encode_tokens(self, texts: Sequence[str], pad_to: int | None = None) -> TokenOutput:
        """Token vectors, pooled vectors, offsets and mask for one batch of texts, as given (no
        prompt), padded to the longest text or to ``pad_to`` tokens (at most the window)."""

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """How many tokens :meth:`encode_tokens` gives each text (special tokens included,
        truncated to the model's window)."""


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
