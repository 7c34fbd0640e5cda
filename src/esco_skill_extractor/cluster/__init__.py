"""Extraction on a Ray cluster: many workers, each holding one extractor, same records.

Two ways in, one worker class (:class:`ExtractorActor`):

* :func:`extract_dataset` for a Ray Dataset: ``map_batches`` over a pool of actors, which
  adds ``error``, ``skills`` and ``occupations`` columns (the Arrow types of Parquet output).
* :class:`ExtractorPool` for a stream of batches whose results come back in input order
  (the CLI's ``extract --engine ray``, which reads and writes records as the local engine
  does, so ids, formats and ``--resume`` are the same).

Each actor loads the model, the taxonomy and the embedding cache once. The cache is
prepared once, in the driver, before any actor starts (:func:`prepare_cache`): loaded, or
built. When the cluster has nodes besides the driver's, the driver also exports it to an
archive (``cache export``'s format, checksummed) and puts it into Ray's object store, with
the cache of the model that reads the taxonomy's other languages (built in the driver if
need be); an actor whose cache folder lacks one imports its archive instead of building. Every actor then
checks that it scores with the very cache the driver prepared (same key: model, taxonomy,
recipe, dtype, backend), so no node silently uses another model.

Failures: an actor that dies (a killed process, a lost node) is restarted by Ray and the
batches it held are sent again (``max_restarts``/``max_task_retries``); the pool hands out
each batch's results once, in order, so nothing is lost or repeated. An actor that keeps
dying ends the run with :class:`~esco_skill_extractor.errors.ClusterError`.

Ray is imported by these functions only, never when the package is imported; it is an
extra: ``pip install 'esco-skill-extractor[ray]'``.
"""

from .caches import RAY_HINT, ExtractorSpec, PreparedCache, prepare_cache, require_ray
from .datasets import extract_dataset
from .workers import ExtractorActor, ExtractorPool, Task, worker_resources

__all__ = [
    "RAY_HINT",
    "ExtractorActor",
    "ExtractorPool",
    "ExtractorSpec",
    "PreparedCache",
    "Task",
    "extract_dataset",
    "prepare_cache",
    "require_ray",
    "worker_resources",
]
