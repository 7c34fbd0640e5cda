"""Extraction from uploaded documents: ``POST /extract-pdf-skills`` (PDF, DOCX, plain text)."""

from __future__ import annotations

import time
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from ...documents import Document, UploadError, start_reading
from ..deps import ServiceDep, SettingsDep, check_texts, extraction_language
from ..schemas import (
    DocumentBasicResponse,
    DocumentMetadata,
    DocumentRichResponse,
    ErrorResponse,
    SourceInfo,
)
from .extract import extract_one, rich_response

__all__ = ["router"]

router = APIRouter(tags=["extraction"])


@router.post(
    "/extract-pdf-skills",
    response_model=DocumentRichResponse | DocumentBasicResponse,
    summary="Skills and occupations of an uploaded PDF, DOCX or text file",
    responses={
        400: {
            "model": ErrorResponse,
            "description": "Not a PDF, DOCX or text file; encrypted, corrupt, or without text.",
        },
        413: {
            "model": ErrorResponse,
            "description": "File too large, too many pages, too much text, or too much memory to read.",
        },
        422: {
            "model": ErrorResponse,
            "description": "A form field is missing or invalid, or the file took too long to read.",
        },
        503: {"model": ErrorResponse, "description": "The model is still loading."},
    },
)
async def extract_document(
    service: ServiceDep,
    settings: SettingsDep,
    pdf: Annotated[
        UploadFile,
        File(
            description="The document: PDF, Word .docx or plain "
            "text (the field is named pdf for any of them)."
        ),
    ],
    skills_threshold: Annotated[float, Form(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.6,
    occupations_threshold: Annotated[float, Form(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.55,
    max_results: Annotated[int, Form(ge=1, le=100)] = 10,
    rich_data: Annotated[
        bool, Form(description="Answer the rich shape (as /extract-rich) instead of names.")
    ] = False,
    language: Annotated[str | None, Form(max_length=8)] = None,
) -> DocumentRichResponse | DocumentBasicResponse:
    """Text is taken from the file (pypdf for PDF, python-docx for DOCX) and extracted as in
    ``/extract-rich`` (``rich_data=true``) or ``/extract-basic``; ``metadata`` adds the file
    name and type, its page count and the length of the extracted text."""
    started = time.perf_counter()
    data = await pdf.read(settings.max_upload_bytes + 1)
    filename = pdf.filename or "upload"
    # In a separate process with memory and CPU limits; killed when this request is
    # cancelled (client gone, deadline passed), so a hostile file costs at most its limits.
    job = start_reading(
        data,
        max_bytes=settings.max_upload_bytes,
        max_pages=settings.max_pdf_pages,
        max_chars=settings.max_text_chars,
        timeout=settings.document_timeout,
        memory_mb=settings.document_memory_mb,
    )
    try:
        document: Document = await anyio.to_thread.run_sync(job.result, abandon_on_cancel=True)
    except UploadError as exc:
        raise HTTPException(exc.status_code, f"{filename}: {exc}") from None
    finally:
        job.kill()
    check_texts([document.text], settings)
    language = extraction_language(language, settings, service.require_taxonomy())
    extraction, thresholds = await extract_one(
        service,
        document.text,
        skills_threshold=skills_threshold,
        occupations_threshold=occupations_threshold,
        max_results=max_results,
        language=language,
    )
    rich = rich_response(extraction, service, thresholds, started)
    metadata = DocumentMetadata(
        **rich.metadata.model_dump(),
        filename=filename,
        file_type=document.file_type,
        pages=document.pages,
        text_length=len(document.text),
        rich_data=rich_data,
    )
    if rich_data:
        return DocumentRichResponse(skills=rich.skills, occupations=rich.occupations, metadata=metadata)
    return DocumentBasicResponse(
        skills=[s.name for s in rich.skills],
        occupations=[o.name for o in rich.occupations],
        metadata=metadata,
        source_info=SourceInfo(filename=filename, pages=document.pages, text_length=len(document.text)),
    )
