"""The sentence-transformers backend. torch and sentence-transformers are imported lazily."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from .base import SPAN_POOLING, Backend, TextKind, TokenOutput, embed_distinct
from .registry import ModelSpec

__all__ = ["PRECISION_ENV", "SentenceTransformerEmbedder"]

logger = logging.getLogger(__name__)

#: ``auto`` (default), ``float32`` or ``bfloat16``: the precision of query encoding on the CPU;
#: ``float32`` also keeps passages (the cache build) in float32 on a GPU.
PRECISION_ENV = "ESCO_TORCH_PRECISION"


def _native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # an older torch: not worth guessing
        return False


def _wanted_precision() -> str:
    wanted = os.environ.get(PRECISION_ENV, "auto").strip().lower() or "auto"
    if wanted not in {"auto", "float32", "bfloat16"}:
        raise ModelUnavailable(f"{PRECISION_ENV} must be auto, float32 or bfloat16, not {wanted!r}")
    return wanted


def _passage_precision(device: str) -> str:
    """float16 on a CUDA GPU (its tensor cores; the cache stores float16 anyway) unless
    float32 is asked for; float32 elsewhere, so that a CPU's cache is exact."""
    return "float16" if device.startswith("cuda") and _wanted_precision() == "auto" else "float32"


def _query_precision(device: str) -> str:
    wanted = _wanted_precision()
    if not device.startswith("cpu"):
        return "float32"
    if wanted == "auto":
        return "bfloat16" if _native_bfloat16() else "float32"
    return wanted


