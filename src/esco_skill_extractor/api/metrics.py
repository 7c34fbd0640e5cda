"""Prometheus metrics, in one registry per app (recorded by :mod:`.middleware`).

Metrics (``GET /metrics``):

* ``esco_http_requests_total{method,route,status}``, ``esco_http_errors_total{...}``
  (status >= 400), ``esco_http_request_duration_seconds{method,route}``,
  ``esco_http_requests_in_progress``;
* ``esco_model_seconds{operation}``: time per call of the model (encoding the texts and
  scoring them against ESCO; concurrent requests are batched into one call),
  ``esco_model_batch_texts``: texts per call, ``esco_model_wait_seconds{operation}``: time
  a request queued for the model;
* ``esco_texts_processed_total``, ``esco_segments_processed_total`` (sentences and bullet
  items), ``esco_characters_processed_total``, by operation;
* ``esco_model_ready``, ``esco_model_load_seconds``, ``esco_info{version,model,device}``;
* ``process_resident_memory_bytes`` and the other standard process and Python metrics.

With several workers each process has its own registry: scrape each, or run one worker.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The app's Prometheus collectors, in a registry of its own (tests build many apps)."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        self.requests = Counter(
            "esco_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.errors = Counter(
            "esco_http_errors",
            "HTTP requests answered with a status of 400 or more.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "esco_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "esco_http_requests_in_progress", "HTTP requests being answered.", registry=registry
        )
        self.model_seconds = Histogram(
            "esco_model_seconds",
            "Time per call of the model: encoding texts and scoring them against ESCO.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_texts = Histogram(
            "esco_model_batch_texts",
            "Texts per call of the model (concurrent requests are batched).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
            registry=registry,
        )
        self.model_wait = Histogram(
            "esco_model_wait_seconds",
            "Time a request waited for the model (queueing).",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.refused = Counter(
            "esco_model_refused",
            "Requests refused at once (503) because the model's queue was full.",
            ["operation"],
            registry=registry,
        )
        self.texts = Counter("esco_texts_processed", "Texts processed.", ["operation"], registry=registry)
        self.segments = Counter(
            "esco_segments_processed",
            "Sentences and bullet items processed.",
            ["operation"],
            registry=registry,
        )
        self.characters = Counter(
            "esco_characters_processed",
            "Characters of text processed.",
            ["operation"],
            registry=registry,
        )
        self.ready = Gauge(
            "esco_model_ready", "1 when the model and embeddings are loaded.", registry=registry
        )
        self.load_seconds = Gauge(
            "esco_model_load_seconds",
            "Time taken to load the model and embeddings.",
            registry=registry,
        )
        self.info = Info("esco", "Version, model and device.", registry=registry)
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        code = str(status)
        self.requests.labels(method, route, code).inc()
        if status >= 400:
            self.errors.labels(method, route, code).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_model(self, operation: str, seconds: float, texts: int) -> None:
        """One call of the model (maybe a batch of several requests)."""
        self.model_seconds.labels(operation).observe(seconds)
        self.batch_texts.observe(texts)

    def observe_job(self, operation: str, waited: float, texts: int, segments: int, characters: int) -> None:
        """One request's use of the model."""
        self.model_wait.labels(operation).observe(waited)
        self.texts.labels(operation).inc(texts)
        self.segments.labels(operation).inc(segments)
        self.characters.labels(operation).inc(characters)
