"""Vectors for a text and for spans inside it, from one forward pass.

For a model with mean pooling, the mean of a span's contextual token embeddings is a good
vector for the span: it costs nothing beyond encoding the whole text once, where encoding
every clause and word window on its own costs ten to fifty times more. Models with other
pooling (CLS, as bge-m3), prompts, or spans that fall past the model's window get spans
encoded on their own instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import Embedder

__all__ = ["embed_with_spans", "supports_span_pooling"]

logger = logging.getLogger(__name__)

Spans = Sequence[tuple[int, int]]
#: One batch of texts -> token embeddings, pooled vectors, token offsets, real-token mask.
Forward = Callable[[list[str]], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def supports_span_pooling(embedder: Embedder) -> bool:
    """Whether ``embedder`` is a sentence-transformers or ONNX model with plain mean pooling."""
    spec = getattr(embedder, "spec", None)
    if hasattr(embedder, "encode_tokens"):  # the ONNX backends
        return bool(
            spec is not None and not spec.prompt("query") and getattr(embedder, "pooling", None) == "mean"
        )
    model = getattr(embedder, "model", None)
    if model is None or spec is None or spec.prompt("query"):
        return False
    try:
        modules = list(model)
        pooling = next(m for m in modules if type(m).__name__ == "Pooling")
        mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers >= 6
        if mode is None:
            mode = pooling.get_pooling_mode_str()
        tokenizer = model.tokenizer
    except (StopIteration, AttributeError, TypeError):
        return False
    if isinstance(mode, list | tuple):
        mode = "+".join(mode)
    return bool(mode == "mean" and getattr(tokenizer, "is_fast", False))


def embed_with_spans(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], *, batch_size: int = 32
) -> list[np.ndarray]:
    """For each text, a ``(1 + len(spans[i]), dim)`` float32 array of unit vectors.

    Row 0 is the text's own vector (exactly what ``embed`` returns); row ``j + 1`` is the
    vector of ``texts[i][spans[i][j][0]:spans[i][j][1]]``.
    """
    if len(texts) != len(spans):
        raise ValueError("one list of spans per text")
    if not texts:
        return []
    if supports_span_pooling(embedder):
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


def _torch_forward(embedder: Embedder) -> Forward:
    import torch

    model: Any = embedder.model  # type: ignore[attr-defined]
    tokenizer = model.tokenizer
    max_length = int(getattr(model, "max_seq_length", 512) or 512)

    def forward(batch: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        encoded = tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=max_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping").numpy()
        features = {k: v.to(model.device) for k, v in encoded.items()}
        with torch.inference_mode(), embedder.query_autocast():  # type: ignore[attr-defined]
            result = model(features)
        tokens = result["token_embeddings"].float().cpu().numpy()
        sentence = result["sentence_embedding"].float().cpu().numpy()
        mask = encoded["attention_mask"].numpy().astype(bool)
        return tokens, sentence, offsets, mask

    return forward


def _onnx_forward(embedder: Embedder) -> Forward:
    def forward(batch: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        out = embedder.encode_tokens(batch)  # type: ignore[attr-defined]
        return out.tokens, out.sentence, out.offsets, out.mask

    return forward


def _pooled(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], batch_size: int
) -> list[np.ndarray]:
    forward = (_onnx_forward if hasattr(embedder, "encode_tokens") else _torch_forward)(embedder)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[np.ndarray | None] = [None] * len(texts)
    missing: list[tuple[int, int]] = []  # (text index, span index) past the window
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        tokens, sentence, offsets, mask = forward([texts[i] for i in batch])
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
