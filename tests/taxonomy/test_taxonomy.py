from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from esco_skill_extractor.errors import ConceptNotFound, TaxonomyFormatError, TaxonomyNotFound
from esco_skill_extractor.taxonomy import COLLECTIONS, load_taxonomy
from esco_skill_extractor.taxonomy.index import LabelIndex, normalize

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"


def test_mini_taxonomy_loads_real_columns(esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    assert taxonomy.version == "1.2.0-mini"
    assert len(taxonomy.skills) == 41
    assert len(taxonomy.occupations) == 5
    python = taxonomy.skill(PYTHON)
    assert python.preferred_label == "Python (computer programming)"
    assert "Python" in python.alt_labels
    assert python.skill_type == "knowledge"
    assert python.collections == ("digital",)
    assert python.skill_groups and all(g in taxonomy.skill_groups for g in python.skill_groups)
    assert taxonomy.languages == ("en", "de")


def test_relations_navigable_both_ways(esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    for occupation_uri in taxonomy.occupations:
        for skill_uri, relation in taxonomy.skills_of(occupation_uri).items():
            assert taxonomy.occupations_of(skill_uri)[occupation_uri] == relation
        essential = set(taxonomy.essential_skills(occupation_uri))
        optional = set(taxonomy.optional_skills(occupation_uri))
        assert essential and not essential & optional


def test_isco_group_and_translation_fallback(esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    cook = next(o for o in taxonomy.occupations.values() if o.preferred_label == "cook")
    group = taxonomy.isco_group(cook)
    assert group is not None and group.code == cook.isco_code == "5120"
    assert cook.label("de") != cook.label("en")
    assert cook.label("xx") == "cook"  # unknown language falls back to English
    python = taxonomy.skill(PYTHON)
    assert python.label("de") == "Python (Computerprogrammierung)"


def test_label_whitespace_is_normalised(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    path = folder / "occupations_en.csv"
    path.write_text(path.read_text("utf-8").replace(",cook,", ",  cook  ,"), "utf-8")
    taxonomy = load_taxonomy(folder, snapshot=False)
    assert any(o.preferred_label == "cook" for o in taxonomy.occupations.values())


def test_doubly_listed_pair_is_kept_essential(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    path = folder / "occupationSkillRelations_en.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    essential = next(line for line in lines if ",essential," in line)
    path.write_text("".join(lines + [essential.replace(",essential,", ",optional,")]), "utf-8")
    occupation_uri, _, _, _, skill_uri = essential.split(",")[0:5]
    taxonomy = load_taxonomy(folder, snapshot=False)
    assert taxonomy.skills_of(occupation_uri)[skill_uri] == "essential"


def test_gzipped_files_read_the_same(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    folder.mkdir()
    for path in esco_mini.iterdir():
        if path.suffix == ".csv":
            (folder / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
        else:
            shutil.copy(path, folder)
    plain = load_taxonomy(esco_mini, snapshot=False)
    zipped = load_taxonomy(folder, snapshot=False)
    assert plain.skills == zipped.skills
    assert plain.content_hash == zipped.content_hash


def test_content_hash_changes_with_content(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    before = load_taxonomy(folder, snapshot=False).content_hash
    path = folder / "skills_en.csv"
    path.write_text(path.read_text("utf-8").replace("teamwork", "team work"), "utf-8")
    assert load_taxonomy(folder, snapshot=False).content_hash != before


def test_snapshot_round_trip_and_invalidation(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    cache = tmp_path / "cache"
    first = load_taxonomy(folder, cache_dir=cache)
    snapshots = list((cache / "taxonomy").iterdir())
    assert len(snapshots) == 1 and (snapshots[0] / "relations.npy").is_file()
    second = load_taxonomy(folder, cache_dir=cache)
    assert second.skills == first.skills
    assert second.occupation_skills == first.occupation_skills
    assert second.content_hash == first.content_hash
    path = folder / "skills_en.csv"
    path.write_text(path.read_text("utf-8").replace("teamwork", "team work"), "utf-8")
    third = load_taxonomy(folder, cache_dir=cache)
    assert third.content_hash != first.content_hash
    assert len(list((cache / "taxonomy").iterdir())) == 2


def test_missing_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyNotFound, match="not found"):
        load_taxonomy(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaxonomyNotFound, match="skills_en.csv"):
        load_taxonomy(tmp_path / "empty")


def test_malformed_csv_names_file_and_row(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    path = folder / "occupations_en.csv"
    path.write_text(path.read_text("utf-8") + "Occupation,http://x,only three\r\n", "utf-8")
    with pytest.raises(TaxonomyFormatError, match=r"occupations_en\.csv: row 7"):
        load_taxonomy(folder, snapshot=False)


def test_missing_column_is_named(tmp_path: Path, esco_mini: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(esco_mini, folder)
    path = folder / "skills_en.csv"
    path.write_text(path.read_text("utf-8").replace("preferredLabel", "label", 1), "utf-8")
    with pytest.raises(TaxonomyFormatError, match="preferredLabel"):
        load_taxonomy(folder, snapshot=False)


def test_flat_pypi_layout(tmp_path: Path) -> None:
    (tmp_path / "skills.csv").write_text(
        'id,description\nhttp://s/1,"manage staff  lead people Assign tasks."\n', "utf-8"
    )
    (tmp_path / "occupations.csv").write_text('id,description\nhttp://o/1,"cook chef"\n', "utf-8")
    taxonomy = load_taxonomy(tmp_path, snapshot=False)
    assert taxonomy.skill("http://s/1").preferred_label == "manage staff lead people Assign tasks."
    assert list(taxonomy.occupations) == ["http://o/1"]


def test_unknown_uri(esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    with pytest.raises(ConceptNotFound):
        taxonomy.skill("http://data.europa.eu/esco/skill/nope")


def test_normalize() -> None:
    assert normalize("  Java (computer programming) ") == "java computer programming"
    assert normalize("Köln, Été") == "koln ete"
    assert normalize("C++ & C#") == "c++ c#"


def test_label_search_ranks_exact_first(esco_mini: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    index = LabelIndex(taxonomy, "skill")
    hits = index.search("PYTHON")
    assert hits[0].uri == PYTHON
    assert index.search("python computer programming")[0].score == 1.0
    assert index.search("") == []
    occupations = LabelIndex(taxonomy, "occupation")
    assert occupations.search("Koch")[0].uri in taxonomy.occupations  # German label
    assert taxonomy.occupation(occupations.search("Koch")[0].uri).preferred_label == "cook"


@pytest.mark.slow
def test_full_vendored_taxonomy_counts(full_taxonomy) -> None:  # type: ignore[no-untyped-def]
    taxonomy = full_taxonomy
    assert taxonomy.version == "1.2.0"
    assert len(taxonomy.skills) == 13_939
    assert len(taxonomy.occupations) == 3_039
    assert len(taxonomy.isco_groups) == 619
    assert taxonomy.relation_count == 128_987  # 129,004 rows, 17 pairs listed twice
    assert set(taxonomy.languages) == {"en", "de", "fr", "es"}
    counts = taxonomy.collection_counts()
    assert set(counts) == set(COLLECTIONS)
    assert counts["digital"] == 1_284 and counts["transversal"] == 95
    german = sum(1 for s in taxonomy.skills.values() if "de" in s.translations)
    assert german >= 2_334
    assert sum(1 for o in taxonomy.occupations.values() if "de" in o.translations) == 3_039
    ai = next(
        o for o in taxonomy.occupations.values() if o.preferred_label == "artificial intelligence engineer"
    )
    assert ai.preferred_label == ai.preferred_label.strip()


@pytest.mark.slow
def test_full_relation_rows(tmp_path: Path) -> None:
    import csv
    import io

    from esco_skill_extractor.taxonomy import DEFAULT_DATA_DIR

    raw = gzip.decompress((DEFAULT_DATA_DIR / "occupationSkillRelations_en.csv.gz").read_bytes())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))[1:]
    assert len(rows) == 129_004
    both = {(r[0], r[4]) for r in rows if r[2] == "essential"} & {
        (r[0], r[4]) for r in rows if r[2] == "optional"
    }
    assert len(both) == 17
