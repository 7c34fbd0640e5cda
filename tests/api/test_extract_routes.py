"""The extraction endpoints: /extract-rich, /extract-basic, /extract and the PyPI package's
/extract-skills and /extract-occupations."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from fixtures_api import COOK, JOB_AD, PYTHON, SOFTWARE_DEVELOPER, SQL

from esco_skill_extractor import SkillExtractor


def test_extract_rich(client: TestClient) -> None:
    # The fake embedder's scores are not calibrated: a lone "SQL" scores about 0.58.
    response = client.post("/extract-rich", json={"text": JOB_AD, "max_results": 25, "skills_threshold": 0.5})
    assert response.status_code == 200
    body = response.json()
    uris = [s["uri"] for s in body["skills"]]
    assert PYTHON in uris and SQL in uris
    python = body["skills"][uris.index(PYTHON)]
    assert python["name"] == "Python (computer programming)"
    assert python["categories"] == ["digital"] and python["type"] == "knowledge"
    assert python["usedInOccupations"]["examples"] == ["software developer"]
    assert python["usedInOccupations"]["breakdown"] == {"essential": 0, "optional": 1}
    for item in body["skills"] + body["occupations"]:
        for span in item["evidence"]:
            assert JOB_AD[span["start"] : span["end"]] == span["text"]
    developer = next(o for o in body["occupations"] if o["uri"] == SOFTWARE_DEVELOPER)
    assert developer["iscoGroup"] == "2512"
    # skills found in the text come first among the required ones
    assert set(developer["requiredSkills"]["optional"][:3]) == {
        "Java (computer programming)",
        "Python (computer programming)",
        "SQL",
    }
    assert developer["requiredSkills"]["totalEssential"] == 5
    assert sum(developer["skillCategories"].values()) == 10
    meta = body["metadata"]
    assert meta["processedText"] == JOB_AD
    assert meta["totalSkillsFound"] == len(body["skills"])
    assert meta["thresholds"] == {"skills": 0.5, "occupations": 0.55}
    assert re.match(r"^\d+\.\d\ds$", meta["processingTime"])
    similarities = [s["similarity"] for s in body["skills"]]
    assert similarities == sorted(similarities, reverse=True)


def test_extract_rich_options(client: TestClient) -> None:
    strict = client.post(
        "/extract-rich", json={"text": JOB_AD, "skills_threshold": 0.9, "occupations_threshold": 0.99}
    ).json()
    assert all(s["similarity"] >= 0.9 for s in strict["skills"])
    assert strict["metadata"]["thresholds"] == {"skills": 0.9, "occupations": 0.99}
    one = client.post("/extract-rich", json={"text": JOB_AD, "max_results": 1}).json()
    assert len(one["skills"]) == 1 and len(one["occupations"]) <= 1
    german = client.post("/extract-rich", json={"text": JOB_AD, "language": "de"}).json()
    python = next(s for s in german["skills"] if s["uri"] == PYTHON)
    assert python["name"] != "Python (computer programming)"
    assert german["metadata"]["language"] == "de"
    # fields the front end does not know are ignored, not rejected
    assert client.post("/extract-rich", json={"text": "Cook", "extra": 1}).status_code == 200


def test_extract_basic(client: TestClient) -> None:
    body = client.post("/extract-basic", json={"text": JOB_AD}).json()
    assert "Python (computer programming)" in body["skills"]
    assert body["occupations"][0] == "software developer"
    assert set(body) == {"skills", "occupations"}


def test_extract_batch(client: TestClient) -> None:
    texts = [JOB_AD, "We are looking for a cook.", ""]
    body = client.post("/extract", json={"texts": texts, "max_results": 5}).json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    first = body["results"][0]
    assert PYTHON in [s["uri"] for s in first["skills"]]
    for result, text in zip(body["results"], texts, strict=True):
        assert len(result["skills"]) <= 5
        for match in result["skills"] + result["occupations"]:
            for span in match["evidence"]:
                assert text[span["start"] : span["end"]] == span["text"]
    assert body["results"][1]["occupations"][0]["uri"] == COOK
    assert body["results"][2] == {"index": 2, "language": "en", "skills": [], "occupations": []}
    assert body["thresholds"] == {"skills": 0.6, "occupations": 0.55}
    skills_only = client.post(
        "/extract", json={"texts": ["Python and SQL"], "infer_occupations": False}
    ).json()
    assert all(o["source"] == "text" for o in skills_only["results"][0]["occupations"])
    assert client.post("/extract", json={"texts": []}).json()["results"] == []


def test_pypi_endpoints(client: TestClient, extractor: SkillExtractor) -> None:
    texts = [JOB_AD, "We are looking for a cook."]
    skills = client.post("/extract-skills", json=texts).json()
    assert skills == extractor.get_skills(texts)
    occupations = client.post("/extract-occupations", json=texts).json()
    assert occupations == extractor.get_occupations(texts)
    assert occupations[1][0] == COOK
    assert client.post("/extract-skills", json=[]).json() == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_empty_text_gives_empty_results(client: TestClient, text: str) -> None:
    rich = client.post("/extract-rich", json={"text": text})
    assert rich.status_code == 200
    assert rich.json()["skills"] == [] and rich.json()["occupations"] == []
    assert client.post("/extract-basic", json={"text": text}).json() == {"skills": [], "occupations": []}
    assert client.post("/extract-skills", json=[text]).json() == [[]]
    assert client.post("/extract-occupations", json=[text]).json() == [[]]
