"""Loading the extractor that the settings describe, step by step, for the service.

The model is loaded first; when its embedding cache is missing (a first start: hours on a
CPU for bge-m3), the bundled model is assembled and answers meanwhile
(:meth:`~.service.ExtractorService.stand_in`), then the model is assembled (its cache
built) and returned, to take over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..extraction import SkillExtractor
    from .service import ExtractorService

__all__ = ["load_from_settings"]


def load_from_settings(service: ExtractorService) -> SkillExtractor:
    """Build the extractor the settings describe, reporting each step to ``service``."""
    from ..embedding import load_embedder
    from ..embedding.registry import BUNDLED_MODEL, model_spec
    from ..extraction import SkillExtractor
    from ..extraction.assembly import assemble, cache_ready
    from ..taxonomy import load_taxonomy

    settings = service.settings
    service.set_phase("loading the ESCO taxonomy")
    taxonomy = load_taxonomy(settings.data_dir, cache_dir=settings.cache_dir)
    service.set_taxonomy(taxonomy)  # taxonomy endpoints answer while the model loads
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    service.set_phase(f"loading the model {settings.model or '(default)'}")
    loaded = load_embedder(
        settings.model, device=settings.device, backend=settings.backend, cache_dir=settings.cache_dir
    )
    options: dict[str, Any] = {
        "device": settings.device,
        "backend": settings.backend,
        "taxonomy": taxonomy,
        "cache_dir": settings.cache_dir,
        "show_progress": settings.show_progress,
        "on_phase": service.set_phase,
        "multilingual_model": settings.multilingual_model,
    }
    model = loaded.embedder.model_id
    if (
        settings.stand_in
        and not model_spec(model).bundled
        and not cache_ready(loaded.embedder, taxonomy, cache_dir=settings.cache_dir)
    ):
        service.set_phase(
            f"loading the bundled model {BUNDLED_MODEL} to answer while {model}'s cache is built"
        )
        stand_in = assemble(model=BUNDLED_MODEL, **options)
        service.stand_in(
            SkillExtractor.from_assembly(stand_in, settings.skills_threshold, settings.occupation_threshold),
            model,
        )
    parts = assemble(loaded=loaded, **options)
    return SkillExtractor.from_assembly(parts, settings.skills_threshold, settings.occupation_threshold)
