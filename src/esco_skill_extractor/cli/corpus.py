"""Inputs of batch extraction: text files, folders of documents, JSONL, CSV, Parquet, stdin.

Every input becomes a stream of :class:`InputRecord`: an id, where it came from, and its
text, read only when asked for (so ``--resume`` skips documents without opening them).
Structured files are read row by row; nothing holds a whole corpus in memory.

Problems with the inputs themselves (a missing path, a file of an unknown type, a missing
column) raise :class:`CorpusError`, which the CLI reports in one line with exit code 2. A
record that cannot be used (a corrupt PDF in a folder, a malformed JSONL line or CSV row,
a text that is not valid Unicode) raises :class:`DocumentError` when it is read: the CLI
writes it as an error row and goes on (``--on-error skip``) or stops there (``stop``).
CSV is parsed strictly: a broken quote is an error that names its line, never rows
silently merged.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..documents import UploadError, read_document
from ..errors import InputError

__all__ = [
    "DOCUMENT_SUFFIXES",
    "TABLE_SUFFIXES",
    "Columns",
    "CorpusError",
    "DocumentError",
    "InputRecord",
    "ParquetSlice",
    "check_inputs",
    "count_records",
    "is_batch_input",
    "iter_records",
    "parquet_slice_records",
    "parquet_slices",
    "read_document_file",
    "require_pyarrow",
    "too_long",
]

DOCUMENT_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
TABLE_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet")
_MAX_DOCUMENT_BYTES = 256 << 20
_MAX_PDF_PAGES = 10_000
_PARQUET_HINT = "pip install 'esco-skill-extractor[parquet]'"


class CorpusError(InputError):
    """An input that cannot be used at all: the message names the file (and line)."""


class DocumentError(Exception):
    """One record that cannot be used; the message names it (file and line)."""


@dataclass(frozen=True)
class InputRecord:
    """One document of the corpus.

    Attributes:
        id: The ``--id-column`` value, the file's path relative to its folder, or, for rows
            without an id column, ``source``.
        source: Where it came from: a path, ``path:line`` (JSONL), ``path:row`` (CSV and
            Parquet, counting from 1) or ``-`` (stdin).
        read: Returns the text; raises :class:`DocumentError` when it cannot be read.
    """

    id: str
    source: str
    read: Callable[[], str]


def require_pyarrow() -> Any:
    """Import pyarrow.parquet, or fail with an install hint."""
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise CorpusError(f"Parquet needs pyarrow: {_PARQUET_HINT}") from None
    return pq


def is_batch_input(path: Path) -> bool:
    """Whether a path only makes sense in batch mode: a folder or a table file."""
    return path.is_dir() or path.suffix.lower() in TABLE_SUFFIXES


def read_document_file(path: Path) -> str:
    """The text of a .txt/.md (UTF-8, else cp1252), .pdf or .docx file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        return ""
    try:
        return read_document(data, max_bytes=_MAX_DOCUMENT_BYTES, max_pages=_MAX_PDF_PAGES).text
    except UploadError as exc:
        message = str(exc).replace("The uploaded file", "The file")
        raise DocumentError(f"{path}: {message}") from None


def _folder_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in DOCUMENT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@dataclass(frozen=True)
class Columns:
    """The text and id fields of table inputs."""

    text: str
    id: str | None  # None: "id" when present, else the row's source


def check_inputs(inputs: Sequence[Path], columns: Columns) -> None:
    """Fail fast (before a model loads) on paths that do not exist or cannot be used."""
    for path in inputs:
        if str(path) == "-":
            continue
        if not path.exists():
            raise CorpusError(f"no such file or folder: {path}")
        if path.is_dir():
            continue
        suffix = path.suffix.lower()
        if suffix == ".csv":
            try:
                with _open_text(path) as handle:
                    header = next(csv.reader(handle), None)
            except UnicodeDecodeError:
                raise CorpusError(f"{path} is not UTF-8 text") from None
            _check_columns(path, header or [], columns)
        elif suffix == ".parquet":
            pq = require_pyarrow()
            try:
                names = pq.ParquetFile(path).schema_arrow.names
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
                raise CorpusError(f"{path} is not a readable Parquet file ({exc})") from None
            _check_columns(path, names, columns)
        elif suffix not in (*DOCUMENT_SUFFIXES, ".jsonl", ".ndjson"):
            raise CorpusError(
                f"{path}: unknown file type {suffix or '(none)'}; use .txt, .md, .pdf, .docx, "
                ".jsonl, .csv or .parquet (or a folder of documents)"
            )


