"""The contract of the two existing clients, field by field and type by type.

1. The PyPI package's users: ``POST /extract-skills`` and ``/extract-occupations`` with a
   JSON array of strings, answered with an array of arrays of URIs.
2. The Next.js front end of the BGE-M3 fork: ``/``, ``/health``, ``/categories``,
   ``/extract-rich``, ``/extract-basic``, ``/extract-pdf-skills``, ``/search/*``; camelCase
   inside results; ``name`` and ``uri`` on every item of ``skills`` and ``occupations``
   (always arrays of objects in rich answers); errors with a string ``detail``.

Each test runs with the fake embedder and, marked slow, with the real bundled model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fixtures_api import JOB_AD, PYTHON, fake_extractor, make_pdf, mini_taxonomy

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

ESCO_SKILL = re.compile(r"^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$")
ESCO_OCCUPATION = re.compile(r"^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}$")
COLLECTIONS = {"digital", "green", "transversal", "language", "research", "digComp"}
FRONT_END = "http://localhost:3000"  # the Next.js front end, allowed by default
FRONT_END_HEADERS = {"Origin": FRONT_END, "skip_zrok_interstitial": "1", "User-Agent": "esco-frontend-client"}


@pytest.fixture(scope="module", params=["fake", pytest.param("bundled", marks=pytest.mark.slow)])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    cache = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "fake":
        extractor = fake_extractor(cache)
    else:
        embedder = request.getfixturevalue("bundled_embedder")
        extractor = SkillExtractor(
            embedder=embedder, taxonomy=mini_taxonomy(), cache_dir=cache, show_progress=False
        )
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        test_client.extractor = extractor  # type: ignore[attr-defined]
        yield test_client


def keys(value: dict[str, Any], *required: str) -> None:
    missing = set(required) - set(value)
    assert not missing, f"missing {sorted(missing)} in {sorted(value)}"


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- PyPI package ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "pattern"), [("/extract-skills", ESCO_SKILL), ("/extract-occupations", ESCO_OCCUPATION)]
)
def test_pypi_array_in_array_of_arrays_of_uris_out(
    client: TestClient, path: str, pattern: re.Pattern[str]
) -> None:
    texts = [JOB_AD, "Cook wanted for our kitchen.", ""]
    response = client.post(path, json=texts)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == len(texts)
    for row in body:
        assert is_str_list(row)
        assert all(pattern.match(uri) for uri in row)
        assert len(row) == len(set(row))
    assert body[0] and body[2] == []


# -- front end: service endpoints -----------------------------------------------------------
def test_root(client: TestClient) -> None:
    response = client.get("/", headers=FRONT_END_HEADERS)
    assert response.status_code == 200
    body = response.json()
    keys(body, "message", "version", "model", "device", "features", "endpoints", "status")
    assert isinstance(body["message"], str) and isinstance(body["version"], str)
    assert isinstance(body["model"], str) and isinstance(body["status"], str)
    assert is_str_list(body["features"]) and isinstance(body["endpoints"], dict)
    assert response.headers["access-control-allow-origin"] == FRONT_END


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    keys(body, "status", "model", "device", "data_version", "skills_count", "occupations_count", "timestamp")
    assert body["status"] == "healthy"
    assert isinstance(body["model"], str) and isinstance(body["device"], str)
    assert isinstance(body["data_version"], str) and isinstance(body["timestamp"], str)
    assert isinstance(body["skills_count"], int) and isinstance(body["occupations_count"], int)


def test_categories(client: TestClient) -> None:
    body = client.get("/categories").json()
    assert set(body["categories"]) == COLLECTIONS
    assert all(isinstance(n, int) for n in body["categories"].values())


# -- front end: extraction ------------------------------------------------------------------
def check_rich_skill(skill: dict[str, Any]) -> None:
    keys(
        skill,
        "name",
        "uri",
        "type",
        "reuseLevel",
        "description",
        "alternatives",
        "categories",
        "usedInOccupations",
        "similarity",
    )
    for field in ("name", "uri", "type", "reuseLevel", "description"):
        assert isinstance(skill[field], str), field
    assert ESCO_SKILL.match(skill["uri"])
    assert is_str_list(skill["alternatives"]) and is_str_list(skill["categories"])
    assert set(skill["categories"]) <= COLLECTIONS
    used = skill["usedInOccupations"]
    keys(used, "count", "examples", "breakdown")
    assert isinstance(used["count"], int)
    assert is_str_list(used["examples"]) and len(used["examples"]) <= 3
    assert isinstance(used["breakdown"]["essential"], int)
    assert isinstance(used["breakdown"]["optional"], int)
    assert used["breakdown"]["essential"] + used["breakdown"]["optional"] == used["count"]
    assert is_number(skill["similarity"]) and 0 <= skill["similarity"] <= 1
    for span in skill["evidence"]:  # our extra field
        keys(span, "start", "end", "text")


def check_rich_occupation(occupation: dict[str, Any]) -> None:
    keys(
        occupation,
        "name",
        "uri",
        "iscoGroup",
        "description",
        "alternatives",
        "requiredSkills",
        "skillCategories",
        "similarity",
    )
    for field in ("name", "uri", "iscoGroup", "description"):
        assert isinstance(occupation[field], str), field
    assert ESCO_OCCUPATION.match(occupation["uri"])
    assert re.match(r"^\d{4}$", occupation["iscoGroup"])
    assert is_str_list(occupation["alternatives"])
    required = occupation["requiredSkills"]
    keys(required, "essential", "optional", "totalEssential", "totalOptional")
    assert is_str_list(required["essential"]) and len(required["essential"]) <= 10
    assert is_str_list(required["optional"]) and len(required["optional"]) <= 10
    assert isinstance(required["totalEssential"], int)
    assert isinstance(required["totalOptional"], int)
    categories = occupation["skillCategories"]
    assert isinstance(categories, dict)
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in categories.items())
    assert is_number(occupation["similarity"]) and 0 <= occupation["similarity"] <= 1


def check_metadata(metadata: dict[str, Any], text: str) -> None:
    keys(
        metadata, "processedText", "totalSkillsFound", "totalOccupationsFound", "processingTime", "thresholds"
    )
    assert metadata["processedText"] == text
    assert isinstance(metadata["totalSkillsFound"], int)
    assert isinstance(metadata["totalOccupationsFound"], int)
    assert re.match(r"^\d+\.\d\ds$", metadata["processingTime"])
    assert is_number(metadata["thresholds"]["skills"])
    assert is_number(metadata["thresholds"]["occupations"])


@pytest.mark.parametrize("text", [JOB_AD, "", "   "])
def test_extract_rich(client: TestClient, text: str) -> None:
    response = client.post("/extract-rich", json={"text": text, "max_results": 25}, headers=FRONT_END_HEADERS)
    assert response.status_code == 200
    body = response.json()
    keys(body, "skills", "occupations", "metadata")
    assert isinstance(body["skills"], list) and isinstance(body["occupations"], list)
    for skill in body["skills"]:
        check_rich_skill(skill)
    for occupation in body["occupations"]:
        check_rich_occupation(occupation)
    check_metadata(body["metadata"], text)
    assert body["metadata"]["totalSkillsFound"] == len(body["skills"])
    assert body["metadata"]["totalOccupationsFound"] == len(body["occupations"])
    if text.strip():
        assert body["skills"] and body["occupations"]
    else:
        assert body["skills"] == [] and body["occupations"] == []


def test_extract_rich_defaults(client: TestClient) -> None:
    """Only ``text`` is required; thresholds default to the server's, max_results to 25."""
    body = client.post("/extract-rich", json={"text": JOB_AD}).json()
    extractor = client.extractor  # type: ignore[attr-defined]
    assert body["metadata"]["thresholds"] == {
        "skills": extractor.skills_threshold,
        "occupations": extractor.occupation_threshold,
    }
    assert len(body["skills"]) <= 25


