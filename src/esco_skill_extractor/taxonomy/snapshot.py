"""A derived binary snapshot of a loaded taxonomy, so that later loads skip CSV parsing.

The snapshot is a folder with ``taxonomy.json`` (concepts) and ``relations.npy`` (int32
triples: occupation index, skill index, 1 for essential / 0 for optional). Nothing is
pickled: JSON and ``np.load(..., allow_pickle=False)`` only. It is keyed by the source
files' names, sizes and modification times, and written atomically (temporary folder,
then rename): a changed file gives another key, so a stale snapshot is never read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .models import (
    IscoGroup,
    Occupation,
    Relation,
    Skill,
    SkillGroup,
    Taxonomy,
    Translation,
)

__all__ = ["load_snapshot", "save_snapshot", "snapshot_key"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def snapshot_key(folder: Path, language: str, version: str | None) -> str:
    """A digest of the source folder's files (name, size, mtime) and the load options."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{folder.resolve()}\0{language}\0{version}".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:24]


def _translations(concept: Any) -> dict[str, list[Any]]:
    return {
        lang: [t.preferred_label, list(t.alt_labels), t.description]
        for lang, t in concept.translations.items()
    }


def _restore(raw: dict[str, list[Any]]) -> dict[str, Translation]:
    return {lang: Translation(p, tuple(a), d) for lang, (p, a, d) in raw.items()}


def save_snapshot(taxonomy: Taxonomy, folder: Path) -> None:
    """Write ``taxonomy`` to ``folder`` atomically; any error leaves no snapshot behind."""
    skills = list(taxonomy.skills.values())
    occupations = list(taxonomy.occupations.values())
    document = {
        "format_version": FORMAT_VERSION,
        "version": taxonomy.version,
        "content_hash": taxonomy.content_hash,
        "language": taxonomy.language,
        "languages": list(taxonomy.languages),
        "source": taxonomy.source,
        "skills": [
            [
                s.uri,
                s.preferred_label,
                list(s.alt_labels),
                s.description,
                _translations(s),
                s.skill_type,
                s.reuse_level,
                list(s.collections),
                list(s.broader),
                list(s.skill_groups),
            ]
            for s in skills
        ],
        "occupations": [
            [
                o.uri,
                o.preferred_label,
                list(o.alt_labels),
                o.description,
                _translations(o),
                o.isco_code,
                o.code,
            ]
            for o in occupations
        ],
        "isco_groups": [
            [g.uri, g.preferred_label, list(g.alt_labels), g.description, _translations(g), g.code]
            for g in taxonomy.isco_groups.values()
        ],
        "skill_groups": [
            [g.uri, g.preferred_label, list(g.alt_labels), g.description, _translations(g), g.code]
            for g in taxonomy.skill_groups.values()
        ],
        "extra_skill_uris": [],
    }
    skill_index = {s.uri: i for i, s in enumerate(skills)}
    occupation_index = {o.uri: i for i, o in enumerate(occupations)}
    # Relations may name concepts missing from the skills/occupations files: keep them.
    extra: list[str] = []
    triples: list[tuple[int, int, int]] = []
    for occupation_uri, pairs in taxonomy.occupation_skills.items():
        o = occupation_index.get(occupation_uri)
        if o is None:
            o = -1 - len(extra)
            extra.append(occupation_uri)
        for skill_uri, relation in pairs.items():
            s = skill_index.get(skill_uri)
            if s is None:
                s = -1 - len(extra)
                extra.append(skill_uri)
            triples.append((o, s, 1 if relation == "essential" else 0))
    document["extra_skill_uris"] = extra
    relations = np.asarray(triples, dtype="<i4").reshape(-1, 3)

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        (staging / "taxonomy.json").write_text(
            json.dumps(document, ensure_ascii=False, separators=(",", ":")), "utf-8"
        )
        np.save(staging / "relations.npy", relations, allow_pickle=False)
        try:
            os.replace(staging, folder)
        except OSError:
            if not folder.exists():  # a concurrent writer did not win the race: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_snapshot(folder: Path) -> Taxonomy | None:
    """Read a snapshot; ``None`` if it is missing, unreadable or of another format."""
    try:
        document = json.loads((folder / "taxonomy.json").read_text("utf-8"))
        relations = np.load(folder / "relations.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        logger.debug("no usable taxonomy snapshot in %s: %s", folder, exc)
        return None
    if document.get("format_version") != FORMAT_VERSION or relations.ndim != 2:
        return None

    skills = {
        row[0]: Skill(
            row[0],
            row[1],
            tuple(row[2]),
            row[3],
            _restore(row[4]),
            skill_type=row[5],
            reuse_level=row[6],
            collections=tuple(row[7]),
            broader=tuple(row[8]),
            skill_groups=tuple(row[9]),
        )
        for row in document["skills"]
    }
    occupations = {
        row[0]: Occupation(
            row[0], row[1], tuple(row[2]), row[3], _restore(row[4]), isco_code=row[5], code=row[6]
        )
        for row in document["occupations"]
    }
    isco_groups = {
        row[0]: IscoGroup(row[0], row[1], tuple(row[2]), row[3], _restore(row[4]), code=row[5])
        for row in document["isco_groups"]
    }
    skill_groups = {
        row[0]: SkillGroup(row[0], row[1], tuple(row[2]), row[3], _restore(row[4]), code=row[5])
        for row in document["skill_groups"]
    }
    skill_uris = [row[0] for row in document["skills"]]
    occupation_uris = [row[0] for row in document["occupations"]]
    extra = document["extra_skill_uris"]

    def uri(index: int, table: list[str]) -> str:
        return table[index] if index >= 0 else extra[-1 - index]

    pairs: dict[str, dict[str, Relation]] = {}
    for o, s, essential in relations.tolist():
        pairs.setdefault(uri(o, occupation_uris), {})[uri(s, skill_uris)] = (
            "essential" if essential else "optional"
        )
    return Taxonomy(
        version=document["version"],
        content_hash=document["content_hash"],
        language=document["language"],
        languages=tuple(document["languages"]),
        skills=skills,
        occupations=occupations,
        isco_groups=isco_groups,
        skill_groups=skill_groups,
        occupation_skills=pairs,
        source=document["source"],
    )
