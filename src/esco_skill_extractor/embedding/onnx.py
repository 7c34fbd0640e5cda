"""The ONNX Runtime backends: ``onnx`` (float32) and ``onnx-int8`` (dynamic int8 quantisation).

A sentence-transformers model made of a Transformer and a Pooling module (optionally
Normalize) is exported once to ONNX with torch's exporter, quantised with onnxruntime's
dynamic quantiser for ``onnx-int8`` (int8 weights, per output channel: cosine to torch
about 0.99 on all-MiniLM-L6-v2, where per-tensor scales give about 0.97), and kept in
``<cache dir>/onnx/<model>-<digest>/`` next to the tokenizer. Nothing is fetched from the
Hub; the folder is keyed by the model's identity (id and revision), its sequence length,
the variant, and the versions of the exporter and quantiser, so a change to any of them
exports again instead of serving a stale file.

Once exported, loading needs neither torch nor transformers: onnxruntime runs the graph
and the ``tokenizers`` library reads ``tokenizer.json``, which makes a cold start with a
warm cache fast.

The graph returns token embeddings, so span pooling (:mod:`.spans`) works as with torch.
Dynamic quantisation scales activations per batch, so int8 vectors depend slightly on the
other texts of their batch: expect repeats within a small tolerance, not bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ModelUnavailable
from .base import SPAN_POOLING, TextKind, TokenOutput, embed_distinct
from .registry import ModelSpec

__all__ = ["OnnxEmbedder", "OnnxVariant", "TokenOutput", "export_dir_for", "export_onnx"]

logger = logging.getLogger(__name__)

OnnxVariant = Literal["onnx", "onnx-int8"]

#: Bump when the export layout or recipe changes: old folders are then ignored.
EXPORT_VERSION = "1"
_OPSET = 17
_POOLING = ("mean", "cls", "max")
_INSTALL_HINT = "pip install 'esco-skill-extractor[onnx]'"


def require_onnxruntime() -> Any:
    """Import onnxruntime, or fail with an install hint."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelUnavailable(
            f"the ONNX backends need onnxruntime and onnx: {_INSTALL_HINT} ({exc})"
        ) from None
    return onnxruntime


def _versions(variant: OnnxVariant) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    names = ["torch", "onnx"] + (["onnxruntime"] if variant == "onnx-int8" else [])
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _export_key(
    model_id: str, revision: str, max_length: int, variant: OnnxVariant, versions: dict[str, str]
) -> dict[str, Any]:
    return {
        "export_version": EXPORT_VERSION,
        "model_id": model_id,
        "model_revision": revision,
        "max_seq_length": max_length,
        "variant": variant,
        "opset": _OPSET,
        "quantization": "dynamic-int8-per-channel" if variant == "onnx-int8" else None,
        "versions": versions,
    }


def _slug(model_id: str) -> str:
    name = Path(model_id).name if ("/" in model_id and Path(model_id).is_absolute()) else model_id
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return cleaned.strip("-.")[:60] or "model"


def export_dir_for(
    cache_root: Path, model_id: str, revision: str, max_length: int, variant: OnnxVariant
) -> tuple[Path, dict[str, Any]]:
    """The folder an export of this model and variant lives in, and its key."""
    key = _export_key(model_id, revision, max_length, variant, _versions(variant))
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    suffix = "int8" if variant == "onnx-int8" else "fp32"
    return cache_root / f"{_slug(model_id)}-{suffix}-{digest}", key


def source_max_length(path: Path, spec: ModelSpec) -> int:
    """The sequence length the torch backend would use for the model in ``path``."""
    own: int | None = None
    for name, field in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("tokenizer_config.json", "model_max_length"),
    ):
        try:
            value = json.loads((path / name).read_text("utf-8")).get(field)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, int) and 0 < value < 1_000_000:
            own = value
            break
    own = own or 512
    return min(own, spec.max_seq_length) if spec.max_seq_length else own


