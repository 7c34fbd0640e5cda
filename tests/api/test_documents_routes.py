"""Document uploads at /extract-pdf-skills: PDF, DOCX and text, bad files, limits and fields."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PDF, assert_error, client_with, upload
from fastapi.testclient import TestClient
from fixtures_api import PYTHON, encrypt_pdf, make_docx, make_pdf

from esco_skill_extractor import SkillExtractor


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


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_opens(client: TestClient, algorithm: str) -> None:
    # Anyone may read these; AES needs the cryptography package.
    response = upload(client, encrypt_pdf(PDF, password="", algorithm=algorithm))
    assert response.status_code == 200, response.text
    assert "Python (computer programming)" in response.json()["skills"]


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 400, ["empty"]),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 400, ["unsupported", "PDF"]),
        (encrypt_pdf(PDF), 400, ["encrypted", "password"]),
        (encrypt_pdf(PDF, algorithm="AES-128"), 400, ["encrypted", "password"]),
        (encrypt_pdf(PDF, algorithm="AES-256"), 400, ["encrypted", "password"]),
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
