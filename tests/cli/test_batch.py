"""Batch extraction: the extract command over folders, JSONL, CSV, Parquet and stdin, resume."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_texts import TEXTS

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.cli import cli
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.taxonomy import load_taxonomy

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
COOK = "http://data.europa.eu/esco/occupation/90f75f67-495d-49fa-ab57-2f320e251d7e"


def invoke(esco_mini: Path, tmp_path: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    base = ["--esco-dir", str(esco_mini), "--cache-dir", str(tmp_path / "cache"), "--model", "fake:64"]
    return CliRunner().invoke(cli, [*base, "extract", *args], input=input)


def read_jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "ads.jsonl", [{"id": f"ad-{i}", "text": t} for i, t in enumerate(TEXTS)])


def check_record(record: dict, text: str) -> None:  # type: ignore[type-arg]
    assert set(record) == {"id", "source", "error", "skills", "occupations"}
    for match in [*record["skills"], *record["occupations"]]:
        assert match["uri"].startswith("http://data.europa.eu/esco/")
        assert match["label"] and 0 <= match["score"] <= 1
        for evidence in match["evidence"]:
            assert text[evidence["start"] : evidence["end"]] == evidence["text"]


def test_folder_of_text_files_to_jsonl(esco_mini: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(TEXTS[0], "utf-8")
    (folder / "sub" / "b.md").write_text(TEXTS[1], "utf-8")
    (folder / "ignored.json").write_text("{}", "utf-8")
    (folder / ".hidden.txt").write_text(TEXTS[2], "utf-8")
    result = invoke(esco_mini, tmp_path, str(folder), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == ["a.txt", "sub/b.md"]
    assert records[0]["source"] == str(folder / "a.txt")
    check_record(records[0], TEXTS[0])
    assert PYTHON in {m["uri"] for m in records[0]["skills"]}
    assert COOK in {m["uri"] for m in records[1]["occupations"]}


def test_jsonl_to_csv(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out.csv"
    result = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out))
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [f"ad-{i}" for i in range(len(TEXTS))]
    assert rows[0]["source"] == f"{corpus}:1"
    skills = json.loads(rows[0]["skills"])
    assert PYTHON in {m["uri"] for m in skills}
    assert json.loads(rows[4]["skills"]) == [] and rows[4]["error"] == ""
    assert len(out.read_text("utf-8").splitlines()) == len(TEXTS) + 1  # one line per record


def test_csv_input_with_columns(esco_mini: Path, tmp_path: Path) -> None:
    source = tmp_path / "ads.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "body"])
        writer.writerow(["r1", "Python developer,\nwith SQL."])  # a quoted line break
        writer.writerow(["r2", "Cook wanted"])
    result = invoke(
        esco_mini, tmp_path, str(source), "--text-column", "body", "--id-column", "ref", "--format", "jsonl"
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["r1", "r2"]
    check_record(records[0], "Python developer,\nwith SQL.")


def test_parquet_in_and_out(esco_mini: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "ads.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(TEXTS))], "text": TEXTS}), source)
    out = tmp_path / "out.parquet"
    result = invoke(esco_mini, tmp_path, str(source), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(len(TEXTS))]
    check_record(rows[0], TEXTS[0])
    assert PYTHON in {m["uri"] for m in rows[0]["skills"]}
    assert not (tmp_path / "out.parquet.parts").exists()


def test_stdin_jsonl_and_text(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    result = invoke(esco_mini, tmp_path, "--format", "jsonl", input=corpus.read_text("utf-8"))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [f"ad-{i}" for i in range(len(TEXTS))]
    assert records[1]["source"] == "-:2"
    plain = invoke(esco_mini, tmp_path, "-", "--format", "csv", input=TEXTS[0])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[1].startswith("stdin,-,,")


def test_single_text_output_is_unchanged(esco_mini: Path, tmp_path: Path) -> None:
    readable = invoke(esco_mini, tmp_path, "--text", TEXTS[0])
    assert readable.exit_code == 0, readable.output
    assert "Python (computer programming)" in readable.output and "evidence:" in readable.output
    as_json = invoke(esco_mini, tmp_path, "--text", TEXTS[0], "--json")
    payload = json.loads(as_json.output)
    assert payload["source"] == "text" and payload["text"] == TEXTS[0]
    file = tmp_path / "ad.txt"
    file.write_text(TEXTS[1], "utf-8")
    assert json.loads(invoke(esco_mini, tmp_path, str(file), "--json").output)["source"] == str(file)


def test_matches_the_library(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    """Batching, the segment cache and the CLI change nothing in the results."""
    out = tmp_path / "out.jsonl"
    result = invoke(
        esco_mini, tmp_path, str(corpus), "-o", str(out), "--batch-size", "4", "--segment-cache", "0"
    )
    assert result.exit_code == 0, result.output
    extractor = SkillExtractor(
        embedder=FakeEmbedder(dim=64),
        taxonomy=load_taxonomy(esco_mini, snapshot=False),
        cache_dir=tmp_path / "lib",
        show_progress=False,
    )
    expected = [e.to_dict() for e in extractor.extract(TEXTS)]
    for record, want in zip(read_jsonl(out), expected, strict=True):
        assert record["skills"] == json.loads(json.dumps(want["skills"]))
        assert record["occupations"] == json.loads(json.dumps(want["occupations"]))


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_resume_after_a_partial_last_line(esco_mini: Path, tmp_path: Path, corpus: Path, suffix: str) -> None:
    out = tmp_path / f"out.{suffix}"
    assert invoke(esco_mini, tmp_path, str(corpus), "-o", str(out)).exit_code == 0
    complete = out.read_bytes()
    lines = complete.splitlines(keepends=True)
    header = 1 if suffix == "csv" else 0
    cut = sum(len(line) for line in lines[: header + 2]) + len(lines[header + 2]) // 2
    out.write_bytes(complete[:cut])  # killed while writing the third record
    again = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out), "--resume")
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == complete
    # Resuming a finished file adds nothing.
    assert invoke(esco_mini, tmp_path, str(corpus), "-o", str(out), "--resume").exit_code == 0
    assert out.read_bytes() == complete


def test_resume_parquet_after_an_interruption(
    esco_mini: Path, tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from esco_skill_extractor.cli import outputs

    reference = tmp_path / "reference.parquet"
    assert invoke(esco_mini, tmp_path, str(corpus), "-o", str(reference)).exit_code == 0
    monkeypatch.setattr(outputs, "_PART_ROWS", 2)
    calls = {"n": 0}
    original = SkillExtractor.extract

    def interrupted(self, texts, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, texts, **options)

    monkeypatch.setattr(SkillExtractor, "extract", interrupted)
    out = tmp_path / "out.parquet"
    first = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out), "--batch-size", "2")
    assert first.exit_code == 130
    assert not out.exists()
    parts = sorted((tmp_path / "out.parquet.parts").glob("part-*.parquet"))
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == 4
    monkeypatch.setattr(SkillExtractor, "extract", original)
    again = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out), "--resume")
    assert again.exit_code == 0, again.output
    assert pq.read_table(out).to_pylist() == pq.read_table(reference).to_pylist()
    assert not (tmp_path / "out.parquet.parts").exists()


def test_kill_at_any_moment_leaves_a_resumable_file(esco_mini: Path, tmp_path: Path) -> None:
    """A real SIGKILL in the middle of a run, then --resume: every record once, in order."""
    corpus = write_jsonl(
        tmp_path / "big.jsonl", [{"id": str(i), "text": f"{TEXTS[i % 4]} Number {i}."} for i in range(400)]
    )
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable,
        "-m",
        "esco_skill_extractor",
        "--esco-dir",
        str(esco_mini),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--model",
        "fake:64",
        "extract",
        str(corpus),
        "-o",
        str(out),
        "--batch-size",
        "3",
        "--no-progress",
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if out.exists() and out.stat().st_size > 2000:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.stderr is not None
    child.stderr.close()
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert [r["id"] for r in read_jsonl(out)] == [str(i) for i in range(400)]


def test_resume_refuses_other_inputs(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert invoke(esco_mini, tmp_path, str(corpus), "-o", str(out)).exit_code == 0
    other = write_jsonl(
        tmp_path / "other.jsonl", [{"id": f"z{i}", "text": t} for i, t in enumerate(TEXTS * 2)]
    )
    result = invoke(esco_mini, tmp_path, str(other), "-o", str(out), "--resume")
    assert result.exit_code == 2
    assert "are these the inputs of that run?" in result.output
    assert "Traceback" not in result.output


def test_existing_output_needs_resume_or_overwrite(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", "utf-8")
    refused = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out))
    assert refused.exit_code == 2 and "--resume" in refused.output
    assert out.read_text("utf-8") == "keep me\n"
    replaced = invoke(esco_mini, tmp_path, str(corpus), "-o", str(out), "--overwrite")
    assert replaced.exit_code == 0
    assert len(read_jsonl(out)) == len(TEXTS)


def test_unreadable_document_is_recorded_not_fatal(esco_mini: Path, tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    folder = tmp_path / "docs"
    folder.mkdir()
    document = docx.Document()
    document.add_paragraph(TEXTS[0])
    document.save(str(folder / "a.docx"))
    (folder / "b.pdf").write_bytes(b"%PDF-1.4\n this is not really a PDF")
    result = invoke(esco_mini, tmp_path, str(folder), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["error"] is None
    assert PYTHON in {m["uri"] for m in records[0]["skills"]}
    assert "cannot be read" in records[1]["error"] and records[1]["skills"] == []
    assert "1 record(s) could not be used" in result.stderr


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: d / "missing.jsonl", [], "no such file or folder"),
        (lambda d: write_jsonl(d / "x.jsonl", [{"body": "a"}]), [], "no 'text' field"),
        (
            lambda d: (d / "x.jsonl").write_text('{"text": "a"}\nnot json\n') and d / "x.jsonl",
            ["--on-error", "stop"],
            "x.jsonl:2: not valid JSON",
        ),
        (
            lambda d: (d / "x.csv").write_text("a,b\n1,2\n") and d / "x.csv",
            [],
            "has no column 'text' (columns: a, b)",
        ),
        (
            lambda d: (d / "x.csv").write_text("text\n1\n") and d / "x.csv",
            ["--id-column", "ref"],
            "has no column 'ref'",
        ),
        (
            lambda d: (d / "x.xlsx").write_bytes(b"PK") and d / "x.xlsx",
            ["--format", "csv"],
            "unknown file type",
        ),
        (
            lambda d: write_jsonl(d / "x.jsonl", [{"text": 3}]),
            ["--on-error", "stop"],
            "'text' is int, not text",
        ),
        (
            lambda d: (d / "x.csv").write_text('text\n"a\n') and d / "x.csv",
            ["--on-error", "stop"],
            "x.csv:1: malformed CSV from line 2 (a quote opened on or after line 2 is never closed)",
        ),
        (
            lambda d: write_jsonl(d / "x.jsonl", [{"text": "a"}]),
            ["--format", "parquet"],
            "Parquet output needs an output file",
        ),
        (
            lambda d: write_jsonl(d / "x.jsonl", [{"text": "a"}]),
            ["--resume"],
            "--resume needs an output file",
        ),
        (
            lambda d: write_jsonl(d / "x.jsonl", [{"text": "a"}]),
            ["--backend", "onnx"],
            "the fake model has no onnx backend",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    esco_mini: Path,
    tmp_path: Path,
    make,
    args: list[str],  # type: ignore[no-untyped-def]
    message: str,
) -> None:
    path = make(tmp_path)
    result = invoke(esco_mini, tmp_path, str(path), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_parquet_without_pyarrow_gives_an_install_hint(
    esco_mini: Path, tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = invoke(esco_mini, tmp_path, str(corpus), "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == 2
    assert "pip install 'esco-skill-extractor[parquet]'" in result.output


def test_progress_bar_shows_rate(esco_mini: Path, tmp_path: Path, corpus: Path) -> None:
    result = invoke(esco_mini, tmp_path, str(corpus), "-o", str(tmp_path / "o.jsonl"), "--progress")
    assert result.exit_code == 0
    assert "doc/s" in result.stderr and f"{len(TEXTS)}/{len(TEXTS)}" in result.stderr


def _csv_with_a_broken_quote(path: Path) -> Path:
    path.write_text(
        'id,text\na,Python developer\nb,"Cook with HACCP\nc,SQL and Python\nd,"teamwork" and more\n'
        "e,Cook wanted\n",
        "utf-8",
    )
    return path


def test_csv_broken_quote_is_an_error_row_naming_the_line(esco_mini: Path, tmp_path: Path) -> None:
    path = _csv_with_a_broken_quote(tmp_path / "ads.csv")
    result = invoke(esco_mini, tmp_path, str(path), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    # b's quote swallows lines 3 and 4 until the quote of line 5; strict parsing stops
    # there: one error row naming line 3, never "c" and "d" merged into b's text.
    assert [r["id"] for r in records] == ["a", f"{path}:2", "e"]
    assert records[0]["error"] is None and records[2]["error"] is None
    assert "malformed CSV from line 3" in records[1]["error"]
    assert PYTHON in {m["uri"] for m in records[0]["skills"]}
    assert "1 record(s) could not be used" in result.stderr


def test_on_error_stop_keeps_the_records_before_and_names_the_bad_one(
    esco_mini: Path, tmp_path: Path
) -> None:
    path = _csv_with_a_broken_quote(tmp_path / "ads.csv")
    out = tmp_path / "out.jsonl"
    result = invoke(esco_mini, tmp_path, str(path), "-o", str(out), "--on-error", "stop")
    assert result.exit_code == 2, result.output
    assert "malformed CSV from line 3" in result.output and "Traceback" not in result.output
    assert [r["id"] for r in read_jsonl(out)] == ["a"]


def test_bad_jsonl_lines_are_error_rows(esco_mini: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"id": "1", "text": "Python developer"}\n'
        "not json\n"
        '["a list"]\n'
        '{"id": "4", "body": "no text field"}\n'
        '{"id": "5", "text": 5}\n'
        '{"id": "6", "text": "Python \\ud800 developer"}\n'
        '{"id": "7", "text": "Cook wanted"}\n',
        "utf-8",
    )
    result = invoke(esco_mini, tmp_path, str(path), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [
        "1",
        f"{path}:2",
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
        f"{path}:6",
        "7",
    ]
    errors = [r["error"] or "" for r in records]
    assert errors[0] == errors[6] == ""
    for error, words in zip(
        errors[1:6],
        ["not valid JSON", "expected a JSON object", "no 'text' field", "is int, not text", "lone surrogate"],
        strict=True,
    ):
        assert words in error
    assert "5 record(s) could not be used" in result.stderr


def test_max_chars(esco_mini: Path, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"id": "short", "text": "Python"}, {"id": "long", "text": "x" * 51}]
    )
    result = invoke(esco_mini, tmp_path, str(path), "--format", "jsonl", "--max-chars", "50")
    assert result.exit_code == 0, result.output
    short, long = (json.loads(line) for line in result.stdout.splitlines())
    assert short["error"] is None
    assert "51 characters; the limit is 50 (--max-chars)" in long["error"]
    single = invoke(esco_mini, tmp_path, "--text", "x" * 51, "--max-chars", "50")
    assert single.exit_code == 2 and "the limit is 50" in single.output


def test_max_chars_defaults_to_the_api_limit() -> None:
    from esco_skill_extractor.cli.extract import MAX_CHARS
    from esco_skill_extractor.settings import Settings

    assert MAX_CHARS == Settings().max_text_chars == 100_000
