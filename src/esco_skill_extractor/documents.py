"""Text from documents: PDF (pypdf), Word .docx (python-docx) and plain text.

Bytes in, text out; the type is told by the content, not by the file name. Used by the
API's uploads (``POST /extract-pdf-skills``) and the CLI's document inputs, so it lives
below both and knows nothing of HTTP. Every problem is an :class:`UploadError` with a
message for the user and the status the API answers with (400: not a document we read,
or unreadable; 413: too large).
"""

from __future__ import annotations

import io
import logging
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Literal

__all__ = ["Document", "UploadError", "read_document"]

logger = logging.getLogger(__name__)

FileType = Literal["pdf", "docx", "text"]

_ACCEPTED = "upload a PDF, a Word document (.docx) or a plain-text file"
_UNZIPPED_FACTOR = 20  # a .docx may unpack to this many times the upload limit (zip bombs)


class UploadError(Exception):
    """An upload that cannot be used; ``str(error)`` is the message for the user."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class Document:
    """The text of an uploaded file."""

    text: str
    file_type: FileType
    pages: int | None  # PDF pages; None for other files


def read_document(data: bytes, *, max_bytes: int, max_pages: int) -> Document:
    """The text of a PDF, DOCX or plain-text upload.

    Args:
        data: The file's bytes.
        max_bytes: Largest accepted file (and, times 20, largest unpacked .docx).
        max_pages: Most pages of an accepted PDF.

    Raises:
        UploadError: empty, too large, not a supported type, encrypted, corrupt, or no text.
    """
    if not data:
        raise UploadError("The uploaded file is empty.")
    if len(data) > max_bytes:
        raise UploadError(f"The uploaded file has {len(data):,} bytes; the limit is {max_bytes:,}.", 413)
    if b"%PDF-" in data[:1024]:
        document = _read_pdf(data, max_pages)
    elif data.startswith(b"PK\x03\x04"):
        document = _read_docx(data, max_bytes * _UNZIPPED_FACTOR)
    else:
        document = Document(_decode_text(data), "text", None)
    if not document.text.strip():
        what = {"pdf": "PDF", "docx": "Word document", "text": "file"}[document.file_type]
        hint = " (is it a scanned image? OCR is not supported)" if document.file_type == "pdf" else ""
        raise UploadError(f"The {what} contains no extractable text{hint}.")
    return document


def _read_pdf(data: bytes, max_pages: int) -> Document:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # an owner password alone still lets us read it
            except (DependencyError, NotImplementedError):
                opened = PasswordType.NOT_DECRYPTED
            if opened == PasswordType.NOT_DECRYPTED:
                raise UploadError("The PDF is encrypted (password-protected); upload an unprotected copy.")
        pages = len(reader.pages)
    except UploadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for broken files
        logger.info("unreadable PDF upload: %s: %s", type(exc).__name__, exc)
        raise UploadError("The PDF cannot be read: it is corrupt or truncated.") from None
    if pages > max_pages:
        raise UploadError(f"The PDF has {pages:,} pages; the limit is {max_pages:,}.", 413)
    texts = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # noqa: BLE001
            logger.info("PDF page %d unreadable: %s: %s", number, type(exc).__name__, exc)
            raise UploadError(f"Page {number} of the PDF cannot be read: the file is corrupt.") from None
    return Document("\n".join(t.strip() for t in texts).strip(), "pdf", pages)


def _read_docx(data: bytes, max_unzipped: int) -> Document:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("The file looks like a ZIP or .docx file but is corrupt.") from None
    if "word/document.xml" not in names:
        raise UploadError(f"The file is a ZIP archive, not a Word document: {_ACCEPTED}.")
    if unzipped > max_unzipped:
        raise UploadError("The Word document unpacks to too much data.", 413)
    try:
        from docx import Document as open_docx

        docx = open_docx(io.BytesIO(data))
        lines = [p.text for p in docx.paragraphs]
        for table in docx.tables:
            for row in table.rows:
                # merged cells repeat; keep each text once per row
                lines.append(" | ".join(dict.fromkeys(c.text for c in row.cells if c.text)))
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many types
        logger.info("unreadable DOCX upload: %s: %s", type(exc).__name__, exc)
        raise UploadError("The Word document cannot be read: it is corrupt.") from None
    return Document("\n".join(line for line in lines if line.strip()).strip(), "docx", None)


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
        break
    raise UploadError(f"Unsupported file type: {_ACCEPTED}.")


def _looks_like_text(text: str) -> bool:
    controls = sum(1 for ch in text[:100_000] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return controls <= len(text[:100_000]) // 1000