class SentenceTransformerEmbedder:
    """An :class:`~esco_skill_extractor.embedding.base.Embedder` over a SentenceTransformer.

    Applies the registry's prompts for query and passage texts, normalises every vector and
    encodes each distinct text once. Build one with :func:`load_embedder` (or
    :meth:`load`), not directly.

    Attributes:
        spec: The registry settings in use.
        path: The local model folder.
    """

    def __init__(
        self, model: Any, *, model_id: str, revision: str, spec: ModelSpec, path: Path | None
    ) -> None:
        self._model = model
        self._model_id = model_id
        self._revision = revision
        self.spec = spec
        self.path = path
        # sentence-transformers 6 renamed the method; 5.x has only the old name.
        getter = getattr(model, "get_embedding_dimension", None)
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        dim = getter()
        if not dim:
            raise ModelUnavailable(f"{model_id}: the model does not report its vector size")
        self._dim = int(dim)
        current = getattr(model, "max_seq_length", None)
        if spec.max_seq_length and (current is None or spec.max_seq_length < current):
            model.max_seq_length = spec.max_seq_length
        # Queries on a CPU with native bfloat16 run under autocast: 1.7x faster for
        # all-MiniLM-L6-v2 with vectors at cosine 0.99997 to float32's. Passages (the
        # cached ESCO vectors) are float32 on a CPU, so caches do not depend on the CPU; on a
        # GPU they run under float16 autocast (the cache stores float16 anyway).
        device = str(getattr(model, "device", "cpu"))
        self._query_precision = _query_precision(device)
        self._passage_precision = _passage_precision(device)

    @classmethod
    def load(
        cls,
        name_or_path: str | Path,
        *,
        model_id: str,
        revision: str,
        spec: ModelSpec,
        device: str = "cpu",
        local_files_only: bool = True,
    ) -> SentenceTransformerEmbedder:
        """Load a SentenceTransformer from a folder (or a Hub id, downloading it).

        Raises:
            ModelUnavailable: the folder is not a model, or loading failed for any reason.
        """
        path = Path(name_or_path) if isinstance(name_or_path, Path) else None
        if path is not None and not ((path / "config.json").is_file() or (path / "modules.json").is_file()):
            raise ModelUnavailable(
                f"{path} does not look like a model folder (no config.json or modules.json)"
            )
        started = time.perf_counter()
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(name_or_path), device=device, local_files_only=local_files_only)
            model.eval()
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ModelUnavailable(
                f"sentence-transformers is not installed ({exc}); pip install sentence-transformers"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - any loader failure means "unavailable"
            raise ModelUnavailable(
                f"could not load model {model_id} from {name_or_path} on {device}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        embedder = cls(model, model_id=model_id, revision=revision, spec=spec, path=path)
        logger.info(
            "loaded %s (%d dims, revision %s) from %s on %s in %.1fs",
            model_id,
            embedder.dim,
            revision[:19],
            name_or_path,
            device,
            time.perf_counter() - started,
        )
        return embedder

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
        return str(self._model.device)

    @property
    def encode_settings(self) -> str:
        """The settings that change passage vectors (part of the cache key)."""
        return self.spec.encode_settings

    @property
    def backend(self) -> Backend:
        """The inference backend (part of the cache key): ``"torch"``."""
        return "torch"

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer``."""
        return self._model

    @property
    def query_precision(self) -> str:
        """``"float32"``, or ``"bfloat16"`` (autocast) for queries on a CPU that has it
        natively; set ``ESCO_TORCH_PRECISION=float32`` before loading to turn it off."""
        return self._query_precision

    @property
    def passage_precision(self) -> str:
        """``"float32"``, or ``"float16"`` (autocast) for passages (the cache build) on a CUDA
        GPU; ``ESCO_TORCH_PRECISION=float32`` turns it off."""
        return self._passage_precision

    def passage_autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context that passage forward passes run in (see :attr:`passage_precision`)."""
        if self._passage_precision != "float16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cuda", dtype=torch.float16)

    def query_autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context that query forward passes run in (see :attr:`query_precision`)."""
        if self._query_precision != "bfloat16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    @property
    def supports_span_pooling(self) -> bool:
        """Mean or CLS pooling, no query prompt and a fast tokenizer (which gives offsets)."""
        if self.spec.prompt("query"):
            return False
        try:
            pooling = next(m for m in self._model if type(m).__name__ == "Pooling")
            mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers >= 6
            if mode is None:
                mode = pooling.get_pooling_mode_str()
            tokenizer = self._model.tokenizer
        except (StopIteration, AttributeError, TypeError):
            return False
        if isinstance(mode, list | tuple):
            mode = "+".join(mode)
        return bool(mode in SPAN_POOLING and getattr(tokenizer, "is_fast", False))

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, as :meth:`encode_tokens` gives them (before padding)."""
        model = self._model
        encoded = model.tokenizer(
            list(texts), truncation=True, max_length=int(getattr(model, "max_seq_length", 512) or 512)
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def encode_tokens(self, texts: Sequence[str], pad_to: int | None = None) -> TokenOutput:
        """Token embeddings, pooled vectors, offsets and mask for one batch of texts, padded
        to the longest or to ``pad_to`` tokens (at most the model's window).

        Runs like query encoding (:meth:`query_autocast`), without a prompt; needs a fast
        tokenizer for the offsets.
        """
        import torch

        model = self._model
        window = int(getattr(model, "max_seq_length", 512) or 512)
        encoded = model.tokenizer(
            list(texts),
            padding=True if pad_to is None else "max_length",
            truncation=True,
            max_length=window if pad_to is None else min(max(pad_to, 1), window),
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping").numpy()
        features = {k: v.to(model.device) for k, v in encoded.items()}
        with torch.inference_mode(), self.query_autocast():
            result = model(features)
        tokens = result["token_embeddings"].float().cpu().numpy()
        sentence = result["sentence_embedding"].float().cpu().numpy()
        mask = encoded["attention_mask"].numpy().astype(bool)
        return TokenOutput(tokens, sentence, offsets, mask)

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Encode texts into a ``(len(texts), dim)`` float32 array of unit vectors.

        Args:
            texts: The texts; identical texts are encoded once.
            kind: ``"query"`` for users' documents, ``"passage"`` for ESCO views; picks the
                model's prompt.
            batch_size: Texts per forward pass.
            show_progress: Show sentence-transformers' progress bar.

        Returns:
            Row ``i`` is the vector of ``texts[i]``.

        Example:
            >>> embedder.embed(["Python programming"], kind="query").shape  # doctest: +SKIP
            (1, 384)
        """
        prompt = self.spec.prompt(kind) or None

        def encode(unique: list[str]) -> np.ndarray:
            with self.query_autocast() if kind == "query" else self.passage_autocast():
                vectors = self._model.encode(
                    unique,
                    prompt=prompt,
                    batch_size=batch_size,
                    show_progress_bar=show_progress,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
            return np.ascontiguousarray(vectors, dtype=np.float32)

        return embed_distinct(texts, self._dim, encode)