def test_extract_basic(client: TestClient) -> None:
    body = client.post("/extract-basic", json={"text": JOB_AD}).json()
    assert set(body) == {"skills", "occupations"}
    assert is_str_list(body["skills"]) and is_str_list(body["occupations"])
    assert body["skills"]


def upload(client: TestClient, **form: str) -> httpx.Response:
    pdf = make_pdf(
        [["We are hiring a software developer.", "Python and SQL"], ["Teamwork principles, communication"]]
    )
    return client.post(
        "/extract-pdf-skills",
        files={"pdf": ("cv.pdf", pdf, "application/pdf")},
        data=form,
        headers=FRONT_END_HEADERS,
    )


def test_pdf_upload_as_the_front_end_sends_it(client: TestClient) -> None:
    response = upload(client, rich_data="true", max_results="100")
    assert response.status_code == 200
    body = response.json()
    for field in ("skills", "occupations"):
        assert isinstance(body[field], list)
        for item in body[field]:
            assert isinstance(item, dict)
            assert isinstance(item["name"], str) and isinstance(item["uri"], str)
    for skill in body["skills"]:
        check_rich_skill(skill)
    for occupation in body["occupations"]:
        check_rich_occupation(occupation)
    metadata = body["metadata"]
    keys(
        metadata,
        "pages",
        "text_length",
        "filename",
        "totalSkillsFound",
        "totalOccupationsFound",
        "processingTime",
    )
    assert metadata["pages"] == 2 and isinstance(metadata["text_length"], int)
    assert PYTHON in [s["uri"] for s in body["skills"]]


def test_pdf_upload_basic(client: TestClient) -> None:
    body = upload(client).json()
    assert is_str_list(body["skills"]) and is_str_list(body["occupations"])
    keys(body["metadata"], "pages", "text_length")
    keys(body["source_info"], "filename", "pages", "text_length")
    empty = client.post("/extract-pdf-skills", files={"pdf": ("notes.txt", b"zzz qqq", "text/plain")}).json()
    assert empty["skills"] == [] and empty["source_info"]["text_length"] == 7


@pytest.mark.parametrize(
    ("path", "pattern"), [("/search/skills", ESCO_SKILL), ("/search/occupations", ESCO_OCCUPATION)]
)
def test_search(client: TestClient, path: str, pattern: re.Pattern[str]) -> None:
    body = client.get(path, params={"query": "software", "limit": 5}).json()
    keys(body, "results", "total", "query")
    assert body["total"] == len(body["results"]) <= 5
    for item in body["results"]:
        keys(item, "name", "uri", "similarity")
        assert isinstance(item["name"], str) and pattern.match(item["uri"])
        assert is_number(item["similarity"])


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/extract-rich", {"json": {}}, 422),
        ("post", "/extract-rich", {"json": {"text": "x", "skills_threshold": 3}}, 422),
        (
            "post",
            "/extract-rich",
            {"content": b"{oops", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("post", "/extract-rich", {"json": {"text": "x" * 100_001}}, 413),
        ("post", "/extract-skills", {"json": "not a list"}, 422),
        ("post", "/extract-pdf-skills", {"files": {"pdf": ("a.png", b"\x89PNG\x00\x01", "image/png")}}, 400),
        ("get", "/skills/not-a-skill", {}, 404),
        ("get", "/search/skills", {}, 422),
        ("get", "/extract-rich", {}, 405),
        ("get", "/nowhere", {}, 404),
    ],
)
def test_errors_have_a_string_detail(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.strip()
