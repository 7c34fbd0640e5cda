"""Writing a JavaScript export folder (layout in :mod:`.folder`).

The concept vectors are the ones the Python library scores with: the embedding cache of the
torch backend (loaded, or built once), in the dtype asked for. The model is the ONNX graph
that ``--backend onnx`` exports (float32), next to its tokenizer and config. The parity
set's vectors come from the torch model in float32 (no bfloat16 autocast, whatever the
CPU), with the model's query prompt, so they are the reference a JavaScript runtime must
reproduce.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..__about__ import __version__
from ..cache.files import file_sha256, fsync_path, install_folder, package_versions, remove_path, utc_now
from ..cache.recipe import VIEW_BLOB, VIEW_LABEL, ViewTable, build_views
from ..cache.store import EmbeddingCache
from ..embedding import SentenceTransformerEmbedder, load_embedder, model_spec
from ..embedding.onnx import OnnxEmbedder
from ..errors import ExportError
from ..paths import EMBEDDINGS_DIR, cache_subdir
from ..taxonomy import Taxonomy
from .folder import (
    FORMAT,
    FORMAT_VERSION,
    INDEX,
    KINDS,
    MANIFEST,
    MODEL_DIR,
    ONNX_FILE,
    PARITY,
    read_export,
    vector_file,
)
from .parity import parity_texts, top_concepts

__all__ = ["ExportSummary", "write_export"]

logger = logging.getLogger(__name__)

Dtype = Literal["float16", "float32"]

TOP_K = 5
_MODEL_FILES = ("config.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`write_export` wrote.

    Attributes:
        path: The export folder.
        model_id: The model.
        taxonomy_version: The ESCO version.
        dtype: The vectors' float type.
        rows: Vector rows per kind.
        parity_texts: Texts in ``parity.json``.
        onnx_min_cosine: The lowest cosine between the ONNX graph (run by onnxruntime in
            Python) and the torch reference over the parity texts: the export itself is
            checked before any JavaScript runs.
        bytes: The folder's size.
    """

    path: Path
    model_id: str
    taxonomy_version: str
    dtype: str
    rows: dict[str, int]
    parity_texts: int
    onnx_min_cosine: float
    bytes: int


def _prepare_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not (out_dir / MANIFEST).is_file():
        raise ExportError(f"{out_dir} is not empty and holds no export; choose an empty or new folder")
    if not overwrite:
        try:
            info = read_export(out_dir)
            held = f"an export of {info.model_id} for ESCO {info.taxonomy_version}"
        except ExportError as exc:
            held = f"an unusable export ({exc})"
        raise ExportError(f"{out_dir} already holds {held}; pass --overwrite to replace it")


def _model_files(onnx: OnnxEmbedder, max_length: int, target: Path) -> dict[str, Any]:
    source = onnx.path
    if source is None:
        raise ExportError(f"the source folder of {onnx.model_id} is unknown")
    extra = sorted(
        p.name
        for p in onnx.export_path.iterdir()
        if p.name not in {"model.onnx", "tokenizer.json", "export.json"}
    )
    if extra:  # a graph over 2 GB keeps its weights in side files, which this layout lacks
        raise ExportError(
            f"the ONNX graph of {onnx.model_id} stores its weights outside model.onnx "
            f"({', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}); "
            "export-js supports graphs under 2 GB"
        )
    (target / "onnx").mkdir(parents=True)
    shutil.copyfile(onnx.export_path / "model.onnx", target / ONNX_FILE)
    shutil.copyfile(onnx.export_path / "tokenizer.json", target / "tokenizer.json")
    for name in _MODEL_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
    if not (target / "config.json").is_file():
        raise ExportError(f"{source} has no config.json, which transformers.js needs")
    config_file = target / "tokenizer_config.json"
    config = json.loads(config_file.read_text("utf-8")) if config_file.is_file() else {}
    # transformers.js truncates at model_max_length: make it the limit Python applies.
    config["model_max_length"] = max_length
    config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return json.loads((onnx.export_path / "export.json").read_text("utf-8"))  # type: ignore[no-any-return]


