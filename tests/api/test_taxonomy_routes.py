"""Search (/search/skills, /search/occupations) and concept details (/skills/{uri},
/occupations/{uri})."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import COOK_ID, PYTHON_ID, assert_error
from fastapi.testclient import TestClient
from fixtures_api import COOK, PYTHON, SOFTWARE_DEVELOPER

from esco_skill_extractor.api.routes.taxonomy import concept_uri


def test_search_skills(client: TestClient) -> None:
    body = client.get("/search/skills", params={"query": "python", "limit": 3}).json()
    assert body["query"] == "python" and body["total"] == len(body["results"]) <= 3
    first = body["results"][0]
    assert first["uri"] == PYTHON and first["similarity"] == 1.0
    assert first["via"] in ("label", "label+semantic") and first["categories"] == ["digital"]
    german = client.get("/search/skills", params={"query": "python", "language": "de"}).json()
    assert german["results"][0]["name"] != "Python (computer programming)"


def test_search_occupations(client: TestClient) -> None:
    body = client.get("/search/occupations", params={"query": "cook"}).json()
    assert body["results"][0]["uri"] == COOK and body["results"][0]["iscoGroup"] == "5120"
    assert len(body["results"][0]["description"]) <= 203
    assert client.get("/search/occupations", params={"query": " "}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, ["query parameter 'query'", "required"]),
        ({"query": "x", "limit": 0}, ["limit"]),
        ({"query": "x", "limit": 101}, ["limit"]),
        ({"query": "x", "limit": "ten"}, ["limit"]),
        ({"query": "x", "language": "xx"}, ["language"]),
    ],
)
def test_bad_search_parameters(client: TestClient, params: dict[str, Any], words: list[str]) -> None:
    assert_error(client.get("/search/skills", params=params), 422, *words)


@pytest.mark.parametrize(
    "reference",
    [PYTHON, PYTHON_ID, f"skill/{PYTHON_ID}", PYTHON.replace("//", "/", 1), PYTHON + "/"],
)
def test_skill_details_by_uri_or_id(client: TestClient, reference: str) -> None:
    body = client.get(f"/skills/{reference}").json()
    assert body["uri"] == PYTHON and body["name"] == "Python (computer programming)"
    assert body["optionalFor"] == [{"name": "software developer", "uri": SOFTWARE_DEVELOPER}]
    assert body["usedInOccupations"]["count"] == 1
    assert body["skillGroups"]
    assert client.get(f"/skill/{reference}").json() == body  # the fork's singular path


def test_occupation_details(client: TestClient) -> None:
    body = client.get(f"/occupations/{COOK}").json()
    assert body["iscoGroup"] == "5120" and body["iscoGroupName"] == "Cooks"
    assert len(body["essentialSkills"]) == 4 and len(body["optionalSkills"]) == 2
    assert body["skillCategories"] == {"general": 6}
    german = client.get(f"/occupations/{COOK_ID}", params={"language": "de"}).json()
    assert german["name"] != "cook" and german["language"] == "de"


def test_unknown_concepts_answer_404(client: TestClient) -> None:
    assert_error(client.get("/skills/00000000-0000-0000-0000-000000000000"), 404, "no skill")
    assert_error(client.get(f"/occupations/{PYTHON}"), 404, "no occupation")
    assert_error(client.get("/skills/http://example.com/other"), 404)


def test_concept_uri() -> None:
    full = "http://data.europa.eu/esco/skill/abc-1"
    for value in (full, "abc-1", "skill/abc-1", "http:/data.europa.eu/esco/skill/abc-1", f" {full}/ "):
        assert concept_uri(value, "skill") == full
    assert concept_uri(full, "occupation") == full  # a skill URI is not rewritten
