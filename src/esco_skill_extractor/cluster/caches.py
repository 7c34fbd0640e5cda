"""What every worker builds, and the embedding caches the driver prepares once and ships."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import EmbeddingCache
from ..embedding import Backend, load_embedder
from ..errors import ClusterError
from ..extraction import SkillExtractor
from ..extraction.assembly import AUTO, assemble
from ..taxonomy import load_taxonomy

__all__ = ["RAY_HINT", "ExtractorSpec", "PreparedCache", "prepare_cache", "require_ray"]

logger = logging.getLogger(__name__)

RAY_HINT = "pip install 'esco-skill-extractor[ray]'"


def require_ray() -> Any:
    """Import Ray, or fail with an install hint."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"the Ray engine needs Ray: {RAY_HINT}") from None
    return ray


@dataclass(frozen=True)
class ExtractorSpec:
    """How each worker builds its extractor; it travels to the workers, so it holds names
    and paths, not loaded objects.

    Attributes:
        model: A model name or folder (``None``: the default, with fallback to the bundled
            one); it must load on every node (bundled, in the node's model cache, or a
            folder every node can read).
        device: ``None``: the actor's GPU when Ray gave it one, else the CPU.
        backend: ``"torch"``, ``"onnx"`` or ``"onnx-int8"``.
        esco_dir: A folder of ESCO CSVs every node can read (``None``: the built-in ESCO).
        esco_language: The primary language of those files.
        cache_dir: The cache folder on each node (``None``: the node's user cache folder).
        skills_threshold: Minimum skill score (``None``: the model's default).
        occupation_threshold: Minimum occupation score (``None``: the model's default).
        segment_cache_size: Sentences whose results each actor remembers; 0 disables.
        multilingual_model: The model for texts in the taxonomy's other languages
            (``"auto"``: the bundled multilingual one when ``model`` reads only English;
            ``None``: ``model`` reads every text).
    """

    model: str | None = None
    device: str | None = None
    backend: Backend = "torch"
    esco_dir: str | None = None
    esco_language: str = "en"
    cache_dir: str | None = None
    skills_threshold: float | None = None
    occupation_threshold: float | None = None
    segment_cache_size: int = 10_000
    multilingual_model: str | None = AUTO

    def build(self) -> SkillExtractor:
        """The extractor, assembled as the CLI assembles its own (same parts, same results)."""
        loaded = load_embedder(self.model, device=self.device, backend=self.backend, cache_dir=self.cache_dir)
        taxonomy = load_taxonomy(self.esco_dir, language=self.esco_language, cache_dir=self.cache_dir)
        parts = assemble(
            loaded=loaded,
            taxonomy=taxonomy,
            cache_dir=self.cache_dir,
            show_progress=False,
            multilingual_model=self.multilingual_model,
        )
        return SkillExtractor.from_assembly(
            parts,
            self.skills_threshold,
            self.occupation_threshold,
            segment_cache_size=self.segment_cache_size,
        )


@dataclass(frozen=True)
class PreparedCache:
    """The embedding caches the driver prepared.

    Attributes:
        digest: The model's cache key digest; every actor checks that its own cache has it.
        archives: ``()``, or ``(digest, object-store reference)`` of each cache shipped: the
            model's and, when another model reads the taxonomy's other languages, that
            one's (references in a tuple, so that Ray hands actors the reference and they
            fetch the bytes only when they need them).
        size: The archives' size in bytes (0 when nothing is shipped).
    """

    digest: str
    archives: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    size: int = 0


def prepare_cache(spec: ExtractorSpec, *, ship: bool | None = None) -> PreparedCache:
    """Load or build the embedding caches once, in the driver, and ship them when needed.

    Args:
        spec: The workers' extractor.
        ship: Put the caches' archives into the object store for nodes that lack them;
            ``None``: when the cluster has more than one node (Ray must be initialised).
            Shipping also prepares the cache of the model for the taxonomy's other
            languages (built here if need be), so that no node builds one of its own.

    Returns:
        What the actors need to find (or install) the same caches.
    """
    ray = require_ray()
    extractor = spec.build()
    digest = extractor.cache.key.digest()
    if ship is None:
        ship = sum(1 for node in ray.nodes() if node.get("Alive")) > 1
    if not ship:
        return PreparedCache(digest)
    archives = []
    size = 0
    for cached in extractor.embedding_caches(every_language=True):
        name = cached.key.digest()
        with tempfile.TemporaryDirectory(prefix="esco-ship-") as folder:
            file = EmbeddingCache(cached.path.parent).export(cached.path, Path(folder) / f"{name}.tar")
            data = file.read_bytes()
        logger.info("embedding cache %s shipped through the object store (%.1f MB)", name, len(data) / 1e6)
        archives.append((name, ray.put(data)))
        size += len(data)
    return PreparedCache(digest, tuple(archives), size)
