"""Helpers for the API tests: small documents built in memory, and extractors to serve."""

from __future__ import annotations

import io
from pathlib import Path

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.taxonomy import Taxonomy, load_taxonomy

ESCO_MINI = Path(__file__).parent / "data" / "esco_mini"
PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"
SOFTWARE_DEVELOPER = "http://data.europa.eu/esco/occupation/f2b15a0e-e65a-438a-affb-29b9d50b77d1"
COOK = "http://data.europa.eu/esco/occupation/90f75f67-495d-49fa-ab57-2f320e251d7e"
JOB_AD = (
    "We are hiring a software developer.\n"
    "- Python and SQL\n"
    "- Teamwork principles, communication\n"
    "Experience with Java (computer programming) is a plus."
)


def mini_taxonomy() -> Taxonomy:
    return load_taxonomy(ESCO_MINI, snapshot=False)


def fake_extractor(cache_dir: Path, embedder: FakeEmbedder | None = None) -> SkillExtractor:
    """A fast extractor over the mini taxonomy (thresholds 0.6 / 0.55, the model defaults)."""
    return SkillExtractor(
        embedder=embedder or FakeEmbedder(dim=64),
        taxonomy=mini_taxonomy(),
        cache_dir=cache_dir,
        show_progress=False,
    )


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def _pdf_file(objects: list[bytes], page_ids: list[int]) -> bytes:
    """The PDF file of ``objects`` (numbered from 1; object 2, the page tree, is filled in)."""
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_pdf(pages: list[list[str]]) -> bytes:
    """A valid PDF whose pages hold these lines of text (Helvetica); ``[]``: a blank page."""
    objects: list[bytes] = []
    page_ids = []
    font_id = 3
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"")  # the page tree, filled in below
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for lines in pages:
        body = (
            b"BT /F1 12 Tf 14 TL 72 720 Td "
            + b" ".join(b"(" + _escape(line) + b") Tj T*" for line in lines)
            + b" ET"
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body))
        content_id = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content_id, font_id)
        )
        page_ids.append(len(objects))
    return _pdf_file(objects, page_ids)


def encrypt_pdf(data: bytes, password: str = "secret", algorithm: str = "RC4-128") -> bytes:
    """``data`` encrypted; ``password=""``: an owner password only (it opens without one)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password="owner-" + password, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(inflated_mb: int = 190) -> bytes:
    """A small .docx whose word/document.xml inflates to about ``inflated_mb`` MB of text."""
    import zipfile

    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paragraph = b"<w:p><w:r><w:t>" + b"Python developer " * 500 + b"</w:t></w:r></w:p>"
    count = inflated_mb * 1_000_000 // len(paragraph)
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}"><w:body>'.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as stream:
            stream.write(head)
            block = paragraph * 1000
            for _ in range(count // 1000):
                stream.write(block)
            stream.write(b"</w:body></w:document>")
    return out.getvalue()


def pdf_bomb(pages: int = 100, operators: int = 900_000) -> bytes:
    """A small PDF whose pages share one compressed content stream of ``operators`` text
    operators: slow to extract, page after page."""
    import zlib

    body = b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj 1 0 Td " * operators + b"ET"
    packed = zlib.compress(body, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed),
    ]
    page_ids = []
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        page_ids.append(len(objects))
    return _pdf_file(objects, page_ids)
