"""Text from documents: PDF (pypdf), Word .docx (python-docx) and plain text.

Bytes in, text out; the type is told by the content, not by the file name. Used by the
API's uploads (``POST /extract-pdf-skills``) and the CLI's document inputs, so it lives
below both and knows nothing of HTTP. Every problem is an :class:`UploadError` with a
message for the user and the status the API answers with (400: not a document we read,
or unreadable; 413: too large or too much text; 422: it took too long to read).

Bounded work: a .docx's ``word/document.xml`` is streamed (never inflated whole, nor
built into a tree) and text is counted as it comes, stopping past ``max_chars``; so is a
PDF's, page by page. A server reads uploads with :func:`start_reading`: in a separate
process (started from a clean fork server, not from the server with its model) with
limits on its memory and CPU time and a deadline, killed when the deadline passes or its
caller gives up (:meth:`ReadingJob.kill`), so a hostile file costs at most its limits.
"""

from __future__ import annotations

import io
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Document", "ReadingJob", "UploadError", "read_document", "start_reading"]

logger = logging.getLogger(__name__)

FileType = Literal["pdf", "docx", "text"]

_ACCEPTED = "upload a PDF, a Word document (.docx) or a plain-text file"
_UNZIPPED_FACTOR = 20  # a .docx may unpack to this many times the upload limit (zip bombs)
_XML_CHUNK = 64 * 1024  # bytes of document.xml parsed at a time
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_GRACE = 2.0  # seconds the reading process gets past its CPU limit before it is killed


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


def read_document(data: bytes, *, max_bytes: int, max_pages: int, max_chars: int | None = None) -> Document:
    """The text of a PDF, DOCX or plain-text upload, in this process.

    Args:
        data: The file's bytes.
        max_bytes: Largest accepted file (and, times 20, largest unpacked .docx).
        max_pages: Most pages of an accepted PDF.
        max_chars: Most characters of text; reading stops past it (413). ``None``: no limit.

    Raises:
        UploadError: empty, too large, not a supported type, encrypted, corrupt, too much
            text, or no text.
    """
    if not data:
        raise UploadError("The uploaded file is empty.")
    if len(data) > max_bytes:
        raise UploadError(f"The uploaded file has {len(data):,} bytes; the limit is {max_bytes:,}.", 413)
    budget = _Budget(max_chars)
    if b"%PDF-" in data[:1024]:
        document = _read_pdf(data, max_pages, budget)
    elif data.startswith(b"PK\x03\x04"):
        document = _read_docx(data, max_bytes * _UNZIPPED_FACTOR, budget)
    else:
        document = Document(_decode_text(data), "text", None)
        budget.add(len(document.text))
    if not document.text.strip():
        what = {"pdf": "PDF", "docx": "Word document", "text": "file"}[document.file_type]
        hint = " (is it a scanned image? OCR is not supported)" if document.file_type == "pdf" else ""
        raise UploadError(f"The {what} contains no extractable text{hint}.")
    return document


