"""Vectors for a text and for spans inside it, from one forward pass.

For a model with mean pooling, the mean of a span's contextual token embeddings is a good
vector for the span: it costs nothing beyond encoding the whole text once, where encoding
every clause and word window on its own costs ten to fifty times more. A model with CLS
pooling (bge-m3) gets the same span vectors: the text's own vector stays its CLS vector, and
a span's is the mean of its contextual tokens, where encoding each span on its own would cost
a forward pass per span (4.3 to 5.3 times the PyPI package's work per document with a model
of bge-m3's size; see ``benchmarks/model_cost.py``). Models with prompts, spans that fall
past the model's window, and embedders that give no token vectors (those that are not a
:class:`~.base.TokenEncoder`, such as the fake) get spans encoded on their own, as does
``pooled=False``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeGuard

import numpy as np

from .base import Embedder, TokenEncoder

__all__ = ["embed_with_spans", "supports_span_pooling"]

logger = logging.getLogger(__name__)

Spans = Sequence[tuple[int, int]]


def supports_span_pooling(embedder: Embedder) -> TypeGuard[TokenEncoder]:
    """Whether ``embedder`` gives token vectors (:class:`TokenEncoder`) that span pooling may use."""
    return isinstance(embedder, TokenEncoder) and embedder.supports_span_pooling


def embed_with_spans(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[Spans],
    *,
    batch_size: int = 32,
    pooled: bool = True,
) -> list[np.ndarray]:
    """For each text, a ``(1 + len(spans[i]), dim)`` float32 array of unit vectors.

    Row 0 is the text's own vector (what ``embed`` returns, up to reduced precision's
    rounding: span pooling pads texts to a fixed multiple of tokens); row ``j + 1`` is the
    vector of ``texts[i][spans[i][j][0]:spans[i][j][1]]``: pooled from the text's forward
    pass where the embedder supports it and ``pooled``, else the span encoded on its own.
    """
    if len(texts) != len(spans):
        raise ValueError("one list of spans per text")
    if not texts:
        return []
    if pooled and supports_span_pooling(embedder):
        return _pooled(embedder, texts, spans, batch_size)
    return _isolated(embedder, texts, spans, batch_size)


def _isolated(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], batch_size: int
) -> list[np.ndarray]:
    pieces: list[str] = []
    for text, text_spans in zip(texts, spans, strict=True):
        pieces.append(text)
        pieces.extend(text[a:b] for a, b in text_spans)
    vectors = embedder.embed(pieces, kind="query", batch_size=batch_size)
    out = []
    cursor = 0
    for text_spans in spans:
        out.append(vectors[cursor : cursor + 1 + len(text_spans)])
        cursor += 1 + len(text_spans)
    return out


def _same_length_batches(
    embedder: TokenEncoder, texts: Sequence[str], batch_size: int
) -> list[tuple[list[int], int]]:
    """``(indexes, length)`` batches: texts whose token counts round up to the same multiple
    of :data:`PAD_MULTIPLE`, to be padded to exactly that length.

    A text's padded length then depends on the text alone, and so do its vectors: under
    reduced precision (bfloat16 on a CPU) a text padded to another length gets slightly
    different numbers, which would make a document's scores depend on the documents it
    shares a request or a batch with.
    """
    groups: dict[int, list[int]] = {}
    for i, count in enumerate(embedder.token_counts(texts)):
        groups.setdefault(-(-count // PAD_MULTIPLE) * PAD_MULTIPLE, []).append(i)
    return [
        (group[start : start + batch_size], length)
        for length, group in sorted(groups.items())
        for start in range(0, len(group), batch_size)
    ]


#: Texts are padded to a multiple of this many tokens (see :func:`_same_length_batches`):
#: as fast as padding to the longest of a batch (measured on the speed corpus), and
#: deterministic.
PAD_MULTIPLE = 16


def _pooled(
    embedder: TokenEncoder, texts: Sequence[str], spans: Sequence[Spans], batch_size: int
) -> list[np.ndarray]:
    out: list[np.ndarray | None] = [None] * len(texts)
    missing: list[tuple[int, int]] = []  # (text index, span index) past the window
    for batch, length in _same_length_batches(embedder, texts, batch_size):
        encoded = embedder.encode_tokens([texts[i] for i in batch], pad_to=length)
        tokens, sentence, offsets, mask = encoded.tokens, encoded.sentence, encoded.offsets, encoded.mask
        for row, i in enumerate(batch):
            starts, ends = offsets[row, :, 0], offsets[row, :, 1]
            real = mask[row] & (ends > starts)
            vectors = np.empty((1 + len(spans[i]), tokens.shape[-1]), dtype=np.float32)
            vectors[0] = sentence[row]
            for j, (a, b) in enumerate(spans[i]):
                inside = real & (starts < b) & (ends > a)
                if inside.any():
                    vectors[j + 1] = tokens[row][inside].mean(axis=0)
                else:
                    vectors[j + 1] = 0.0
                    missing.append((i, j))
            out[i] = vectors
    if missing:
        pieces = [texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in missing]
        filled = embedder.embed(pieces, kind="query", batch_size=batch_size)
        for (i, j), vector in zip(missing, filled, strict=True):
            out[i][j + 1] = vector  # type: ignore[index]
    result_list = [v for v in out if v is not None]
    for vectors in result_list:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.maximum(norms, 1e-12)
    return result_list
