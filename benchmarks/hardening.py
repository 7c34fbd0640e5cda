"""How the server holds up against load and hostile input, on loopback.

Starts a server with the bundled model (``--esco-dir`` for another taxonomy), waits until it
is ready, then measures the targets of a shared deployment:

1. **burst**: ``--clients`` (50) concurrent clients, each sending unique texts of about
   ``--chars`` (5,000) characters to ``/extract-rich`` for ``--duration`` seconds (a client
   answered 503/429 waits its ``Retry-After``, at most 2 s). Prints the answers by status,
   latency percentiles, the slowest answer of each status, and whether every request was
   answered within 30 s.
2. **docx bomb**: a 0.5 MB .docx whose ``word/document.xml`` inflates to 190 MB: status,
   seconds, and the peak extra memory of the server and its child processes.
3. **pdf bomb**: a 40 KB PDF of 100 pages sharing one content stream of 900,000 text
   operators: once answered in full (status, seconds), once abandoned by its client after
   2 s: how long the server's CPU stays busy after the client left.
4. **cache check**: full sha256 of the model's embedding cache (the first start after a
   change) against the stat stamp (every other start).

Usage::

    python benchmarks/hardening.py [--clients 50] [--chars 5000] [--duration 60]
                                   [--model all-MiniLM-L6-v2] [--esco-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures_api import docx_bomb, pdf_bomb  # type: ignore[import-not-found]  # noqa: E402

WORDS = (
    "python sql teamwork customer service communicate english project manage budget cook "
    "food safety hygiene nurse patient care electrical maintenance inspect data statistics "
    "machine learning report sales marketing negotiate contracts logistics warehouse forklift "
    "accounting invoices payroll teach students curriculum design drawings software testing"
).split()
_TICKS = os.sysconf("SC_CLK_TCK")


def unique_text(number: int, chars: int) -> str:
    """About ``chars`` characters of job-ad-like sentences, unique to ``number``."""
    rng = random.Random(number)
    sentences: list[str] = []
    size = 0
    while size < chars:
        sentence = (
            f"Role {number}-{len(sentences)}: you "
            + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
            + "."
        )
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)[:chars]


# -- the server and its processes -------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "esco_skill_extractor"]
    if args.esco_dir:
        command += ["--esco-dir", str(args.esco_dir)]
    command += ["serve", "-m", args.model, "-c", "127.0.0.1", "-p", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + args.startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited; its log:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    sys.exit(f"the server was not ready within {args.startup_timeout} s")


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def tree_rss_mb(root: int) -> float:
    total = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def tree_cpu_seconds(root: int) -> float:
    total = 0.0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total


class PeakMemory:
    """Samples the RSS of a process tree every 50 ms in a thread."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.root))
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- 1. burst -----------------------------------------------------------------------------------
async def burst(url: str, clients: int, chars: int, duration: float) -> dict[str, Any]:
    answers: list[tuple[int, float]] = []  # (status, seconds); status 0: no answer
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        deadline = time.perf_counter() + duration

        async def client() -> None:
            while time.perf_counter() < deadline:
                text = unique_text(next(counter), chars)
                started = time.perf_counter()
                try:
                    response = await http.post("/extract-rich", json={"text": text})
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                answers.append((status, time.perf_counter() - started))
                if status in (429, 503):
                    await asyncio.sleep(min(2.0, float(response.headers.get("retry-after", "1"))))

        await asyncio.gather(*(client() for _ in range(clients)))
    by_status = Counter(status for status, _ in answers)
    seconds = [s for _, s in answers]
    ok = [s for status, s in answers if status == 200]
    return {
        "clients": clients,
        "chars": chars,
        "requests": len(answers),
        "by_status": {str(k): v for k, v in sorted(by_status.items())},
        "answered_200_per_s": round(len(ok) / duration, 2),
        "p50_s": round(statistics.median(seconds), 2) if seconds else None,
        "p95_s": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 2) if seconds else None,
        "slowest_s": {
            str(status): round(max(s for st, s in answers if st == status), 2) for status in by_status
        },
        "all_within_30s": bool(seconds)
        and max(seconds) <= 30
        and 0 not in by_status
        and not any(k >= 500 and k != 503 for k in by_status),
    }