class _Budget:
    """Counts extracted characters; past the limit, a 413."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def add(self, count: int) -> None:
        self.used += count
        if self.limit is not None and self.used > self.limit:
            raise UploadError(
                f"The document has more than {self.limit:,} characters of text; the limit is {self.limit:,}.",
                413,
            )


def _read_pdf(data: bytes, max_pages: int, budget: _Budget) -> Document:
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
                raise UploadError(
                    "The PDF is encrypted and needs a password to open; upload an unprotected copy."
                )
        pages = len(reader.pages)
    except (UploadError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for broken files
        logger.info("unreadable PDF upload: %s: %s", type(exc).__name__, exc)
        raise UploadError("The PDF cannot be read: it is corrupt or truncated.") from None
    if pages > max_pages:
        raise UploadError(f"The PDF has {pages:,} pages; the limit is {max_pages:,}.", 413)
    texts = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = (page.extract_text() or "").strip()
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001
            logger.info("PDF page %d unreadable: %s: %s", number, type(exc).__name__, exc)
            if type(exc).__name__ == "LimitReachedError":  # pypdf's own limits (pypdf >= 6)
                raise UploadError(
                    f"Page {number} of the PDF is too complex to read (too many drawing operations).", 413
                ) from None
            raise UploadError(f"Page {number} of the PDF cannot be read: the file is corrupt.") from None
        budget.add(len(text) + 1)
        texts.append(text)
    return Document("\n".join(texts).strip(), "pdf", pages)


def _read_docx(data: bytes, max_unzipped: int, budget: _Budget) -> Document:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("The file looks like a ZIP or .docx file but is corrupt.") from None
    with archive:
        if "word/document.xml" not in names:
            raise UploadError(f"The file is a ZIP archive, not a Word document: {_ACCEPTED}.")
        if unzipped > max_unzipped:
            raise UploadError("The Word document unpacks to too much data.", 413)
        try:
            with archive.open("word/document.xml") as stream:
                lines = _docx_lines(stream, budget)
        except (UploadError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - zlib/lxml raise many types
            logger.info("unreadable DOCX upload: %s: %s", type(exc).__name__, exc)
            raise UploadError("The Word document cannot be read: it is corrupt.") from None
    return Document("\n".join(line for line in lines if line.strip()).strip(), "docx", None)


def _docx_lines(stream: Any, budget: _Budget) -> list[str]:
    """The paragraphs of ``word/document.xml``, streamed: each table row is one line of its
    cells' texts joined by " | " (a merged cell's text once)."""
    from lxml import etree  # type: ignore[import-untyped]

    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    lines: list[str] = []
    paragraph: list[str] | None = None
    rows: list[list[str]] = []  # the cells of the row being read, per table depth
    while chunk := stream.read(_XML_CHUNK):
        parser.feed(chunk)
        for event, element in parser.read_events():
            tag = element.tag
            if event == "start":
                if tag == f"{_W}p":
                    paragraph = []
                elif tag == f"{_W}tr":
                    rows.append([])
                continue
            if tag == f"{_W}t" and paragraph is not None:
                text = element.text or ""
                budget.add(len(text))
                paragraph.append(text)
            elif tag == f"{_W}tab" and paragraph is not None:
                paragraph.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr") and paragraph is not None:
                paragraph.append("\n")
            elif tag == f"{_W}p":
                text = "".join(paragraph or [])
                budget.add(1)
                if rows:
                    rows[-1].append(text)
                else:
                    lines.append(text)
                paragraph = None
            elif tag == f"{_W}tr" and rows:
                cells = [c for c in rows.pop() if c.strip()]
                line = " | ".join(dict.fromkeys(cells))  # merged cells repeat their text
                if rows:
                    rows[-1].append(line)
                else:
                    lines.append(line)
            # The tree is never read back: free every finished element and its elder siblings.
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    parser.close()
    return lines


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


# -- reading in a separate process, with limits ----------------------------------------------
_context_lock = threading.Lock()
_context: Any = None


def _process_context() -> Any:
    """A fork server started once, before any model thread could hold a lock in it; each
    reading process is a quick fork of it with pypdf and lxml already imported. ``None``
    where processes cannot be started that way (no fork server; a ``__main__`` that is not
    a file, as in an interactive session): documents are then read in this process."""
    global _context
    with _context_lock:
        if _context is None:
            main = sys.modules.get("__main__")
            named = getattr(getattr(main, "__spec__", None), "name", None)
            path = getattr(main, "__file__", None)
            usable = named is not None or (path is not None and os.path.isfile(path))
            if "forkserver" in multiprocessing.get_all_start_methods() and usable:
                context = multiprocessing.get_context("forkserver")
                # __main__ too, so that each reading process does not import it again
                context.set_forkserver_preload(["__main__", __name__, "pypdf", "lxml.etree"])
                _context = context
            else:
                _context = False
        return _context or None


def _limit_resources(cpu_seconds: float, memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform: the deadline still holds
        return
    cpu = max(1, math.ceil(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _read_in_child(
    conn: multiprocessing.connection.Connection,
    data: bytes,
    limits: dict[str, Any],
    *,
    limit_resources: bool = True,
) -> None:
    try:
        if limit_resources:
            _limit_resources(limits["timeout"], limits["memory_mb"])
        document = read_document(
            data, max_bytes=limits["max_bytes"], max_pages=limits["max_pages"], max_chars=limits["max_chars"]
        )
        conn.send(("ok", document.text, document.file_type, document.pages))
    except UploadError as exc:
        conn.send(("error", str(exc), exc.status_code))
    except MemoryError:
        conn.send(("memory", "", 413))
    except BaseException as exc:  # noqa: BLE001 - anything else is a file we cannot read
        conn.send(("error", f"The file cannot be read ({type(exc).__name__}).", 400))
    finally:
        conn.close()


class ReadingJob:
    """A document being read in its own process; see :func:`start_reading`."""

    def __init__(self, data: bytes, limits: dict[str, Any]) -> None:
        context = _process_context()
        self._timeout = float(limits["timeout"])
        self._memory_mb = int(limits["memory_mb"])
        self._started = time.monotonic()
        if context is None:  # no separate process: read here, without the CPU/memory limits
            receiver, sender = multiprocessing.Pipe(duplex=False)
            self._conn = receiver
            self._process: Any = None
            _read_in_child(sender, data, limits, limit_resources=False)
            return
        receiver, sender = context.Pipe(duplex=False)
        self._conn = receiver
        self._process = context.Process(
            target=_read_in_child, args=(sender, data, limits), name="esco-document", daemon=True
        )
        self._process.start()
        sender.close()

    def result(self) -> Document:
        """Wait for the text (blocking, at most the deadline plus a grace period).

        Raises:
            UploadError: the file's own problem, or 413 (memory) / 422 (time) past its limits.
        """
        try:
            deadline = self._started + self._timeout + _GRACE
            ready = self._conn.poll(max(0.0, deadline - time.monotonic()))
            message = self._conn.recv() if ready else None
        except (EOFError, OSError):
            message = None
        if message is None:
            try:
                return self._failed()
            finally:
                self.kill()
        self.kill()
        if message[0] == "ok":
            return Document(message[1], message[2], message[3])
        if message[0] == "memory":
            raise self._too_much_memory()
        raise UploadError(message[1], message[2])

    def _failed(self) -> Document:
        """Why the reader sent nothing: past its deadline (still running), or it died: by its
        CPU limit (SIGXCPU, SIGKILL) or, anything else, by its memory limit. Its exit code is
        read before it is killed (killing it first would look like a CPU limit)."""
        code = None
        elapsed = time.monotonic() - self._started
        if self._process is not None and elapsed < self._timeout:
            self._process.join(1)
            code = self._process.exitcode
        logger.warning("document reader stopped (exit code %s) after %.1f s", code, elapsed)
        if code is not None and code < 0 and -code in (9, 24) or elapsed >= self._timeout:
            raise UploadError(
                f"The document took too long to read (over {self._timeout:g} s of CPU, "
                "ESCO_DOCUMENT_TIMEOUT); it is too complex or malformed.",
                422,
            )
        raise self._too_much_memory()

    def _too_much_memory(self) -> UploadError:
        return UploadError(
            f"The document needs more than {self._memory_mb:,} MB of memory to read "
            "(ESCO_DOCUMENT_MEMORY_MB); it is too complex or malformed.",
            413,
        )

    def kill(self) -> None:
        """Stop the process now (its caller gave up); safe to call more than once."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(1)
        self._conn.close()


def start_reading(
    data: bytes,
    *,
    max_bytes: int,
    max_pages: int,
    max_chars: int,
    timeout: float,
    memory_mb: int,
) -> ReadingJob:
    """Read a document in a separate process with limits (the server's uploads).

    Args:
        data: The file's bytes.
        max_bytes, max_pages, max_chars: As :func:`read_document`.
        timeout: Seconds of CPU the process may use (then it is stopped) and, with a grace
            period, of waiting.
        memory_mb: The process's memory (address space) limit.

    Returns:
        The job: :meth:`ReadingJob.result` waits for the text, :meth:`ReadingJob.kill`
        stops it.

    Example:
        >>> job = start_reading(data, max_bytes=10**7, max_pages=100, max_chars=10**5,
        ...                     timeout=20, memory_mb=1024)  # doctest: +SKIP
        >>> job.result().text  # doctest: +SKIP
    """
    limits = {
        "max_bytes": max_bytes,
        "max_pages": max_pages,
        "max_chars": max_chars,
        "timeout": timeout,
        "memory_mb": memory_mb,
    }
    return ReadingJob(data, limits)