def _check_columns(path: Path, names: Sequence[str], columns: Columns) -> None:
    listed = ", ".join(names) or "none"
    if columns.text not in names:
        raise CorpusError(
            f"{path} has no column {columns.text!r} (columns: {listed}); "
            "name the text column with --text-column"
        )
    if columns.id is not None and columns.id not in names:
        raise CorpusError(f"{path} has no column {columns.id!r} (columns: {listed}); check --id-column")


def _open_text(path: Path) -> IO[str]:
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - caller closes


def count_records(inputs: Sequence[Path]) -> int | None:
    """How many records the inputs hold, when that is cheap to know (for the ETA)."""
    total = 0
    for path in inputs:
        if str(path) == "-":
            return None
        if path.is_dir():
            total += len(_folder_files(path))
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            total += _count_jsonl(path)
        elif path.suffix.lower() == ".parquet":
            total += int(require_pyarrow().ParquetFile(path).metadata.num_rows)
        elif path.suffix.lower() == ".csv":
            return None  # quoted fields may span lines: counting means parsing
        else:
            total += 1
    return total


def _count_jsonl(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            count += bool(line.strip())
    return count


def iter_records(
    inputs: Sequence[Path],
    *,
    text_column: str = "text",
    id_column: str | None = None,
    stdin: IO[str] | None = None,
) -> Iterator[InputRecord]:
    """Every document of the inputs, in order (folders sorted by path).

    Args:
        inputs: Files and folders; ``-`` or an empty list reads stdin (JSONL when its first
            character is ``{``, else one text).
        text_column: The text field of JSONL, CSV and Parquet rows.
        id_column: The id field; default ``id`` when present, else the row's source.
        stdin: The stream to read for ``-`` (default: ``sys.stdin``).

    Raises:
        CorpusError: while iterating, on a malformed row or a missing field.
    """
    columns = Columns(text_column, id_column)
    for path in inputs or [Path("-")]:
        if str(path) == "-":
            yield from _stdin_records(stdin if stdin is not None else sys.stdin, columns)
        elif path.is_dir():
            for file in _folder_files(path):
                yield InputRecord(file.relative_to(path).as_posix(), str(file), _reader(file))
        elif path.suffix.lower() in (".jsonl", ".ndjson", ".csv"):
            try:
                if path.suffix.lower() == ".csv":
                    yield from _csv_records(path, columns)
                else:
                    with _open_text(path) as handle:
                        yield from _jsonl_records(handle, str(path), columns)
            except UnicodeDecodeError:
                raise CorpusError(f"{path} is not UTF-8 text") from None
        elif path.suffix.lower() == ".parquet":
            yield from _parquet_records(path, columns)
        else:
            yield InputRecord(str(path), str(path), _reader(path))


def _reader(path: Path) -> Callable[[], str]:
    return lambda: read_document_file(path)


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _stdin_records(stream: IO[str], columns: Columns) -> Iterator[InputRecord]:
    first = stream.read(1)
    while first and first.isspace():
        first = stream.read(1)
    if first == "{":
        yield from _jsonl_records(_prefixed(first, stream), "-", columns)
    else:
        yield InputRecord("stdin", "-", _constant(first + stream.read()))


def _prefixed(prefix: str, stream: IO[str]) -> Iterator[str]:
    """The lines of ``stream`` with ``prefix`` put back in front (after peeking at it)."""
    yield prefix + stream.readline()
    yield from stream


def _field_text(value: Any, where: str, column: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DocumentError(f"{where}: {column!r} is {type(value).__name__}, not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentError(
            f"{where}: {column!r} is not valid Unicode (a lone surrogate at character {exc.start})"
        ) from None
    return value


def _row_id(row: Any, where: str, columns: Columns) -> str:
    name = columns.id if columns.id is not None else "id"
    value = row.get(name) if hasattr(row, "get") else None
    if value is None or value == "":
        return where
    return str(value)


def _failed(where: str, message: str) -> InputRecord:
    """A record that cannot be used: reading it raises ``message``."""

    def read() -> str:
        raise DocumentError(message)

    return InputRecord(where, where, read)


def _row_record(row: dict[str, Any], where: str, columns: Columns) -> InputRecord:
    """A record of a JSONL/CSV/Parquet row; problems with it surface when it is read."""
    try:
        text = _field_text(row.get(columns.text), where, columns.text)
        if columns.id is not None and row.get(columns.id) in (None, ""):
            raise DocumentError(f"{where}: the id column {columns.id!r} is empty")
    except DocumentError as exc:
        return _failed(where, str(exc))
    return InputRecord(_row_id(row, where, columns), where, _constant(text))


def _jsonl_records(lines: Iterable[str], name: str, columns: Columns) -> Iterator[InputRecord]:
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _failed(where, f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield _failed(where, f"{where}: expected a JSON object, got {type(row).__name__}")
            continue
        if columns.text not in row:
            message = (
                f"{where}: no {columns.text!r} field (fields: "
                f"{', '.join(row) or 'none'}); name it with --text-column"
            )
            if first:  # most likely the wrong column for the whole file
                raise CorpusError(message)
            yield _failed(where, message)
            continue
        first = False
        yield _row_record(row, where, columns)


def _csv_records(path: Path, columns: Columns) -> Iterator[InputRecord]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_text(path) as handle:
        # strict: a stray or unterminated quote is an error, not rows merged into one field
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None) or []
        except csv.Error as exc:
            raise CorpusError(f"{path}:1: malformed CSV header ({exc})") from None
        _check_columns(path, header, columns)
        number = 0
        while True:
            line = reader.line_num + 1  # where the next record starts
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                where = f"{path}:{number}"
                yield _failed(where, f"{where}: malformed CSV from line {line} ({_csv_problem(exc, line)})")
                continue
            if not fields:
                continue
            number += 1
            where = f"{path}:{number}"
            if len(fields) > len(header):
                yield _failed(
                    where,
                    f"{where}: line {line} has {len(fields)} fields, the header {len(header)}",
                )
                continue
            yield _row_record(dict(zip(header, fields, strict=False)), where, columns)


def _csv_problem(error: csv.Error, line: int) -> str:
    message = str(error)
    if "unexpected end of data" in message:
        return f"a quote opened on or after line {line} is never closed"
    return message


def _parquet_records(path: Path, columns: Columns) -> Iterator[InputRecord]:
    return parquet_slice_records(ParquetSlice(str(path), str(path), 0, sys.maxsize), columns)


@dataclass(frozen=True)
class ParquetSlice:
    """Rows ``start`` (counting from 0) up to ``stop`` (excluded, or the file's end) of a
    Parquet file: a unit of work that a Ray worker reads, extracts and writes on its own.

    ``name`` is the path as given (records' sources start with it), ``path`` the one to open.
    """

    name: str
    path: str
    start: int
    stop: int


def parquet_slices(path: Path, rows: int) -> list[ParquetSlice]:
    """The file in slices of ``rows`` rows (none when it is empty)."""
    total = int(require_pyarrow().ParquetFile(path).metadata.num_rows)
    where = str(path.absolute())
    return [ParquetSlice(str(path), where, i, min(i + rows, total)) for i in range(0, total, rows)]


def parquet_slice_records(piece: ParquetSlice, columns: Columns) -> Iterator[InputRecord]:
    """The records of a slice, with the ids and sources the whole file's reading gives them.

    Only the row groups that hold the slice are read (and only its two columns).
    """
    pq = require_pyarrow()
    handle = pq.ParquetFile(piece.path)
    names = handle.schema_arrow.names
    _check_columns(Path(piece.name), names, columns)
    id_name = columns.id if columns.id is not None else ("id" if "id" in names else None)
    wanted = [columns.text] + ([id_name] if id_name and id_name != columns.text else [])
    stop = min(piece.stop, handle.metadata.num_rows)
    groups: list[int] = []
    row = offset = 0
    for group in range(handle.metadata.num_row_groups):
        size = handle.metadata.row_group(group).num_rows
        if offset + size > piece.start and offset < stop:
            row = offset if not groups else row
            groups.append(group)
        offset += size
    if not groups:
        return
    for batch in handle.iter_batches(batch_size=1024, columns=wanted, row_groups=groups):
        low, high = max(piece.start - row, 0), min(stop - row, batch.num_rows)
        if high > low:
            for number, values in enumerate(batch.slice(low, high - low).to_pylist(), start=row + low + 1):
                yield _row_record(values, f"{piece.name}:{number}", columns)
        row += batch.num_rows
        if row >= stop:
            return


def too_long(text: str, max_chars: int) -> str | None:
    """Why ``text`` is refused by ``--max-chars`` (``None``: it is not)."""
    if len(text) > max_chars:
        return f"the text has {len(text):,} characters; the limit is {max_chars:,} (--max-chars)"
    return None
