"""Reading an export folder: missing or changed files, newer formats, other models or taxonomies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from esco_skill_extractor.errors import ExportError
from esco_skill_extractor.export import FORMAT_VERSION, read_export
from esco_skill_extractor.export.folder import FORMAT


def make_folder(root: Path, **changes: Any) -> Path:
    root.mkdir()
    (root / "vectors").mkdir()
    data = b"\x00" * 16
    (root / "vectors" / "skills.f32").write_bytes(data)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"id": "all-MiniLM-L6-v2", "revision": "r1", "dim": 4},
        "taxonomy": {"version": "1.2.0", "hash": "abc"},
        "recipe": {"name": "labels+blob", "version": "1"},
        "vectors": {"dtype": "float32"},
        "files": {"vectors/skills.f32": {"bytes": 16, "sha256": hashlib.sha256(data).hexdigest()}},
        **changes,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_a_sound_folder_reads(tmp_path: Path) -> None:
    info = read_export(
        make_folder(tmp_path / "x"),
        model_id="all-MiniLM-L6-v2",
        model_revision="r1",
        taxonomy_version="1.2.0",
        taxonomy_hash="abc",
        full=True,
    )
    assert (info.model_id, info.taxonomy_version, info.taxonomy_hash) == ("all-MiniLM-L6-v2", "1.2.0", "abc")


def test_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is not a folder"):
        read_export(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="manifest.json is missing"):
        read_export(tmp_path / "empty")
    with pytest.raises(ExportError, match="not the manifest of a JavaScript export"):
        read_export(make_folder(tmp_path / "other", format="something-else"))
    broken = make_folder(tmp_path / "broken")
    (broken / "manifest.json").write_text("{")
    with pytest.raises(ExportError, match="cannot be read"):
        read_export(broken)
    with pytest.raises(ExportError, match="lacks its 'files' section"):
        read_export(make_folder(tmp_path / "no-files", files=None))


def test_a_newer_format_is_refused_with_advice(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "x", format_version=FORMAT_VERSION + 1)
    with pytest.raises(ExportError, match="newer than this version reads.*upgrade"):
        read_export(folder)


def test_missing_truncated_and_altered_files(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "x")
    (folder / "vectors" / "skills.f32").write_bytes(b"\x01" * 16)
    read_export(folder)  # the size is right: only the full check reads the bytes
    with pytest.raises(ExportError, match="fails its sha256 check"):
        read_export(folder, full=True)
    (folder / "vectors" / "skills.f32").write_bytes(b"\x00" * 8)
    with pytest.raises(ExportError, match="has 8 bytes where the manifest says 16"):
        read_export(folder)
    (folder / "vectors" / "skills.f32").unlink()
    with pytest.raises(ExportError, match=r"incomplete: vectors/skills.f32 is missing"):
        read_export(folder)
    outside = make_folder(tmp_path / "y", files={"../secret": {"bytes": 1}})
    with pytest.raises(ExportError, match="outside the folder"):
        read_export(outside)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"model_id": "BAAI/bge-m3"}, "exported for model 'all-MiniLM-L6-v2', not 'BAAI/bge-m3'"),
        ({"model_revision": "r2"}, "model revision 'r1', not 'r2'"),
        ({"taxonomy_version": "1.1.1"}, "ESCO version '1.2.0', not '1.1.1'"),
        ({"taxonomy_hash": "def"}, "taxonomy with hash abc, not def"),
    ],
)
def test_another_model_or_taxonomy_is_refused(tmp_path: Path, expect: dict[str, str], message: str) -> None:
    with pytest.raises(ExportError, match=message):
        read_export(make_folder(tmp_path / "x"), **expect)  # type: ignore[arg-type]
