"""The JavaScript export folder: its layout, its manifest, and the checks that read it.

Layout (every path relative to the folder; ``<dtype>`` is ``f16`` or ``f32``)::

    manifest.json               what is inside (below); written last
    model/config.json           the transformers.js model folder: load it with
    model/tokenizer.json            env.localModelPath = <folder>, model id "model"
    model/tokenizer_config.json     (model_max_length = the token limit Python uses)
    model/onnx/model.onnx       float32 graph: input ids, mask (, token types) -> token vectors
    vectors/<kind>.<dtype>      one table per kind (skills, occupations): rows x dim
                                little-endian IEEE floats, C order, L2-normalised
    vectors/index.json          per kind: concept URIs, preferred labels per language, and
                                for each row its concept (index into the URIs) and its view
                                (0 label, 1 blob)
    parity.json                 texts, their Python vectors and their top-5 concepts per kind

``manifest.json`` records the format and its version, the model (id, revision, dims,
pooling, normalisation, token limit, prompts), the taxonomy (version, content hash,
languages), the recipe, the vectors' dtype and byte order, and every file's size and
sha256. A reader refuses a folder whose ``format_version`` is newer than it knows, a
listed file that is missing or has another size, and (when asked) a folder made for
another model or taxonomy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache.files import file_sha256
from ..errors import ExportError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "INDEX",
    "MANIFEST",
    "MODEL_DIR",
    "ONNX_FILE",
    "PARITY",
    "ExportInfo",
    "read_export",
    "vector_file",
]

FORMAT = "esco-skill-extractor/js-export"
#: Bump when the layout or a file's meaning changes; readers refuse newer versions.
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
MODEL_DIR = "model"
ONNX_FILE = "onnx/model.onnx"  # inside MODEL_DIR, where transformers.js looks for dtype fp32
INDEX = "vectors/index.json"
PARITY = "parity.json"
KINDS = ("skills", "occupations")

_SUFFIX = {"float16": "f16", "float32": "f32"}


def vector_file(kind: str, dtype: str) -> str:
    """The path of a kind's vector table inside the folder."""
    return f"vectors/{kind}.{_SUFFIX[dtype]}"


@dataclass(frozen=True)
class ExportInfo:
    """A checked export folder.

    Attributes:
        path: The folder.
        manifest: The parsed ``manifest.json``.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"]["id"])

    @property
    def taxonomy_version(self) -> str:
        return str(self.manifest["taxonomy"]["version"])

    @property
    def taxonomy_hash(self) -> str:
        return str(self.manifest["taxonomy"]["hash"])


def _load_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    if not path.is_dir():
        raise ExportError(f"{path} is not a folder")
    if not file.is_file():
        raise ExportError(f"{path} is not a JavaScript export: {MANIFEST} is missing")
    try:
        manifest = json.loads(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExportError(f"{file} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportError(f"{file} is not the manifest of a JavaScript export (format {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ExportError(f"{file} has no valid format_version")
    if version > FORMAT_VERSION:
        raise ExportError(
            f"{path} has export format {version}, newer than this version reads ({FORMAT_VERSION}); "
            "upgrade esco-skill-extractor, or export again with this version"
        )
    for section in ("model", "taxonomy", "recipe", "vectors", "files"):
        if not isinstance(manifest.get(section), dict):
            raise ExportError(f"{file} lacks its {section!r} section")
    return manifest


def _check_files(path: Path, files: dict[str, Any], full: bool) -> None:
    for name, entry in files.items():
        target = path / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise ExportError(f"{path / MANIFEST} lists a file outside the folder: {name!r}")
        if not target.is_file():
            raise ExportError(f"{path} is incomplete: {name} is missing (export again)")
        size = target.stat().st_size
        if size != entry.get("bytes"):
            raise ExportError(
                f"{target} has {size} bytes where the manifest says {entry.get('bytes')} "
                "(changed or truncated; export again)"
            )
        if full and file_sha256(target) != entry.get("sha256"):
            raise ExportError(f"{target} fails its sha256 check (changed since the export; export again)")


def _mismatch(path: Path, what: str, found: str, wanted: str) -> ExportError:
    return ExportError(f"{path} was exported for {what} {found}, not {wanted}; export again with this {what}")


def read_export(
    path: str | Path,
    *,
    model_id: str | None = None,
    model_revision: str | None = None,
    taxonomy_version: str | None = None,
    taxonomy_hash: str | None = None,
    full: bool = False,
) -> ExportInfo:
    """Read and check an export folder.

    Args:
        path: The folder.
        model_id: The model it must have been made with (``None``: any).
        model_revision: The model's revision it must have been made with.
        taxonomy_version: The ESCO version it must have been made from.
        taxonomy_hash: The taxonomy content hash it must have been made from.
        full: Also check every file's sha256 (reads everything).

    Raises:
        ExportError: the folder is not an export, its format is newer than this version
            reads, a file is missing or has changed, or it was made for another model or
            taxonomy. The message says which.
    """
    path = Path(path)
    manifest = _load_manifest(path)
    info = ExportInfo(path, manifest)
    model, taxonomy = manifest["model"], manifest["taxonomy"]
    if model_id is not None and model.get("id") != model_id:
        raise _mismatch(path, "model", repr(model.get("id")), repr(model_id))
    if model_revision is not None and model.get("revision") != model_revision:
        raise _mismatch(
            path, "model revision", repr(model.get("revision")), f"{model_revision!r} (the model changed)"
        )
    if taxonomy_version is not None and taxonomy.get("version") != taxonomy_version:
        raise _mismatch(path, "ESCO version", repr(taxonomy.get("version")), repr(taxonomy_version))
    if taxonomy_hash is not None and taxonomy.get("hash") != taxonomy_hash:
        raise _mismatch(
            path, "taxonomy", f"with hash {taxonomy.get('hash')}", f"{taxonomy_hash} (its files differ)"
        )
    _check_files(path, manifest["files"], full)
    return info
