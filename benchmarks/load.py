"""Load test of the HTTP API on loopback: concurrent clients for a fixed time.

Starts a server with the bundled model (or targets a running one with ``--url``, which must
be a loopback address), waits until ``/health`` says it is ready, then runs ``--clients``
concurrent clients for ``--duration`` seconds against one endpoint and prints requests/s,
latency percentiles, the error count and the server's own model timings (from
``/metrics``). Every run is bounded in time: start-up by ``--startup-timeout``, the load by
``--duration`` plus one request timeout.

By default every request's sentences are new to the server (a request number is woven into
each), so the numbers measure the model rather than the server's sentence cache;
``--repeat`` cycles a few fixed job ads instead, as real traffic with boilerplate would.

Usage::

    python benchmarks/load.py [--clients 20] [--duration 30] [--endpoint extract-rich]
                              [--model all-MiniLM-L6-v2] [--esco-dir DIR] [--threads N]
                              [--url http://127.0.0.1:9000] [--repeat] [--json]

With the full vendored ESCO the server's first start builds the embedding cache of the
model (minutes); ``--esco-dir tests/data/esco_mini`` gives a quick run on the mini taxonomy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

JOB_ADS = [
    "We are hiring a software developer. You know Python and SQL, write unit tests and "
    "enjoy teamwork. Experience with Java is a plus.",
    "Cook wanted for a busy restaurant kitchen. You order supplies, store raw food "
    "materials and comply with food safety and hygiene rules.",
    "The hospital seeks a nurse responsible for general care. Provide nursing care in "
    "community settings and educate patients on the prevention of illness.",
    "Electrician needed: maintain electrical equipment, inspect electrical supplies and "
    "resolve equipment malfunctions on site.",
    "Data scientist position. Normalise data, manage research data, apply statistics and "
    "machine learning, and report results in English.",
    "Project manager for a software team: identify customer requirements, answer requests "
    "for quotation and keep the project on schedule.",
]
ENDPOINTS = ["extract-rich", "extract-basic", "extract-skills", "extract", "search-skills"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(message)


def text_for(number: int, repeat: bool) -> str:
    ad = JOB_ADS[number % len(JOB_ADS)]
    if repeat:
        return ad
    # A request number in every sentence: nothing is served from the sentence cache.
    return " ".join(
        f"{sentence.rstrip('.')} (ref {number}-{i})."
        for i, sentence in enumerate(re.split(r"(?<=\.)\s+", ad))
    )


def request_for(endpoint: str, text: str) -> tuple[str, str, dict[str, Any]]:
    if endpoint in ("extract-rich", "extract-basic"):
        return "POST", f"/{endpoint}", {"json": {"text": text, "max_results": 25}}
    if endpoint == "extract-skills":
        return "POST", "/extract-skills", {"json": [text]}
    if endpoint == "extract":
        return "POST", "/extract", {"json": {"texts": [text]}}
    return "GET", "/search/skills", {"params": {"query": text[:60], "limit": 10}}


async def client_loop(
    http: httpx.AsyncClient,
    endpoint: str,
    deadline: float,
    repeat: bool,
    counter: list[int],
    results: Results,
) -> None:
    while time.perf_counter() < deadline:
        counter[0] += 1
        method, path, kwargs = request_for(endpoint, text_for(counter[0], repeat))
        started = time.perf_counter()
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            results.error(f"{type(exc).__name__}: {exc}")
            continue
        if response.status_code != 200:
            results.error(f"{response.status_code}: {response.text[:200]}")
            continue
        results.latencies.append(time.perf_counter() - started)


async def run_load(
    url: str, endpoint: str, clients: int, duration: float, repeat: bool, timeout: float
) -> tuple[Results, float]:
    results = Results()
    counter = [0]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(
            *(client_loop(http, endpoint, deadline, repeat, counter, results) for _ in range(clients))
        )
        elapsed = time.perf_counter() - started
    return results, elapsed


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def model_totals(url: str) -> dict[str, float]:
    """Sums and counts of the server's model histograms (all operations)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    totals: dict[str, float] = {}
    for name in (
        "esco_model_seconds_sum",
        "esco_model_seconds_count",
        "esco_model_wait_seconds_sum",
        "esco_model_wait_seconds_count",
        "esco_model_batch_texts_sum",
        "esco_segments_processed_total",
    ):
        totals[name] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((name + "{", name + " "))
        )
    return totals


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = args.port or free_port()
    command = [
        sys.executable,
        "-m",
        "esco_skill_extractor",
        "serve",
        "-m",
        args.model,
        "-d",
        args.device,
        "-c",
        "127.0.0.1",
        "-p",
        str(port),
        "--log-level",
        "info",
    ]
    if args.threads:
        command += ["-t", str(args.threads)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", ESCO_SHOW_PROGRESS="true")
    if args.esco_dir:
        env["ESCO_DATA_DIR"] = str(args.esco_dir)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            response = httpx.get(f"{url}/health", timeout=5)
            body: dict[str, Any] = response.json()
            if response.status_code == 200:
                return body
            if body.get("status") == "failed":
                raise SystemExit(f"the server could not load the model: {body.get('detail')}")
            phase = re.sub(r" \(\d+s so far\)$", "", str(body.get("detail")))
            if phase != last:
                last = phase
                print(f"  server: {phase}", file=sys.stderr)
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"the server was not ready within {timeout:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (loopback only); default: start one")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--endpoint", choices=ENDPOINTS, default="extract-rich")
    parser.add_argument(
        "--repeat", action="store_true", help="cycle fixed job ads (the sentence cache helps)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="server inference threads")
    parser.add_argument("--esco-dir", type=Path, help="ESCO data for the started server")
    parser.add_argument("--port", type=int, help="port of the started server (default: free)")
    parser.add_argument("--startup-timeout", type=float, default=1800.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.clients < 1 or args.duration <= 0:
        parser.error("--clients and --duration must be positive")

    process = None
    log = Path(tempfile.mkstemp(prefix="esco-load-", suffix=".log")[1])
    if args.url:
        url = args.url.rstrip("/")
        if urlparse(url).hostname not in LOOPBACK:
            parser.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")
    else:
        process, url = start_server(args, log)
        print(f"started a server at {url} (log: {log})", file=sys.stderr)
    try:
        started = time.monotonic()
        health = wait_ready(url, args.startup_timeout, process)
        ready_after = time.monotonic() - started
        before = model_totals(url)
        print(
            f"load: {args.clients} clients, {args.duration:.0f}s, POST/GET "
            f"/{args.endpoint}, model {health['model']} on {health['device']}, "
            f"ESCO {health['data_version']} ({health['skills_count']} skills)",
            file=sys.stderr,
        )
        results, elapsed = asyncio.run(
            run_load(url, args.endpoint, args.clients, args.duration, args.repeat, args.timeout)
        )
        after = model_totals(url)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def delta(name: str) -> float:
        return after[name] - before[name]

    calls = delta("esco_model_seconds_count")
    waits = delta("esco_model_wait_seconds_count")
    report = {
        "endpoint": args.endpoint,
        "model": health["model"],
        "device": health["device"],
        "esco": health["data_version"],
        "skills": health["skills_count"],
        "clients": args.clients,
        "duration_s": round(elapsed, 2),
        "fresh_texts": not args.repeat,
        "requests": len(results.latencies),
        "errors": results.errors,
        "requests_per_s": round(len(results.latencies) / elapsed, 2),
        "latency_p50_ms": round(1000 * percentile(results.latencies, 0.50), 1),
        "latency_p95_ms": round(1000 * percentile(results.latencies, 0.95), 1),
        "latency_p99_ms": round(1000 * percentile(results.latencies, 0.99), 1),
        "latency_mean_ms": round(1000 * statistics.fmean(results.latencies), 1)
        if results.latencies
        else None,
        "server_model_calls": int(calls),
        "server_texts_per_call": round(delta("esco_model_batch_texts_sum") / calls, 1) if calls else None,
        "server_model_ms_per_call": round(1000 * delta("esco_model_seconds_sum") / calls, 1)
        if calls
        else None,
        "server_wait_ms_per_request": round(1000 * delta("esco_model_wait_seconds_sum") / waits, 1)
        if waits
        else None,
        "segments_per_s": round(delta("esco_segments_processed_total") / elapsed, 1),
        "startup_s": round(ready_after, 1) if process is not None else None,
        "error_samples": results.error_samples,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{report['requests']} requests in {report['duration_s']}s: "
        f"{report['requests_per_s']} requests/s, {report['errors']} errors"
    )
    print(
        f"latency: p50 {report['latency_p50_ms']} ms, p95 {report['latency_p95_ms']} ms, "
        f"p99 {report['latency_p99_ms']} ms"
    )
    print(
        f"server: {report['server_model_calls']} model calls of "
        f"{report['server_texts_per_call']} texts, {report['server_model_ms_per_call']} ms "
        f"each; {report['server_wait_ms_per_request']} ms queued per request; "
        f"{report['segments_per_s']} segments/s"
    )
    for sample in results.error_samples:
        print(f"error: {sample}")


if __name__ == "__main__":
    main()
