"""Outputs of batch extraction: JSONL, CSV or Parquet, written so that a kill leaves a valid file.

* **JSONL** and **CSV** hold one record per line (CSV fields never contain a line break:
  skills and occupations are JSON, ids and sources have line breaks replaced). Each batch is
  appended, flushed and ``fsync``-ed. ``--resume`` cuts a partial last line (the write a kill
  interrupted), counts the records already there and goes on after them.
* **Parquet** cannot be appended to, so a run writes its rows as numbered part files in
  ``<output>.parts/`` (each written to a temporary name, then renamed) and, at the end,
  copies them row group by row group into a temporary file that is renamed to ``<output>``.
  A kill at any moment leaves either the parts (which ``--resume`` continues) or the
  finished file.

Every record: ``id``, ``source``, ``error`` (why the document could not be read, else
null), ``skills`` and ``occupations`` (the library's :class:`SkillMatch` and
:class:`OccupationMatch` fields: URI, label, score, evidence spans with offsets...).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from ..schema import occupations_type, skills_type
from ..types import Extraction
from .corpus import CorpusError, InputRecord, require_pyarrow

__all__ = [
    "CSV_COLUMNS",
    "OutputFormat",
    "RecordWriter",
    "format_record",
    "format_records",
    "guess_format",
    "merge_parts",
    "open_writer",
    "parquet_schema",
    "write_part",
]

OutputFormat = Literal["jsonl", "csv", "parquet"]
CSV_COLUMNS = ("id", "source", "error", "skills", "occupations")
_PART_ROWS = 2000  # Parquet rows per part file (and per row group of the final file)
_PART_SECONDS = 60.0  # ... or fewer, when this long has passed since the last part


def format_record(record: InputRecord, result: Extraction | None, error: str | None = None) -> dict[str, Any]:
    """The output record of one input (pure; shared by every format)."""
    return {
        "id": record.id,
        "source": record.source,
        "error": error,
        "skills": [m.to_dict() for m in result.skills] if result else [],
        "occupations": [m.to_dict() for m in result.occupations] if result else [],
    }


def format_records(
    records: Sequence[InputRecord], results: Sequence[Extraction | None], errors: Sequence[str | None]
) -> list[dict[str, Any]]:
    """The output records of a chunk: each input with its result, or with its error."""
    return [format_record(r, None if e else x, e) for r, x, e in zip(records, results, errors, strict=True)]


def guess_format(output: Path | None) -> OutputFormat:
    """The format an output's suffix implies (JSONL by default)."""
    suffix = output.suffix.lower() if output else ""
    return "csv" if suffix == ".csv" else "parquet" if suffix == ".parquet" else "jsonl"


class RecordWriter(Protocol):
    """Where records go. ``done`` and ``last_id`` describe what a resumed file already holds."""

    done: int
    last_id: str | None

    def write(self, records: Sequence[dict[str, Any]]) -> None: ...

    def close(self) -> None:
        """Finish the output (for Parquet: merge the parts into the file)."""

    def abandon(self) -> None:
        """Keep what was written (so that ``--resume`` can go on) and release the file."""


def open_writer(
    output: Path | None,
    fmt: OutputFormat,
    *,
    resume: bool = False,
    overwrite: bool = False,
    stdout: IO[str] | None = None,
) -> RecordWriter:
    """A writer for ``output`` (``None``: stdout).

    Raises:
        CorpusError: ``--resume`` without an output file, Parquet to stdout, an existing
            output without ``--resume`` or ``--overwrite``, or an output that cannot be
            resumed (another format, a damaged header).
    """
    if output is None:
        if resume:
            raise CorpusError("--resume needs an output file (-o)")
        if fmt == "parquet":
            raise CorpusError("Parquet output needs an output file (-o out.parquet)")
        return _StreamWriter(stdout, fmt)
    parts = _parts_dir(output)
    ray_parts = output.with_name(output.name + ".ray-parts")
    exists = output.exists() or (fmt == "parquet" and parts.exists())
    if exists and not resume:
        if not overwrite:
            raise CorpusError(f"{output} exists: pass --resume to continue it, or --overwrite to replace it")
        output.unlink(missing_ok=True)
        shutil.rmtree(parts, ignore_errors=True)
    if ray_parts.exists():
        if not overwrite:
            raise CorpusError(
                f"{ray_parts} holds a run of --engine ray: resume it with --engine ray, or pass --overwrite"
            )
        shutil.rmtree(ray_parts)
    if output.parent and not output.parent.exists():
        raise CorpusError(f"the folder of {output} does not exist")
    if fmt == "parquet":
        return _ParquetWriter(output)
    return _LineWriter(output, fmt)


