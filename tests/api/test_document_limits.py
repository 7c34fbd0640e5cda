"""Bounded document reading: streamed DOCX, characters counted as they come, and a separate
process with memory and CPU limits and a deadline, stopped when its client leaves."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from api_helpers import assert_error, client_with, upload
from fixtures_api import docx_bomb, make_docx, make_pdf, pdf_bomb

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.documents import UploadError, read_document, start_reading

LIMITS = {"max_bytes": 10_000_000, "max_pages": 100, "max_chars": 100_000}


@pytest.fixture(scope="module")
def bomb_docx() -> bytes:
    return docx_bomb(190)


def test_docx_text_in_document_order() -> None:
    data = make_docx(
        ["We are hiring a cook.", "", "HACCP and food safety."],
        [["Skill", "Level"], ["Python", "good"], ["SQL", "SQL"]],
    )
    text = read_document(data, **LIMITS).text
    assert text.splitlines() == [
        "We are hiring a cook.",
        "HACCP and food safety.",
        "Skill | Level",
        "Python | good",
        "SQL",  # a merged (repeated) cell once
    ]


def test_docx_bomb_is_refused_quickly_with_little_memory(bomb_docx: bytes) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(UploadError) as refused:
        read_document(bomb_docx, **LIMITS)  # in this process: streaming alone bounds it
    assert time.perf_counter() - started < 5
    assert refused.value.status_code == 413 and "100,000" in str(refused.value)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100


def test_docx_bomb_upload_answers_413(extractor: SkillExtractor, bomb_docx: bytes) -> None:
    client = client_with(extractor)
    started = time.perf_counter()
    response = upload(client, bomb_docx, "cv.docx", "application/octet-stream")
    assert time.perf_counter() - started < 5
    assert_error(response, 413, "cv.docx", "characters")


def test_text_is_counted_as_it_comes(extractor: SkillExtractor) -> None:
    pdf = make_pdf([["Python developer " * 5]] * 4)  # about 340 characters
    with pytest.raises(UploadError, match="more than 100 characters"):
        read_document(pdf, max_bytes=10**6, max_pages=10, max_chars=100)
    client = client_with(extractor, max_text_chars=100)
    assert_error(upload(client, pdf), 413, "characters")


def test_pdf_bomb_is_stopped_at_its_deadline(extractor: SkillExtractor) -> None:
    client = client_with(extractor, document_timeout=1.0)
    started = time.perf_counter()
    response = upload(client, pdf_bomb(pages=100, operators=900_000))
    assert time.perf_counter() - started < 5  # 1 s of CPU, plus starting the process
    assert_error(response, 422, "too long to read", "ESCO_DOCUMENT_TIMEOUT")
    assert not multiprocessing.active_children()  # the reading process is gone


def test_reading_memory_is_limited() -> None:
    job = start_reading(pdf_bomb(pages=2, operators=900_000), **LIMITS, timeout=10, memory_mb=128)
    with pytest.raises(UploadError) as refused:
        job.result()
    assert refused.value.status_code == 413 and "ESCO_DOCUMENT_MEMORY_MB" in str(refused.value)


def test_a_reading_process_is_killed_when_its_caller_gives_up() -> None:
    job = start_reading(pdf_bomb(pages=100, operators=900_000), **LIMITS, timeout=30, memory_mb=1024)
    time.sleep(0.5)
    assert multiprocessing.active_children()
    started = time.perf_counter()
    job.kill()
    assert time.perf_counter() - started < 2
    assert not multiprocessing.active_children()


def test_good_documents_read_in_the_process() -> None:
    job = start_reading(make_pdf([["Python developer"]]), **LIMITS, timeout=10, memory_mb=1024)
    document = job.result()
    assert (document.text, document.file_type, document.pages) == ("Python developer", "pdf", 1)
