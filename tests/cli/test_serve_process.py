"""The server as a process: slow clients are disconnected, SIGTERM stops it within seconds
even while a hostile upload is being read (slow)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures_api import ESCO_MINI, pdf_bomb


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {
        **os.environ,
        "ESCO_HEADER_TIMEOUT": "1",
        "ESCO_DOCUMENT_TIMEOUT": "60",
        "ESCO_SHUTDOWN_TIMEOUT": "2",
    }
    command = [
        sys.executable,
        "-m",
        "esco_skill_extractor",
        "--esco-dir",
        str(ESCO_MINI),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--model",
        "fake:64",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.2)
    yield process, url
    if process.poll() is None:
        process.kill()
    process.wait(10)


@pytest.mark.slow
def test_slow_clients_are_disconnected(server: tuple[subprocess.Popen[bytes], str]) -> None:
    _, url = server
    port = int(url.rsplit(":", 1)[1])
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as slow:
        started = time.monotonic()
        closed = False
        for byte in request[:-2]:  # one byte every 0.3 s: never a complete request
            try:
                slow.sendall(bytes([byte]))
                slow.settimeout(0.3)
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - started < 4
    # a client that keeps up is served, and keeps its connection between requests
    with httpx.Client(base_url=url) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health").status_code == 200


@pytest.mark.slow
def test_sigterm_stops_the_server_while_an_upload_is_read(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = server
    bomb = pdf_bomb(pages=100, operators=900_000)
    answers: list[object] = []

    def post() -> None:
        try:
            answers.append(
                httpx.post(url + "/extract-pdf-skills", files={"pdf": ("b.pdf", bomb)}, timeout=60)
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    client = threading.Thread(target=post, daemon=True)
    client.start()
    time.sleep(1.5)  # the upload is being read
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(15)
    assert time.monotonic() - started < 8
    client.join(5)
    assert answers  # answered (or cut off) rather than left hanging