def _parts_dir(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def _one_line(value: str | None) -> str:
    return "" if value is None else value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _csv_line(record: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [
            _one_line(record["id"]),
            _one_line(record["source"]),
            _one_line(record["error"]),
            json.dumps(record["skills"], ensure_ascii=False),
            json.dumps(record["occupations"], ensure_ascii=False),
        ]
    )
    return buffer.getvalue()


def _line(record: dict[str, Any], fmt: OutputFormat) -> str:
    if fmt == "csv":
        return _csv_line(record)
    return json.dumps(record, ensure_ascii=False) + "\n"


class _StreamWriter:
    def __init__(self, stream: IO[str] | None, fmt: OutputFormat) -> None:
        import sys

        self._stream = stream if stream is not None else sys.stdout
        self._fmt = fmt
        self.done = 0
        self.last_id: str | None = None
        if fmt == "csv":
            self._stream.write(",".join(CSV_COLUMNS) + "\n")

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        self._stream.write("".join(_line(r, self._fmt) for r in records))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()

    def abandon(self) -> None:
        self._stream.flush()


class _LineWriter:
    """JSONL or CSV in a file: one record per line, appended per batch with fsync."""

    def __init__(self, path: Path, fmt: OutputFormat) -> None:
        self._fmt = fmt
        self.path = path
        self.done = 0
        self.last_id: str | None = None
        header = ",".join(CSV_COLUMNS) + "\n" if fmt == "csv" else ""
        if path.exists() and path.stat().st_size:
            self.done, self.last_id = self._recover(header)
        self._handle = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        if self._handle.tell() == 0 and header:
            self._handle.write(header)
            self._sync()

    def _recover(self, header: str) -> tuple[int, str | None]:
        """Cut what an interrupted write left after the last full record; count records."""
        count = 0
        end = offset = 0  # end: the byte after the last complete, well-formed line
        last_id: str | None = None
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle):
                offset += len(raw)
                if not raw.endswith(b"\n"):
                    break  # a partial last line: the write a kill interrupted
                if number == 0 and header:
                    if raw.decode("utf-8", "replace") != header:
                        raise CorpusError(
                            f"{self.path} does not start with the CSV header "
                            f"{header.strip()!r}: it cannot be resumed"
                        )
                else:
                    found = self._parse(raw)
                    if found is None:
                        break  # a damaged line (a crash, not a kill): drop it and the rest
                    count, last_id = count + 1, found
                end = offset
        if end < self.path.stat().st_size:
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
        return count, last_id

    def _parse(self, raw: bytes) -> str | None:
        """The id of a complete line, or ``None`` when it is not a record."""
        try:
            text = raw.decode("utf-8")
            if self._fmt == "csv":
                fields = next(csv.reader([text]))
                return fields[0] if len(fields) == len(CSV_COLUMNS) else None
            value = json.loads(text)
            return str(value["id"]) if isinstance(value, dict) and "id" in value else None
        except (ValueError, StopIteration, csv.Error):
            return None

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        self._handle.write("".join(_line(r, self._fmt) for r in records))
        self._sync()

    def close(self) -> None:
        if not self._handle.closed:
            self._sync()
            self._handle.close()

    abandon = close


def parquet_schema() -> Any:
    """The Arrow schema of Parquet output (nested lists of structs, as in JSONL)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    return pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("error", pa.string()),
            ("skills", skills_type()),
            ("occupations", occupations_type()),
        ]
    )


class _ParquetWriter:
    """Parquet via atomic part files, merged into ``path`` atomically by :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self._pq = require_pyarrow()
        self._schema = parquet_schema()
        self.path = path
        self.parts = _parts_dir(path)
        self.done = 0
        self.last_id: str | None = None
        self._buffer: list[dict[str, Any]] = []
        self._flushed = time.monotonic()
        if path.exists() and self.parts.exists():
            path.unlink()  # killed after the merge but before the parts were removed
        self.parts.mkdir(exist_ok=True)
        if path.exists():  # a finished file to continue: it becomes the first part
            self._check(path)
            os.replace(path, self.parts / "part-000000.parquet")
        for stray in self.parts.glob("*.tmp"):
            stray.unlink()
        files = self._part_files()
        for file in files:
            self.done += self._check(file)
        if files:
            ids = self._pq.read_table(files[-1], columns=["id"]).column("id").to_pylist()
            self.last_id = ids[-1] if ids else None
        self._next = int(files[-1].stem.split("-")[1]) + 1 if files else 0

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet"))

    def _check(self, file: Path) -> int:
        try:
            handle = self._pq.ParquetFile(file)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
            raise CorpusError(
                f"{file} is not a readable Parquet file ({exc}): it cannot be resumed"
            ) from None
        if not handle.schema_arrow.equals(self._schema):
            raise CorpusError(f"{file} was not written by this version of extract: it cannot be resumed")
        return int(handle.metadata.num_rows)

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        self._buffer.extend(records)
        if len(self._buffer) >= _PART_ROWS or time.monotonic() - self._flushed >= _PART_SECONDS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        write_part(self._buffer, self.parts / f"part-{self._next:06d}.parquet")
        self._next += 1
        self._buffer = []
        self._flushed = time.monotonic()

    def abandon(self) -> None:
        self._flush()

    def close(self) -> None:
        """Write the last part, then merge the parts into the output (atomically)."""
        self._flush()
        merge_parts(self._part_files(), self.path)
        shutil.rmtree(self.parts)


def write_part(records: Sequence[dict[str, Any]], final: Path) -> None:
    """Write ``records`` to the Parquet file ``final`` atomically (a temporary file of this
    process, synced, then renamed: ``final`` exists only when complete)."""
    import pyarrow as pa

    table = pa.Table.from_pylist(list(records), schema=parquet_schema())
    temporary = final.with_name(f"{final.name}.{os.getpid()}.tmp")
    require_pyarrow().write_table(table, temporary)
    _fsync_file(temporary)
    os.replace(temporary, final)


def merge_parts(files: Sequence[Path], path: Path) -> None:
    """Copy the part ``files``, in order, into ``path`` (atomically), row group by row group."""
    pq = require_pyarrow()
    schema = parquet_schema()
    temporary = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(temporary, schema) as writer:
        for file in files:
            writer.write_table(pq.read_table(file, schema=schema))
    _fsync_file(temporary)
    os.replace(temporary, path)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