def _check_modules(model: Any, model_id: str) -> str:
    """The pooling mode of a Transformer + Pooling (+ Normalize) model; anything else fails."""
    names = [type(m).__name__ for m in model]
    if not names or names[0] != "Transformer" or "Pooling" not in names:
        raise ModelUnavailable(
            f"the ONNX backends support Transformer + Pooling models; {model_id} has "
            f"{' + '.join(names) or 'no modules'}; use --backend torch"
        )
    extra = [n for n in names if n not in ("Transformer", "Pooling", "Normalize")]
    if extra:
        raise ModelUnavailable(
            f"the ONNX backends do not support the {', '.join(extra)} module(s) of {model_id}; "
            "use --backend torch"
        )
    pooling = model[names.index("Pooling")]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None:
        mode = pooling.get_pooling_mode_str()
    if isinstance(mode, list | tuple):
        mode = "+".join(mode)
    if mode not in _POOLING:
        raise ModelUnavailable(
            f"the ONNX backends support {', '.join(_POOLING)} pooling; {model_id} uses {mode!r}"
        )
    return str(mode)


def export_onnx(source: Path, target: Path, key: dict[str, Any], *, spec: ModelSpec) -> Path:
    """Export the sentence-transformers model in ``source`` to ``target`` (atomically).

    Writes ``model.onnx`` (quantised for ``onnx-int8``), ``tokenizer.json`` and
    ``export.json``. Needs torch, sentence-transformers, onnx and onnxruntime; never the
    network. Concurrent exports of the same key wait for each other (a file lock).

    Raises:
        ModelUnavailable: the packages are missing, the model's modules are not supported,
            or the export fails.
    """
    require_onnxruntime()
    try:
        import onnx  # noqa: F401 - the exporter and the quantiser need it
    except ImportError as exc:
        raise ModelUnavailable(f"the ONNX backends need onnx: {_INSTALL_HINT} ({exc})") from None
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "export.json").is_file():
            return target
        started = time.perf_counter()
        logger.warning(
            "exporting %s to ONNX (%s) in %s; this happens once", key["model_id"], key["variant"], target
        )
        scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            info = _export(source, scratch, key, spec)
            (scratch / "export.json").write_text(json.dumps(info, indent=2), "utf-8")
            if target.exists():  # an interrupted export of an older layout
                shutil.rmtree(target)
            os.replace(scratch, target)
        except ModelUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - exporter failures have many types
            raise ModelUnavailable(
                f"could not export {key['model_id']} to ONNX: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        logger.info("exported %s in %.1fs", key["model_id"], time.perf_counter() - started)
    return target


def _export(source: Path, scratch: Path, key: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    model.eval()
    pooling = _check_modules(model, key["model_id"])
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelUnavailable(f"the ONNX backends need a fast tokenizer; {key['model_id']} has a slow one")
    transformer = model[0].auto_model
    sample = tokenizer(
        ["An example sentence.", "Another one, a little longer than that."], padding=True, return_tensors="pt"
    )
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class _Tokens(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    fp32 = scratch / ("model.onnx" if key["variant"] == "onnx" else "model-fp32.onnx")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter (deprecated in favour of the dynamo one, which needs the
        # onnxscript package and takes six times longer) traces BERT-like models exactly.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Tokens(transformer).eval(),
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )
    if key["variant"] == "onnx-int8":
        from onnxruntime.quantization import (  # type: ignore[import-untyped]
            QuantType,
            quantize_dynamic,
        )

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint on the root
        try:
            quantize_dynamic(
                str(fp32), str(scratch / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8
            )
        finally:
            root.setLevel(level)
        fp32.unlink()
    tokenizer.backend_tokenizer.save(str(scratch / "tokenizer.json"))
    getter = getattr(model, "get_embedding_dimension", None) or (model.get_sentence_embedding_dimension)
    dim = int(getter() or 0)
    return {
        **key,
        "inputs": names,
        "pooling": pooling,
        "dim": dim,
        "pad_token": tokenizer.pad_token,
        "pad_token_id": tokenizer.pad_token_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class OnnxEmbedder:
    """An :class:`~esco_skill_extractor.embedding.base.Embedder` on ONNX Runtime (CPU).

    Same vectors as :class:`SentenceTransformerEmbedder` for ``onnx`` (to float rounding),
    cosine about 0.99 for ``onnx-int8``. Build one with :func:`load_embedder` with
    ``backend="onnx"`` or ``"onnx-int8"``.

    Attributes:
        spec: The registry settings in use.
        path: The source model folder.
        export_path: The exported folder.
    """

    def __init__(
        self,
        export_path: Path,
        *,
        model_id: str,
        revision: str,
        spec: ModelSpec,
        path: Path | None,
        variant: OnnxVariant,
    ) -> None:
        ort = require_onnxruntime()
        from tokenizers import Tokenizer

        info = json.loads((export_path / "export.json").read_text("utf-8"))
        self._model_id = model_id
        self._revision = revision
        self._variant = variant
        self._info = info
        self.spec = spec
        self.path = path
        self.export_path = export_path
        self.pooling: str = info["pooling"]
        self.max_seq_length = int(info["max_seq_length"])
        self._dim = int(info["dim"])
        self._inputs: list[str] = list(info["inputs"])
        tokenizer = Tokenizer.from_file(str(export_path / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_seq_length)
        self._pad_id = int(info["pad_token_id"] or 0)
        tokenizer.enable_padding(pad_id=self._pad_id, pad_token=str(info["pad_token"] or "[PAD]"))
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(export_path / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

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
        return "cpu"

    @property
    def backend(self) -> OnnxVariant:
        """``onnx`` or ``onnx-int8`` (part of the cache key)."""
        return self._variant

    @property
    def encode_settings(self) -> str:
        """The registry's settings plus the export's identity (part of the cache key)."""
        values = json.loads(self.spec.encode_settings)
        values["export"] = self.export_path.name
        return json.dumps(values, sort_keys=True)

    @property
    def supports_span_pooling(self) -> bool:
        """Mean or CLS pooling and no query prompt (the tokenizer always gives offsets)."""
        return not self.spec.prompt("query") and self.pooling in SPAN_POOLING

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, as :meth:`encode_tokens` gives them (before padding)."""
        return [sum(e.attention_mask) for e in self._tokenizer.encode_batch(list(texts))]

    def encode_tokens(self, texts: Sequence[str], pad_to: int | None = None) -> TokenOutput:
        """Token embeddings, pooled vectors, offsets and mask for one batch of texts, padded
        to the longest or to ``pad_to`` tokens (at most the model's window; not for
        ``onnx-int8``)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        if self._variant == "onnx-int8":
            # Activations are quantised with one scale per batch: a fixed padding cannot make a
            # text's vectors independent of its batch, and the extra padding costs accuracy.
            pad_to = None
        extra = max(0, min(pad_to or 0, self.max_seq_length) - ids.shape[1])
        wider = ((0, 0), (0, extra))
        ids = np.pad(ids, wider, constant_values=self._pad_id)
        mask = np.pad(np.array([e.attention_mask for e in encodings], dtype=np.int64), wider)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.pad(np.array([e.type_ids for e in encodings], dtype=np.int64), wider)
        offsets = np.array([e.offsets for e in encodings], dtype=np.int64).reshape(len(ids), -1, 2)
        offsets = np.pad(offsets, (*wider, (0, 0)))
        (tokens,) = self._session.run(None, {k: feeds[k] for k in self._inputs})
        tokens = np.asarray(tokens, dtype=np.float32)
        real = mask.astype(bool)
        if self.pooling == "cls":
            sentence = tokens[:, 0]
        elif self.pooling == "max":
            sentence = np.where(real[..., None], tokens, -1e9).max(axis=1)
        else:
            weights = real[..., None].astype(np.float32)
            sentence = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return TokenOutput(tokens, np.ascontiguousarray(sentence, dtype=np.float32), offsets, real)

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Encode texts into a ``(len(texts), dim)`` float32 array of unit vectors.

        Identical texts are encoded once; texts are batched by length (little padding).
        """
        prompt = self.spec.prompt(kind)

        def encode(unique: list[str]) -> np.ndarray:
            inputs = [prompt + t for t in unique] if prompt else unique
            order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
            vectors = np.empty((len(unique), self._dim), dtype=np.float32)
            step = max(1, batch_size)
            for start in range(0, len(order), step):
                rows = order[start : start + step]
                vectors[rows] = self.encode_tokens([inputs[i] for i in rows]).sentence
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            return vectors

        return embed_distinct(texts, self._dim, encode)