def _index(taxonomy: Taxonomy, tables: dict[str, ViewTable]) -> dict[str, Any]:
    out: dict[str, Any] = {"views": {str(VIEW_LABEL): "label", str(VIEW_BLOB): "blob"}}
    for kind in KINDS:
        table = tables[kind]
        concepts = taxonomy.skills if kind == "skills" else taxonomy.occupations
        labels: dict[str, list[str | None]] = {}
        for language in taxonomy.languages:
            column: list[str | None] = []
            for uri in table.uris:
                concept = concepts[uri]
                if language == taxonomy.language:
                    column.append(concept.preferred_label)
                else:
                    translation = concept.translations.get(language)
                    column.append(translation.preferred_label if translation is not None else None)
            labels[language] = column
        out[kind] = {
            "uris": list(table.uris),
            "labels": labels,
            "owners": table.owners.tolist(),
            "views": table.kinds.tolist(),
        }
    return out


def _write_json(path: Path, value: Any, *, indent: int | None = None) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _reference_vectors(embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    """Query vectors in float32 whatever the CPU (the library may autocast queries to bfloat16)."""
    prompt = embedder.spec.prompt("query") or None
    vectors = embedder.model.encode(
        texts, prompt=prompt, batch_size=32, convert_to_numpy=True, normalize_embeddings=True
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def write_export(
    out_dir: str | os.PathLike[str],
    *,
    taxonomy: Taxonomy,
    model: str | None = None,
    device: str | None = None,
    dtype: Dtype = "float16",
    cache_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    on_phase: Callable[[str], None] | None = None,
) -> ExportSummary:
    """Write everything a JavaScript runtime needs to embed and search like this library.

    Args:
        out_dir: The folder to write (created; replaced atomically when ``overwrite``).
        taxonomy: The taxonomy whose concepts are exported.
        model: A model name or folder (``None``: the default, with the bundled fallback).
        device: Where torch computes the vectors that are not cached yet (``None``: cuda,
            then mps, then cpu).
        dtype: Float type of the exported concept vectors (the embedding cache's dtype).
        cache_dir: The cache folder (embeddings, ONNX exports); default: the user's.
        overwrite: Replace an export already in ``out_dir``.
        show_progress: Progress bar while the embedding cache is built.
        on_phase: Called with a readable phase at each step.

    Returns:
        What was written.

    Raises:
        ExportError: ``out_dir`` holds something else, or the model cannot be exported.
        ModelUnavailable: the model or the ``onnx`` extra is missing.

    Example:
        >>> write_export("esco-js", taxonomy=load_taxonomy(), model="all-MiniLM-L6-v2")  # doctest: +SKIP
    """

    def report(phase: str) -> None:
        logger.info("%s", phase)
        if on_phase is not None:
            on_phase(phase)

    out = Path(out_dir).expanduser().resolve()
    _prepare_target(out, overwrite)
    started = time.perf_counter()
    report(f"loading the model {model or '(default)'}")
    reference = load_embedder(model, device=device, cache_dir=cache_dir).embedder
    if not isinstance(reference, SentenceTransformerEmbedder):
        raise ExportError(
            f"{reference.model_id} cannot be exported for JavaScript: only sentence-transformers "
            "models (Transformer + Pooling) have an ONNX graph"
        )
    report("exporting the model to ONNX (once per model)")
    onnx = load_embedder(reference.model_id, backend="onnx", cache_dir=cache_dir).embedder
    if not isinstance(onnx, OnnxEmbedder) or onnx.revision != reference.revision:
        raise ExportError(f"the ONNX export of {reference.model_id} does not match the torch model")
    if onnx.pooling not in ("mean", "cls"):
        raise ExportError(
            f"the JavaScript client pools by mean or cls; {onnx.model_id} pools by {onnx.pooling}"
        )
    spec = model_spec(reference.model_id)
    tables = dict(build_views(taxonomy, multilingual=spec.multilingual))
    report("loading the concept vectors (built once per model and taxonomy)")
    store = EmbeddingCache(cache_subdir(EMBEDDINGS_DIR, cache_dir))
    cached = store.load_or_build(reference, taxonomy, tables, dtype=dtype, show_progress=show_progress)

    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".tmp-{out.name}-{secrets.token_hex(4)}"
    temp.mkdir()
    try:
        report("writing the model, vectors and index")
        onnx_key = _model_files(onnx, onnx.max_seq_length, temp / MODEL_DIR)
        (temp / "vectors").mkdir()
        rows: dict[str, int] = {}
        stored: dict[str, np.ndarray] = {}
        little = np.dtype(dtype).newbyteorder("<")
        for kind in KINDS:
            data = np.ascontiguousarray(cached.vectors[kind], dtype=little)
            with (temp / vector_file(kind, dtype)).open("wb") as handle:
                handle.write(data.tobytes(order="C"))
                handle.flush()
                os.fsync(handle.fileno())
            rows[kind] = int(data.shape[0])
            stored[kind] = data
        _write_json(temp / INDEX, _index(taxonomy, tables))

        report("computing the parity set")
        items = parity_texts(taxonomy)
        texts = [item.text for item in items]
        vectors = _reference_vectors(reference, texts)
        onnx_vectors = onnx.embed(texts, kind="query")
        onnx_min = float((vectors * onnx_vectors).sum(axis=1).min())
        tops = {
            kind: top_concepts(vectors, stored[kind], tables[kind].owners, len(tables[kind].uris), TOP_K)
            for kind in KINDS
        }
        parity = {
            "format_version": FORMAT_VERSION,
            "model_id": reference.model_id,
            "taxonomy_hash": taxonomy.content_hash,
            "top_k": TOP_K,
            "reference": "sentence-transformers on torch, float32, normalised, with the query prompt",
            "texts": [
                {
                    "text": item.text,
                    "source": item.source,
                    "language": item.language,
                    "vector": [round(float(x), 7) for x in vectors[i]],
                    "top": {
                        kind: [[tables[kind].uris[c], round(score, 6)] for c, score in tops[kind][i]]
                        for kind in KINDS
                    },
                }
                for i, item in enumerate(items)
            ],
        }
        _write_json(temp / PARITY, parity)

        files = sorted(p for p in temp.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": utc_now(),
            "producer": {"package": "esco-skill-extractor", "version": __version__},
            "model": {
                "id": reference.model_id,
                "revision": reference.revision,
                "dim": reference.dim,
                "pooling": onnx.pooling,
                "normalize": True,
                "max_seq_length": onnx.max_seq_length,
                "query_prompt": spec.prompt("query"),
                "passage_prompt": spec.prompt("passage"),
                "folder": MODEL_DIR,
                "onnx_file": ONNX_FILE,
                "onnx_dtype": "float32",
                "inputs": onnx_key.get("inputs", []),
                "pad_token_id": onnx_key.get("pad_token_id"),
                "onnx_export": {k: onnx_key.get(k) for k in ("export_version", "opset", "versions")},
            },
            "taxonomy": {
                "version": taxonomy.version,
                "hash": taxonomy.content_hash,
                "language": taxonomy.language,
                "languages": list(taxonomy.languages),
            },
            "recipe": {
                "name": tables["skills"].recipe[0],
                "version": tables["skills"].recipe[1],
                "search": "cosine; a concept scores its best view",
            },
            "vectors": {
                "dtype": dtype,
                "byte_order": "little",
                "normalized": True,
                "index": INDEX,
                "tables": {
                    kind: {
                        "file": vector_file(kind, dtype),
                        "rows": rows[kind],
                        "dim": reference.dim,
                        "concepts": len(tables[kind].uris),
                    }
                    for kind in KINDS
                },
            },
            "parity": {
                "file": PARITY,
                "texts": len(items),
                "top_k": TOP_K,
                "onnx_python_min_cosine": round(onnx_min, 6),
            },
            "versions": package_versions(),
            "files": {
                p.relative_to(temp).as_posix(): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
                for p in files
            },
        }
        _write_json(temp / MANIFEST, manifest, indent=2)
        fsync_path(temp)
        install_folder(temp, out)
    except BaseException:
        remove_path(temp)
        raise
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    logger.info("exported %s to %s in %.1fs", reference.model_id, out, time.perf_counter() - started)
    return ExportSummary(
        path=out,
        model_id=reference.model_id,
        taxonomy_version=taxonomy.version,
        dtype=dtype,
        rows=rows,
        parity_texts=len(items),
        onnx_min_cosine=onnx_min,
        bytes=size,
    )