# -- 2. and 3. hostile documents ------------------------------------------------------------------
def docx_bomb_run(url: str, server: int) -> dict[str, Any]:
    data = docx_bomb(190)
    time.sleep(1)
    baseline = tree_rss_mb(server)
    with PeakMemory(server) as memory:
        started = time.perf_counter()
        response = httpx.post(url + "/extract-pdf-skills", files={"pdf": ("bomb.docx", data)}, timeout=120)
        seconds = time.perf_counter() - started
    return {
        "upload_kb": round(len(data) / 1000),
        "status": response.status_code,
        "seconds": round(seconds, 2),
        "extra_memory_mb": round(memory.peak - baseline, 1),
        "detail": response.json().get("detail"),
    }


def pdf_bomb_run(url: str, server: int) -> dict[str, Any]:
    data = pdf_bomb(pages=100, operators=900_000)
    started = time.perf_counter()
    response = httpx.post(url + "/extract-pdf-skills", files={"pdf": ("bomb.pdf", data)}, timeout=120)
    answered = {
        "upload_kb": round(len(data) / 1000),
        "status": response.status_code,
        "seconds": round(time.perf_counter() - started, 2),
        "detail": response.json().get("detail"),
    }
    # the client leaves after 2 s; how long does the server's CPU stay busy?
    try:
        httpx.post(url + "/extract-pdf-skills", files={"pdf": ("bomb.pdf", data)}, timeout=2)
    except httpx.HTTPError:
        pass
    left = time.perf_counter()
    busy_until = left
    previous = tree_cpu_seconds(server)
    while time.perf_counter() - left < 30:
        time.sleep(0.25)
        now = tree_cpu_seconds(server)
        if now - previous > 0.25 * 0.1:  # more than 10% of a core in the last 0.25 s
            busy_until = time.perf_counter()
        elif time.perf_counter() - busy_until > 2:
            break
        previous = now
    answered["cpu_busy_after_client_left_s"] = round(busy_until - left, 2)
    return answered


# -- 4. cache checks ------------------------------------------------------------------------------
def cache_check(cache_dir: Path | None) -> list[dict[str, Any]]:
    from esco_skill_extractor.cache.files import file_sha256
    from esco_skill_extractor.paths import EMBEDDINGS_DIR, cache_subdir

    root = cache_subdir(EMBEDDINGS_DIR, cache_dir)
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(folder.glob("*.npy"))
        if not files:
            continue
        started = time.perf_counter()
        for file in files:
            file_sha256(file)
        full = time.perf_counter() - started
        started = time.perf_counter()
        for file in [*files, folder / "manifest.json"]:
            file.stat()
        stamp = time.perf_counter() - started
        size = sum(f.stat().st_size for f in files)
        rows.append(
            {
                "folder": folder.name,
                "mib": round(size / 2**20),
                "full_sha256_s": round(full, 3),
                "stamp_ms": round(stamp * 1000, 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--chars", type=int, default=5_000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--esco-dir", type=Path)
    parser.add_argument("--startup-timeout", type=float, default=900.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["burst", "docx", "pdf", "cache"])
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        process, url = start_server(args, log)
        try:
            if "burst" not in args.skip:
                report["burst"] = asyncio.run(burst(url, args.clients, args.chars, args.duration))
                time.sleep(5)  # let the refused clients' queue drain
            if "docx" not in args.skip:
                report["docx_bomb"] = docx_bomb_run(url, process.pid)
            if "pdf" not in args.skip:
                report["pdf_bomb"] = pdf_bomb_run(url, process.pid)
            started = time.perf_counter()
            process.terminate()
            process.wait(30)
            report["sigterm_exit_s"] = round(time.perf_counter() - started, 2)
        finally:
            if process.poll() is None:
                process.kill()
    if "cache" not in args.skip:
        report["cache_check"] = cache_check(None)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, value in report.items():
        print(f"{name}: {json.dumps(value)}")


if __name__ == "__main__":
    main()
