"""Settings of the HTTP API and ``serve``, read from ``ESCO_*`` environment variables.

The library itself takes explicit arguments; only the server and the CLI read these. Build
them with :func:`get_settings` (cached), never at import time::

    ESCO_MODEL=all-MiniLM-L6-v2 ESCO_PORT=9000 esco-skill-extractor serve

List settings (``ESCO_CORS_ORIGINS`` ...) take a comma-separated list or a JSON array.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .embedding.base import Backend

__all__ = ["Settings", "get_settings"]

_Threshold = Annotated[float | None, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
_List = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Everything the HTTP server can be configured with (environment prefix ``ESCO_``)."""

    model_config = SettingsConfigDict(env_prefix="ESCO_", extra="ignore", frozen=True)

    # -- the extractor ---------------------------------------------------------------------
    model: str | None = Field(
        default=None,
        description="Embedding model: a Hugging Face id, all-MiniLM-L6-v2 (bundled, offline) "
        "or a local folder. Default: BAAI/bge-m3 when available, else the bundled model.",
    )
    device: str | None = Field(
        default=None, description="cpu, cuda, cuda:N or mps. Default: cuda, then mps, then cpu."
    )
    multilingual_model: str | None = Field(
        default="auto",
        description="Model for texts in other languages than English when the model reads only "
        "English: auto (the bundled multilingual Universal Sentence Encoder), a model name, or "
        "none (the model reads every language).",
    )
    backend: Backend = Field(
        default="torch",
        description="torch, or onnx / onnx-int8 for ONNX Runtime on the CPU (needs the onnx extra).",
    )
    data_dir: Path | None = Field(
        default=None, description="Folder of ESCO CSVs. Default: the built-in ESCO v1.2.0."
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Cache folder (embeddings, taxonomy snapshots). Default: the user "
        "cache folder, or $ESCO_HOME/cache.",
    )
    skills_threshold: _Threshold = Field(
        default=None,
        description="Default minimum skill score in [0, 1]. Default: the model's (0.6).",
    )
    occupation_threshold: _Threshold = Field(
        default=None,
        description="Default minimum occupation score in [0, 1]. Default: the model's (0.55).",
    )
    language: str | None = Field(
        default=None,
        description="Language of the texts (whose labels are matched and returned) when a "
        "request names none. Default: detected per text.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for inference (torch.set_num_threads). Default: torch's choice.",
    )
    show_progress: bool = Field(
        default=True,
        description="Show a progress bar in the log while building the embedding cache.",
    )
    stand_in: bool = Field(
        default=True,
        description="While the model's embedding cache is built on a first start (hours on a CPU "
        "for bge-m3), the bundled all-MiniLM-L6-v2 answers, and the model takes over when its "
        "cache is ready; false: 503 until then.",
    )

    # -- the server ------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Interface to bind (0.0.0.0: every interface).")
    port: int = Field(default=9000, ge=1, le=65535, description="TCP port.")
    workers: int = Field(
        default=1,
        ge=1,
        description="Server processes; each loads its own model and answers its own /metrics.",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Log level of the server and of the package's loggers."
    )

    # -- limits ----------------------------------------------------------------------------
    max_text_chars: int = Field(
        default=100_000, ge=1, description="Longest text accepted (characters); longer: 413."
    )
    max_batch_size: int = Field(default=1000, ge=1, description="Most texts in one request; more: 413.")
    max_request_bytes: int = Field(
        default=20_000_000, ge=1, description="Largest JSON request body (bytes); larger: 413."
    )
    max_upload_bytes: int = Field(
        default=10_000_000, ge=1, description="Largest uploaded document (bytes); larger: 413."
    )
    max_pdf_pages: int = Field(default=100, ge=1, description="Most pages of an uploaded PDF; more: 413.")
    document_timeout: float = Field(
        default=20.0,
        gt=0,
        description="Seconds of CPU an uploaded PDF or DOCX may take to read (in a separate "
        "process, killed past it); longer: 422.",
    )
    document_memory_mb: int = Field(
        default=1024,
        ge=64,
        description="Memory (MB) of the process that reads an uploaded document; more: 413.",
    )

    # -- load and time -----------------------------------------------------------------------
    request_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a request may take, from its first byte; work still queued or "
        "running then is dropped and the answer is 503 (408 while the body was still arriving).",
    )
    max_queue_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Refuse extraction with 503 and Retry-After at once when the model's queue "
        "already holds this many seconds of work (estimated from the measured throughput).",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's headers (slow clients are "
        "disconnected); the body counts against ESCO_REQUEST_TIMEOUT.",
    )
    shutdown_timeout: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a stopping server (SIGTERM, Ctrl+C) lets requests in flight finish.",
    )

    # -- access ------------------------------------------------------------------------------
    api_keys: _List = Field(
        default=[],
        repr=False,
        description="API keys (comma-separated); when set, every endpoint but /, /health, /ui "
        "and the docs needs 'Authorization: Bearer <key>' (else 401). Never logged.",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Requests allowed per API key (per client IP without keys), in the "
        "notation of the limits library: '60/minute', '10/second;500/hour'; more: 429.",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a key when ESCO_API_KEYS is set (default: it needs one).",
    )

    # -- CORS ------------------------------------------------------------------------------
    cors_origins: _List = Field(
        default=["http://localhost:3000", "http://127.0.0.1:3000"],
        description="Origins allowed to call the API from a browser ('*': any). Default: the "
        "Next.js front end in development; the page at /ui needs none (same origin).",
    )
    cors_methods: _List = Field(
        default=["GET", "POST", "OPTIONS"], description="HTTP methods allowed cross-origin."
    )
    cors_headers: _List = Field(
        default=["Authorization", "Content-Type", "skip_zrok_interstitial"],
        description="Request headers allowed cross-origin ('*': any); the default has the front "
        "end's skip_zrok_interstitial and the API key's Authorization.",
    )

    @field_validator("cors_origins", "cors_methods", "cors_headers", "api_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _no_blank_keys(cls, value: list[str]) -> list[str]:
        return [key.strip() for key in value if key.strip()]

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _rate_limit(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "off")):
            return None
        from limits import parse_many

        try:
            parse_many(str(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit; write e.g. '60/minute' or '10/second;500/hour'"
            ) from None
        return str(value).strip()

    @field_validator("model", "device", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("multilingual_model", mode="before")
    @classmethod
    def _none_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        return value


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, read once per process."""
    return Settings()
