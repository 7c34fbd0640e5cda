"""Regenerate tests/data/esco_mini from the vendored ESCO data (real columns, a few concepts).

Run from the repository root: python tests/data/make_esco_mini.py
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

SOURCE = Path("src/esco_skill_extractor/data/esco")
TARGET = Path("tests/data/esco_mini")

OCCUPATION_LABELS = [
    "software developer",
    "data scientist",
    "cook",
    "electrician",
    "nurse responsible for general care",
]
EXTRA_SKILLS = [
    "Python (computer programming)",
    "Java (computer programming)",
    "SQL",
    "teamwork principles",
    "communication",
    "project management",
    "machine learning",
    "statistics",
    "English",
    "manage musical staff",
    "Android (mobile operating systems)",
]
SKILLS_PER_OCCUPATION = 4


def read(name: str) -> tuple[list[str], list[list[str]]]:
    raw = gzip.decompress((SOURCE / f"{name}.gz").read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    return rows[0], rows[1:]


def write(name: str, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    (TARGET / name).write_text(buffer.getvalue(), "utf-8", newline="")


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    occ_header, occ_rows = read("occupations_en.csv")
    label = occ_header.index("preferredLabel")
    chosen = [r for r in occ_rows if r[label].strip() in OCCUPATION_LABELS]
    occupation_uris = {r[1] for r in chosen}
    rel_header, rel_rows = read("occupationSkillRelations_en.csv")
    skill_header, skill_rows = read("skills_en.csv")
    skill_by_label = {r[skill_header.index("preferredLabel")]: r for r in skill_rows}
    skill_uris: list[str] = [skill_by_label[name][1] for name in EXTRA_SKILLS]
    relations = []
    for uri in sorted(occupation_uris):
        mine = [r for r in rel_rows if r[0] == uri]
        essential = [r for r in mine if r[2] == "essential"][:SKILLS_PER_OCCUPATION]
        optional = [r for r in mine if r[2] == "optional"][:2]
        relations += essential + optional
        skill_uris += [r[4] for r in essential + optional]
    extra = [r for r in rel_rows if r[0] in occupation_uris and r[4] in set(skill_uris)]
    relations = list({tuple(r): r for r in relations + extra}.values())
    skill_uris = list(dict.fromkeys(skill_uris))
    wanted = set(skill_uris)
    write("skills_en.csv", skill_header, [r for r in skill_rows if r[1] in wanted])
    write("occupations_en.csv", occ_header, chosen)
    write("occupationSkillRelations_en.csv", rel_header, sorted(relations))
    isco_codes = {r[occ_header.index("iscoGroup")] for r in chosen}
    header, rows = read("ISCOGroups_en.csv")
    write("ISCOGroups_en.csv", header, [r for r in rows if r[header.index("code")] in isco_codes])
    header, rows = read("broaderRelationsSkillPillar_en.csv")
    broader = [r for r in rows if r[1] in wanted]
    write("broaderRelationsSkillPillar_en.csv", header, broader)
    groups = {r[3] for r in broader}
    header, rows = read("skillGroups_en.csv")
    write("skillGroups_en.csv", header, [r for r in rows if r[1] in groups])
    header, rows = read("digitalSkillsCollection_en.csv")
    write("digitalSkillsCollection_en.csv", header, [r for r in rows if r[1] in wanted])
    header, rows = read("occupations_de.csv")
    write("occupations_de.csv", header, [r for r in rows if r[1] in occupation_uris])
    header, rows = read("skills_de.partial.csv")
    write("skills_de.partial.csv", header, [r for r in rows if r[1] in wanted])
    (TARGET / "metadata.json").write_text('{"version": "1.2.0-mini"}\n', "utf-8")


if __name__ == "__main__":
    main()
