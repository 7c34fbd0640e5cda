"""Whether a Hugging Face Hub download can happen now, and how to announce one.

A download is only tried when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is unset and
the Hub answers a short TCP connection probe, so an unreachable Hub costs seconds, not the
Hub client's minute of retries.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit

from .registry import ModelSpec

__all__ = ["download_blocker", "hub_cache_dir", "size_hint"]

_PROBE_TIMEOUT_S = 3.0


def hub_cache_dir() -> str:
    """The local Hugging Face cache folder (``HF_HUB_CACHE``)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _probe_hub(timeout: float = _PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the Hub answers a TCP connection, else why not."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # a proxy decides; the Hub client will find out
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parts = urlsplit(endpoint)
    host = parts.hostname or "huggingface.co"
    port = parts.port or (80 if parts.scheme == "http" else 443)
    result: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(None)
        except OSError as exc:
            result.append(f"{host}:{port} cannot be reached ({exc})")

    thread = threading.Thread(target=probe, name="esco-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)  # name resolution has no timeout of its own
    return result[0] if result else f"{host}:{port} did not answer within {timeout:.0f}s"


def download_blocker(name: str) -> str | None:
    """Why ``name`` (not in the local cache) cannot be downloaded now; ``None`` if it can."""
    where = f"the local Hugging Face cache ({hub_cache_dir()})"
    if _offline():
        return f"{name} is not in {where} and downloads are switched off (HF_HUB_OFFLINE=1)"
    unreachable = _probe_hub()
    if unreachable:
        return f"{name} is not in {where} and the Hugging Face Hub is unreachable: {unreachable}"
    return None


def size_hint(spec: ModelSpec) -> str:
    """`` (about 2.3 GB)`` for a model whose download size is known, else ``""``."""
    if not spec.download_mb:
        return ""
    mb = spec.download_mb
    return f" (about {mb / 1000:.1f} GB)" if mb >= 1000 else f" (about {mb} MB)"
