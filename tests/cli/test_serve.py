"""The serve command and ``python -m esco_skill_extractor`` (uvicorn.run is not started)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from esco_skill_extractor.settings import Settings


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Calls to uvicorn.run, which is not started."""
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_command(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "-m",
            "all-MiniLM-L6-v2",
            "-s",
            "0.5",
            "--occupation-threshold",
            "0.4",
            "-d",
            "cpu",
            "--host",
            "0.0.0.0",
            "-p",
            "9001",
            "--threads",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert (options["host"], options["port"], options["log_level"]) == ("0.0.0.0", 9001, "info")
    assert options["http"] == "esco_skill_extractor.server:SlowClientProtocol"
    assert options["timeout_graceful_shutdown"] == 5
    settings = app.state.settings
    assert (settings.model, settings.device) == ("all-MiniLM-L6-v2", "cpu")
    assert (settings.skills_threshold, settings.occupation_threshold) == (0.5, 0.4)
    assert settings.threads == 2


def test_serve_accepts_the_pypi_spellings(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "--model",
            "m",
            "--skill_threshold",
            "0.45",
            "--occupation_threshold",
            "0.5",
            "--device",
            "cpu",
            "-c",
            "localhost",
            "--port",
            "8000",
        ],
    )
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert (options["host"], options["port"]) == ("localhost", 8000)
    assert app.state.settings.skills_threshold == 0.45
    assert app.state.settings.occupation_threshold == 0.5


def test_serve_rejects_bad_values(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.cli import cli

    result = CliRunner().invoke(cli, ["serve", "-s", "1.5"])
    assert result.exit_code == 2 and "1.5" in result.output
    assert not served


def test_serve_with_workers_passes_settings_through_the_environment(
    served: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from esco_skill_extractor.cli import cli

    monkeypatch.setattr(os, "environ", dict(os.environ))
    result = CliRunner().invoke(cli, ["serve", "-w", "2", "-m", "all-MiniLM-L6-v2", "-s", "0.5"])
    assert result.exit_code == 0, result.output
    [(app, options)] = served
    assert app == "esco_skill_extractor.server:create_app"
    assert options["factory"] is True and options["workers"] == 2
    assert os.environ["ESCO_MODEL"] == "all-MiniLM-L6-v2"
    assert os.environ["ESCO_SKILLS_THRESHOLD"] == "0.5"
    assert json.loads(os.environ["ESCO_CORS_ORIGINS"]) == ["http://localhost:3000", "http://127.0.0.1:3000"]
    assert Settings().skills_threshold == 0.5  # what a worker will read


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["serve"]),
        (["-m", "x", "-s", "0.5", "-p", "9000"], ["serve", "-m", "x", "-s", "0.5", "-p", "9000"]),
        (["--skill_threshold", "0.5"], ["serve", "--skill_threshold", "0.5"]),
        (["info"], ["info"]),
        (["--model", "x", "info", "--json"], ["--model", "x", "info", "--json"]),
        (["serve", "-p", "1"], ["serve", "-p", "1"]),
        (["--help"], ["--help"]),
        (["--version"], ["--version"]),
    ],
)
def test_python_m_routes_options_to_serve(args: list[str], expected: list[str]) -> None:
    from esco_skill_extractor.__main__ import route

    assert route(args, ["info", "serve", "cache", "taxonomy", "extract"]) == expected


def test_python_m_starts_the_server(served: list[tuple[Any, dict[str, Any]]]) -> None:
    from esco_skill_extractor.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            ["-m", "all-MiniLM-L6-v2", "-s", "0.5", "-o", "0.5", "-d", "cpu", "-c", "127.0.0.1", "-p", "9002"]
        )
    assert exit_info.value.code == 0
    [(app, options)] = served
    assert options["port"] == 9002 and app.state.settings.model == "all-MiniLM-L6-v2"
