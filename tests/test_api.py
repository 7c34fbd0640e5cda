"""The HTTP API: every endpoint and every error answer, with a fake-embedder extractor
(fast) and, marked slow, the real bundled model."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from fixtures_api import (
    COOK,
    JOB_AD,
    PYTHON,
    SOFTWARE_DEVELOPER,
    SQL,
    encrypt_pdf,
    fake_extractor,
    make_docx,
    make_pdf,
    mini_taxonomy,
)

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.errors import describe_validation_errors, status_for
from esco_skill_extractor.api.routes.taxonomy import concept_uri
from esco_skill_extractor.api.service import ExtractorService
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.errors import (
    CacheCorrupted,
    ConceptNotFound,
    EscoError,
    InputError,
    ModelUnavailable,
    TaxonomyFormatError,
)
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings, get_settings

PYTHON_ID = PYTHON.rsplit("/", 1)[-1]
COOK_ID = COOK.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return fake_extractor(tmp_path_factory.mktemp("api"))


@pytest.fixture
def client(extractor: SkillExtractor) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client


def client_with(extractor: SkillExtractor, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), extractor=extractor))


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in response.text
    return str(body["detail"])


# -- service endpoints --------------------------------------------------------------------------
def test_root_describes_the_service(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["message"] and body["version"]
    assert body["model"] == "fake" and body["device"] == "cpu" and body["status"] == "healthy"
    assert body["endpoints"]["extract_rich"] == "/extract-rich"
    assert all(isinstance(f, str) for f in body["features"])


def test_health_when_ready(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert (body["skills_count"], body["occupations_count"]) == (41, 5)
    assert body["data_version"] == "1.2.0-mini"
    assert body["thresholds"] == {"skills": 0.6, "occupations": 0.55}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body["timestamp"])


def test_categories(client: TestClient) -> None:
    body = client.get("/categories").json()
    assert body["categories"] == {
        "digital": 15,
        "green": 0,
        "transversal": 0,
        "language": 0,
        "research": 0,
        "digComp": 0,
    }
    assert body["total_skills"] == 41 and body["categorized_skills"] == 15


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/",
        "/health",
        "/categories",
        "/extract-rich",
        "/extract-basic",
        "/extract-pdf-skills",
        "/extract",
        "/extract-skills",
        "/extract-occupations",
        "/search/skills",
        "/search/occupations",
        "/skills/{uri}",
        "/occupations/{uri}",
        "/metrics",
    ):
        assert path in schema["paths"], path
    rich = schema["components"]["schemas"]["RichSkill"]["properties"]
    assert {"reuseLevel", "usedInOccupations", "evidence"} <= set(rich)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- loading ------------------------------------------------------------------------------------
def test_health_and_endpoints_while_loading(tmp_path: Path) -> None:
    release = threading.Event()
    taxonomy = mini_taxonomy()

    def slow_loader(service: ExtractorService) -> SkillExtractor:
        service.set_taxonomy(taxonomy)
        service.set_phase("building the embedding cache")
        assert release.wait(10)
        return fake_extractor(tmp_path)

    app = create_app(Settings(model="some-model"), loader=slow_loader)
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "loading"
        assert "building the embedding cache" in health.json()["detail"]
        assert health.headers["retry-after"]
        root = client.get("/")
        assert root.status_code == 200
        assert root.json()["status"] == "loading" and root.json()["model"] == "some-model"
        answer = client.post("/extract-rich", json={"text": JOB_AD})
        assert_error(answer, 503, "starting", "building the embedding cache")
        assert answer.headers["retry-after"]
        assert_error(client.post("/extract-skills", json=["x"]), 503)
        assert_error(client.get("/search/skills", params={"query": "python"}), 503)
        # the taxonomy is there already: details and categories answer
        assert client.get(f"/skills/{PYTHON_ID}").status_code == 200
        assert client.get("/categories").status_code == 200
        release.set()
        assert app.state.service.wait(10)
        assert client.get("/health").status_code == 200
        assert client.post("/extract-skills", json=[JOB_AD]).json()[0]


def test_health_when_loading_failed(caplog: pytest.LogCaptureFixture) -> None:
    def failing(service: ExtractorService) -> SkillExtractor:
        raise ModelUnavailable("could not load model no/such-model")

    app = create_app(Settings(model="no/such-model"), loader=failing)
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        app.state.service.wait(10)
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "failed"
        assert "no/such-model" in health.json()["detail"]
        assert_error(client.post("/extract-basic", json={"text": "x"}), 503, "no/such-model")
        assert client.get("/").json()["status"] == "failed"
        assert_error(client.get("/categories"), 503)
    assert "could not be loaded" in caplog.text


# -- extraction ---------------------------------------------------------------------------------
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
    texts = [JOB_AD, "Cook wanted for our kitchen.", ""]
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
    texts = [JOB_AD, "Cook wanted."]
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


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["text", "required"]),
        ({"text": 123}, ["text", "string"]),
        ({"text": None}, ["text"]),
        ({"text": ["a"]}, ["text"]),
        ({"text": "x", "skills_threshold": 1.5}, ["skills_threshold", "less than or equal"]),
        ({"text": "x", "skills_threshold": -0.1}, ["skills_threshold", "greater than"]),
        ({"text": "x", "occupations_threshold": 2}, ["occupations_threshold"]),
        ({"text": "x", "skills_threshold": "high"}, ["skills_threshold"]),
        ({"text": "x", "max_results": 0}, ["max_results"]),
        ({"text": "x", "max_results": 101}, ["max_results"]),
        ({"text": "x", "language": "not a language"}, ["language"]),
        (["x"], ["request body"]),
    ],
)
def test_wrong_fields_answer_422_naming_the_field(client: TestClient, body: Any, words: list[str]) -> None:
    for path in ("/extract-rich", "/extract-basic"):
        response = client.post(path, json=body)
        assert_error(response, 422, *words)
        errors = response.json()["errors"]
        assert errors and all({"loc", "msg", "type"} <= set(e) for e in errors)


def test_unknown_language_answers_422(client: TestClient) -> None:
    assert_error(client.post("/extract-rich", json={"text": "x", "language": "xx"}), 422, "'xx'", "en, de")


@pytest.mark.parametrize("path", ["/extract-rich", "/extract", "/extract-skills"])
@pytest.mark.parametrize("payload", [b"{not json", b'{"text": "x",}', b"", b"\xff\xfe"])
def test_malformed_json_answers_422(client: TestClient, path: str, payload: bytes) -> None:
    response = client.post(path, content=payload, headers={"content-type": "application/json"})
    detail = assert_error(response, 422)
    assert "JSON" in detail or "body" in detail


def test_wrong_types_in_arrays_name_the_item(client: TestClient) -> None:
    assert_error(client.post("/extract-skills", json=["ok", 5]), 422, "item 1")
    assert_error(client.post("/extract-skills", json={"texts": ["x"]}), 422, "list")
    assert_error(client.post("/extract", json={"texts": ["ok", None]}), 422, "texts[1]")
    assert_error(client.post("/extract", json={"texts": "one string"}), 422, "texts")
    assert_error(client.post("/extract", json={"texts": [], "bogus": 1}), 422, "bogus")


def test_limits_answer_413(extractor: SkillExtractor) -> None:
    client = client_with(extractor, max_text_chars=50, max_batch_size=3)
    long = "Python developer. " * 5
    assert_error(client.post("/extract-rich", json={"text": long}), 413, "90 characters", "50")
    assert_error(client.post("/extract-basic", json={"text": long}), 413)
    assert_error(client.post("/extract", json={"texts": ["a", long]}), 413, "text 1")
    assert_error(client.post("/extract", json={"texts": ["a"] * 4}), 413, "too many texts")
    assert_error(client.post("/extract-skills", json=["a"] * 4), 413, "limit is 3")
    assert_error(client.post("/extract-occupations", json=[long]), 413)
    assert_error(client.get("/search/skills", params={"query": long}), 413)
    assert client.post("/extract-rich", json={"text": "x" * 50}).status_code == 200


def test_body_over_the_request_limit_answers_413(extractor: SkillExtractor) -> None:
    client = client_with(extractor, max_request_bytes=2_000_000, max_upload_bytes=500)
    text = "Python " * 300_000
    assert_error(client.post("/extract-rich", json={"text": text}), 413, "too large", "2,000,000 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"text": "'
        for _ in range(30):
            yield b"Python " * 10_000
        yield b'"}'

    streamed = client.post("/extract-rich", content=chunks(), headers={"content-type": "application/json"})
    assert_error(streamed, 413, "too large")
    assert_error(upload(client, PDF * 5000), 413, "too large")


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.get("/extract-rich"), 405)


def test_unexpected_errors_answer_a_generic_500(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    client = client_with(extractor)
    monkeypatch.setattr(extractor, "extract", broken)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            "/extract-rich", json={"text": "x"}, headers={"Origin": "https://front.example"}
        )
    detail = assert_error(response, 500, "server log")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert "secret internals" in caplog.text and "Traceback" in caplog.text
    assert detail
    # the server keeps answering
    monkeypatch.undo()
    assert client.post("/extract-rich", json={"text": "x"}).status_code == 200


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("bad"), 422),
        (ConceptNotFound("none"), 404),
        (ModelUnavailable("m"), 503),
        (CacheCorrupted("c"), 503),
        (TaxonomyFormatError("t"), 500),
        (EscoError("e"), 500),
    ],
)
def test_library_errors_map_to_status_codes(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch, error: EscoError, status: int
) -> None:
    assert status_for(error) == status

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(extractor, "extract", failing)
    response = client_with(extractor).post("/extract-basic", json={"text": "x"})
    assert response.json() == {"detail": str(error)}
    assert response.status_code == status


def test_describe_validation_errors() -> None:
    text = describe_validation_errors(
        [
            {"type": "missing", "loc": ("body", "text"), "msg": "Field required"},
            {"type": "less_than_equal", "loc": ("query", "limit"), "msg": "too big"},
            {"type": "int_parsing", "loc": ("body", "max_results"), "msg": "not an int"},
            {
                "type": "json_invalid",
                "loc": ("body", 7),
                "msg": "JSON decode error",
                "ctx": {"error": "Expecting value"},
            },
        ]
    )
    assert text == (
        "Invalid request: text: Field required; query parameter 'limit': too big; "
        "max_results: not an int; malformed JSON in the request body "
        "(Expecting value at character 7)"
    )


# -- uploads ------------------------------------------------------------------------------------
PDF = make_pdf(
    [["We are hiring a software developer.", "Python and SQL"], ["Teamwork principles, communication"]]
)


def upload(
    client: TestClient, data: bytes, name: str = "cv.pdf", content_type: str = "application/pdf", **form: Any
) -> httpx.Response:
    return client.post(
        "/extract-pdf-skills",
        files={"pdf": (name, data, content_type)},
        data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()},
    )


def test_pdf_upload_basic(client: TestClient) -> None:
    response = upload(client, PDF)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Python (computer programming)" in body["skills"]
    assert all(isinstance(name, str) for name in body["skills"] + body["occupations"])
    meta = body["metadata"]
    assert (meta["pages"], meta["file_type"], meta["filename"]) == (2, "pdf", "cv.pdf")
    assert meta["text_length"] == len(meta["processedText"]) > 0
    assert meta["thresholds"] == {"skills": 0.6, "occupations": 0.55}
    assert meta["rich_data"] is False
    assert body["source_info"] == {"filename": "cv.pdf", "pages": 2, "text_length": meta["text_length"]}


def test_pdf_upload_rich(client: TestClient) -> None:
    body = upload(
        client, PDF, rich_data=True, max_results=100, skills_threshold=0.5, occupations_threshold=0.5
    ).json()
    python = next(s for s in body["skills"] if s["uri"] == PYTHON)
    assert python["categories"] == ["digital"]
    text = body["metadata"]["processedText"]
    assert (
        python["evidence"][0]["text"] == text[python["evidence"][0]["start"] : python["evidence"][0]["end"]]
    )
    assert body["metadata"]["rich_data"] is True and body["metadata"]["pages"] == 2
    assert body["metadata"]["thresholds"] == {"skills": 0.5, "occupations": 0.5}
    one = upload(client, PDF, rich_data=True, max_results=1).json()
    assert len(one["skills"]) == 1


def test_docx_and_text_uploads(client: TestClient) -> None:
    docx = make_docx(["We are hiring a software developer."], [["Python", "SQL"]])
    # The fake embedder's scores are not calibrated: a lone "SQL" scores about 0.58.
    body = upload(client, docx, "cv.docx", "application/octet-stream", skills_threshold=0.5).json()
    assert body["metadata"]["file_type"] == "docx" and body["metadata"]["pages"] is None
    assert "SQL" in body["skills"]
    text = upload(client, b"Python and SQL\nCook wanted", "cv.txt", "text/plain").json()
    assert text["metadata"]["file_type"] == "text"
    assert "Python (computer programming)" in text["skills"]


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 400, ["empty"]),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 400, ["unsupported", "PDF"]),
        (encrypt_pdf(PDF), 400, ["encrypted"]),
        (PDF[: len(PDF) // 2], 400, ["corrupt"]),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, 400, ["corrupt"]),
        (make_pdf([[]]), 400, ["no extractable text"]),
        (b"PK\x03\x04 not really a zip", 400, ["corrupt"]),
    ],
)
def test_bad_uploads(client: TestClient, data: bytes, status: int, words: list[str]) -> None:
    assert_error(upload(client, data, "cv.pdf"), status, "cv.pdf", *words)


def test_upload_limits(extractor: SkillExtractor) -> None:
    client = client_with(extractor, max_upload_bytes=len(PDF) - 1, max_pdf_pages=5)
    assert_error(upload(client, PDF), 413, "bytes", f"{len(PDF) - 1:,}")
    client = client_with(extractor, max_pdf_pages=1)
    assert_error(upload(client, PDF), 413, "2 pages", "limit is 1")
    client = client_with(extractor, max_text_chars=20)
    assert_error(upload(client, PDF), 413, "characters")


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"skills_threshold": 1.5}, ["skills_threshold"]),
        ({"occupations_threshold": -1}, ["occupations_threshold"]),
        ({"skills_threshold": "nan"}, ["skills_threshold"]),
        ({"max_results": 0}, ["max_results"]),
        ({"rich_data": "maybe"}, ["rich_data"]),
    ],
)
def test_bad_upload_fields_answer_422(client: TestClient, form: dict[str, Any], words: list[str]) -> None:
    assert_error(upload(client, PDF, **form), 422, *words)


def test_upload_without_a_file_answers_422(client: TestClient) -> None:
    assert_error(client.post("/extract-pdf-skills", data={"rich_data": "true"}), 422, "pdf")


# -- search and details -------------------------------------------------------------------------
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


# -- CORS ---------------------------------------------------------------------------------------
FRONT_END = "https://esco-front.vercel.app"


def test_cors_preflight_with_the_front_ends_custom_header(client: TestClient) -> None:
    response = client.options(
        "/extract-rich",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,skip_zrok_interstitial,user-agent",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "skip_zrok_interstitial" in response.headers["access-control-allow-headers"]
    assert "POST" in response.headers["access-control-allow-methods"]
    simple = client.post(
        "/extract-basic", json={"text": "Cook"}, headers={"Origin": FRONT_END, "skip_zrok_interstitial": "1"}
    )
    assert simple.headers["access-control-allow-origin"] == "*"
    error = client.post("/extract-basic", json={}, headers={"Origin": FRONT_END})
    assert error.status_code == 422 and error.headers["access-control-allow-origin"] == "*"


def test_cors_is_configurable(extractor: SkillExtractor) -> None:
    client = client_with(extractor, cors_origins=["https://only.example"], cors_headers=["content-type"])
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "skip_zrok_interstitial",
    }
    denied = client.options("/extract-rich", headers={"Origin": FRONT_END, **preflight})
    assert denied.status_code == 400
    allowed = client.options(
        "/extract-rich",
        headers={
            "Origin": "https://only.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://only.example"


# -- metrics ------------------------------------------------------------------------------------
def test_metrics(client: TestClient) -> None:
    client.post("/extract-rich", json={"text": JOB_AD})
    client.post("/extract-rich", json={"text": "x", "max_results": 0})
    client.get(f"/skills/{PYTHON_ID}")
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'esco_http_requests_total{method="POST",route="/extract-rich",status="200"} 1.0' in text
    assert 'esco_http_errors_total{method="POST",route="/extract-rich",status="422"} 1.0' in text
    assert 'route="/skills/{uri}"' in text and 'route="unmatched"' in text
    assert 'esco_http_request_duration_seconds_bucket{le="0.5",method="POST"' in text
    assert 'esco_model_seconds_count{operation="extract"} 1.0' in text
    assert 'esco_texts_processed_total{operation="extract"} 1.0' in text
    assert 'esco_segments_processed_total{operation="extract"} 4.0' in text
    assert "esco_model_ready 1.0" in text
    assert "process_resident_memory_bytes" in text
    assert 'esco_info{device="cpu",model="fake"' in text


def test_each_app_has_its_own_registry(extractor: SkillExtractor) -> None:
    first, second = client_with(extractor), client_with(extractor)
    first.get("/")
    assert 'route="/"' not in second.get("/metrics").text.split("esco_http_requests_total")[1]


# -- concurrency --------------------------------------------------------------------------------
class _WatchedEmbedder(FakeEmbedder):
    """Records how many threads are inside ``embed`` at once, and which threads."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.inside = 0
        self.most_inside = 0
        self.threads: set[int] = set()
        self._count = threading.Lock()

    def embed(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.threads.add(threading.get_ident())
        try:
            time.sleep(0.05)
            return super().embed(texts, **kwargs)
        finally:
            with self._count:
                self.inside -= 1


def test_concurrent_requests_are_safe_and_off_the_event_loop(tmp_path: Path) -> None:
    embedder = _WatchedEmbedder()
    extractor = fake_extractor(tmp_path, embedder)
    app = create_app(Settings(), extractor=extractor)
    texts = [f"{JOB_AD} Request number {i}: Cook wanted." for i in range(12)]
    expected = [extractor.get_skills([t])[0] for t in texts]
    extractor.clear_segment_cache()
    embedder.threads.clear()

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-skills", json=[t]) for t in texts))

    loop_thread = threading.get_ident()
    responses = asyncio.run(run_all())
    assert [r.status_code for r in responses] == [200] * len(texts)
    assert [r.json()[0] for r in responses] == expected
    assert embedder.most_inside == 1  # the model is never entered twice at once
    assert loop_thread not in embedder.threads  # inference ran off the event loop
    registry = app.state.metrics.registry
    calls = registry.get_sample_value("esco_model_batch_texts_count")
    assert registry.get_sample_value("esco_model_batch_texts_sum") == len(texts)
    assert calls < len(texts)  # concurrent requests were batched


def test_a_failing_text_does_not_fail_its_batch(
    extractor: SkillExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = extractor.extract

    def picky(texts: Sequence[str], **options: Any) -> Any:
        time.sleep(0.02)
        if any("BAD" in t for t in texts):
            raise InputError("a bad text")
        return real(texts, **options)

    monkeypatch.setattr(extractor, "extract", picky)
    app = create_app(Settings(), extractor=extractor)
    texts = ["Python developer", "BAD input", "Cook wanted", "SQL"] * 2

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-basic", json={"text": t}) for t in texts))

    responses = asyncio.run(run_all())
    for text, response in zip(texts, responses, strict=True):
        assert response.status_code == (422 if "BAD" in text else 200), text


# -- settings -----------------------------------------------------------------------------------
def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCO_PORT", "9100")
    monkeypatch.setenv("ESCO_SKILLS_THRESHOLD", "0.7")
    monkeypatch.setenv("ESCO_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("ESCO_CORS_HEADERS", '["content-type", "x-custom"]')
    settings = Settings()
    assert settings.port == 9100 and settings.skills_threshold == 0.7
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.cors_headers == ["content-type", "x-custom"]
    assert Settings(_env_prefix="NOPE_").port == 9000  # type: ignore[call-arg]
    monkeypatch.setenv("ESCO_SKILLS_THRESHOLD", "1.5")
    with pytest.raises(ValueError, match="skills_threshold"):
        Settings()


def test_settings_defaults_match_the_contract() -> None:
    settings = Settings()
    assert (settings.port, settings.max_text_chars) == (9000, 100_000)
    assert settings.cors_origins == ["*"] and settings.cors_headers == ["*"]
    assert settings.cors_methods == ["GET", "POST", "OPTIONS"]


def test_get_settings_is_cached() -> None:
    get_settings.cache_clear()
    assert get_settings() is get_settings()
    get_settings.cache_clear()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert Settings.model_fields[name].description


# -- the serve command and python -m -----------------------------------------------------------
@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Calls to uvicorn.run, which is not started."""
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_command(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "-m",
            "all-MiniLM-L6-v2",
            "-s",
            "0.5",
            "--occupation-threshold",
            "0.4",
            "-d",
            "cpu",
            "--host",
            "0.0.0.0",
            "-p",
            "9001",
            "--threads",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert options == {"host": "0.0.0.0", "port": 9001, "log_level": "info"}
    settings = app.state.settings
    assert (settings.model, settings.device) == ("all-MiniLM-L6-v2", "cpu")
    assert (settings.skills_threshold, settings.occupation_threshold) == (0.5, 0.4)
    assert settings.threads == 2


def test_serve_accepts_the_pypi_spellings(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "--model",
            "m",
            "--skill_threshold",
            "0.45",
            "--occupation_threshold",
            "0.5",
            "--device",
            "cpu",
            "-c",
            "localhost",
            "--port",
            "8000",
        ],
    )
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert (options["host"], options["port"]) == ("localhost", 8000)
    assert app.state.settings.skills_threshold == 0.45
    assert app.state.settings.occupation_threshold == 0.5


def test_serve_rejects_bad_values(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(cli, ["serve", "-s", "1.5"])
    assert result.exit_code == 2 and "1.5" in result.output
    assert not served


def test_serve_with_workers_passes_settings_through_the_environment(
    served: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from esco_skill_extractor.cli import cli

    monkeypatch.setattr(os, "environ", dict(os.environ))
    result = CliRunner().invoke(cli, ["serve", "-w", "2", "-m", "all-MiniLM-L6-v2", "-s", "0.5"])
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert app == "esco_skill_extractor.server:create_app"
    assert options["factory"] is True and options["workers"] == 2
    assert os.environ["ESCO_MODEL"] == "all-MiniLM-L6-v2"
    assert os.environ["ESCO_SKILLS_THRESHOLD"] == "0.5"
    assert json.loads(os.environ["ESCO_CORS_ORIGINS"]) == ["*"]
    assert Settings().skills_threshold == 0.5  # what a worker will read


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["serve"]),
        (["-m", "x", "-s", "0.5", "-p", "9000"], ["serve", "-m", "x", "-s", "0.5", "-p", "9000"]),
        (["--skill_threshold", "0.5"], ["serve", "--skill_threshold", "0.5"]),
        (["info"], ["info"]),
        (["--model", "x", "info", "--json"], ["--model", "x", "info", "--json"]),
        (["serve", "-p", "1"], ["serve", "-p", "1"]),
        (["--help"], ["--help"]),
        (["--version"], ["--version"]),
    ],
)
def test_python_m_routes_options_to_serve(args: list[str], expected: list[str]) -> None:
    from esco_skill_extractor.__main__ import route

    assert route(args, ["info", "serve", "cache", "taxonomy", "extract"]) == expected


def test_python_m_starts_the_server(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            ["-m", "all-MiniLM-L6-v2", "-s", "0.5", "-o", "0.5", "-d", "cpu", "-c", "127.0.0.1", "-p", "9002"]
        )
    assert exit_info.value.code == 0
    [(app, options)] = served
    assert options["port"] == 9002 and app.state.settings.model == "all-MiniLM-L6-v2"


# -- the real bundled model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled_client(tmp_path_factory: pytest.TempPathFactory, bundled_embedder: Any) -> Iterator[TestClient]:
    extractor = SkillExtractor(
        embedder=bundled_embedder,
        taxonomy=mini_taxonomy(),
        cache_dir=tmp_path_factory.mktemp("bundled"),
        show_progress=False,
    )
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client


@pytest.mark.slow
def test_bundled_model_rich_extraction(bundled_client: TestClient) -> None:
    body = bundled_client.post(
        "/extract-rich",
        json={
            "text": "Senior Python developer wanted. You write SQL queries every day.",
        },
    ).json()
    uris = [s["uri"] for s in body["skills"]]
    assert PYTHON in uris and SQL in uris
    assert body["occupations"] and body["occupations"][0]["uri"] == SOFTWARE_DEVELOPER
    assert bundled_client.get("/health").json()["model"] == "all-MiniLM-L6-v2"


@pytest.mark.slow
def test_bundled_model_search_and_upload(bundled_client: TestClient) -> None:
    search = bundled_client.get("/search/skills", params={"query": "python programming"}).json()
    assert search["results"][0]["uri"] == PYTHON
    occupations = bundled_client.get("/search/occupations", params={"query": "chef"}).json()
    assert occupations["results"][0]["uri"] == COOK  # no label says "chef": semantic
    body = upload(bundled_client, PDF, rich_data=True, max_results=100).json()
    assert PYTHON in [s["uri"] for s in body["skills"]]


@pytest.mark.slow
def test_bundled_model_concurrent_requests(bundled_client: TestClient) -> None:
    app = bundled_client.app
    texts = [f"Python developer number {i} with SQL and teamwork." for i in range(8)]

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-skills", json=[t]) for t in texts))

    responses = asyncio.run(run_all())
    assert all(r.status_code == 200 for r in responses)
    assert all(PYTHON in r.json()[0] for r in responses)
