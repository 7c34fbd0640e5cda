from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from esco_skill_extractor import __version__
from esco_skill_extractor.cli import cli

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_info_json(esco_mini: Path) -> None:
    result = run("--esco-dir", str(esco_mini), "info", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["version"] == __version__
    taxonomy = data["taxonomy"]
    assert taxonomy["version"] == "1.2.0-mini"
    assert (taxonomy["skills"], taxonomy["occupations"]) == (41, 5)
    assert taxonomy["occupation_skill_relations"] == 35
    assert taxonomy["languages"] == ["en", "de"]


def test_info_names_the_languages_read_through_a_gloss(esco_mini: Path) -> None:
    result = run("--esco-dir", str(esco_mini), "--model", "all-MiniLM-L6-v2", "info", "--json")
    languages = json.loads(result.output)["languages"]
    assert languages["multilingual_model"] == "universal-sentence-encoder-multilingual"
    assert languages["glossed"] == ["de"]
    text = run("--esco-dir", str(esco_mini), "--model", "all-MiniLM-L6-v2", "info").output
    assert "all-MiniLM-L6-v2 reads an English gloss of: de" in text


def test_info_text(esco_mini: Path) -> None:
    result = run("--esco-dir", str(esco_mini), "info")
    assert result.exit_code == 0
    assert "skills: 41" in result.output


def test_show_by_uri_and_label(esco_mini: Path) -> None:
    by_uri = run("--esco-dir", str(esco_mini), "taxonomy", "show", PYTHON, "--json")
    by_label = run(
        "--esco-dir", str(esco_mini), "taxonomy", "show", "python (computer programming)", "--json"
    )
    assert by_uri.exit_code == by_label.exit_code == 0
    assert json.loads(by_uri.output) == json.loads(by_label.output)
    assert json.loads(by_uri.output)["collections"] == ["digital"]


def test_show_german(esco_mini: Path) -> None:
    result = run("--esco-dir", str(esco_mini), "taxonomy", "show", "cook", "--lang", "de")
    assert result.exit_code == 0
    assert "Koch" in result.output


def test_search(esco_mini: Path) -> None:
    result = run("--esco-dir", str(esco_mini), "taxonomy", "search", "java", "--json")
    rows = json.loads(result.output)
    assert rows[0]["label"] == "Java (computer programming)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["taxonomy", "show", "http://data.europa.eu/esco/skill/nope"], "no concept with URI"),
        (["taxonomy", "show", "no such label at all"], "no skill or occupation is labelled"),
    ],
)
def test_bad_input_is_one_line_exit_2(esco_mini: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--esco-dir", str(esco_mini), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_folder_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--esco-dir", str(tmp_path / "nope"), "info"])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_malformed_csv_exit_2(tmp_path: Path, esco_mini: Path) -> None:
    import shutil

    shutil.copytree(esco_mini, tmp_path / "esco")
    (tmp_path / "esco" / "skills_en.csv").write_text("conceptUri,preferredLabel\nx,y,z\n", "utf-8")
    result = CliRunner().invoke(cli, ["--esco-dir", str(tmp_path / "esco"), "info"])
    assert result.exit_code == 2
    assert "skills_en.csv: row 2" in result.output


def test_semantic_search_uses_the_model(esco_mini: Path, tmp_path: Path) -> None:
    result = run(
        "--esco-dir",
        str(esco_mini),
        "--cache-dir",
        str(tmp_path),
        "--model",
        "fake",
        "taxonomy",
        "search",
        "python",
        "--semantic",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["label"] == "Python (computer programming)"
    assert {row["via"] for row in rows} >= {"semantic"}
