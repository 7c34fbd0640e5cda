"""Bad input and failures: every error answer names what was wrong, with the right status
code and never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import PDF, assert_error, client_with, upload
from fastapi.testclient import TestClient

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.errors import describe_validation_errors, status_for
from esco_skill_extractor.errors import (
    CacheCorrupted,
    ConceptNotFound,
    EscoError,
    InputError,
    ModelUnavailable,
    TaxonomyFormatError,
)


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


@pytest.mark.parametrize(
    ("path", "template", "where"),
    [
        ("/extract-rich", '{"text": "%s"}', "text"),
        ("/extract-basic", '{"text": "%s"}', "text"),
        ("/extract", '{"texts": ["ok", "%s"]}', "texts[1]"),
        ("/extract-skills", '["%s"]', "item 0"),
        ("/extract-occupations", '["ok", "%s"]', "item 1"),
    ],
)
@pytest.mark.parametrize("surrogate", ["\\ud800", "\\udfff", "\\ud83d x"])
def test_lone_surrogates_answer_422_at_once(
    client: TestClient, path: str, template: str, where: str, surrogate: str
) -> None:
    # Valid JSON, but not Unicode text: refused before it reaches the model's queue.
    payload = (template % f"Python {surrogate} developer").encode()
    response = client.post(path, content=payload, headers={"content-type": "application/json"})
    assert_error(response, 422, where, "lone surrogate", "U+D")


def test_escaped_surrogate_pairs_are_text(client: TestClient) -> None:
    payload = b'{"text": "Python developer \\ud83d\\ude00"}'
    response = client.post("/extract-basic", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


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
            "/extract-rich", json={"text": "x"}, headers={"Origin": "http://localhost:3000"}
        )
    detail = assert_error(response, 500, "server log")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
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
