"""A first start with a model whose cache takes long to build: the bundled model answers
meanwhile, and the model takes over, between requests, when its cache is ready."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_api import ESCO_MINI, JOB_AD, fake_extractor

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.service import ExtractorService
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.errors import ModelUnavailable
from esco_skill_extractor.extraction.assembly import BUILDING_PHASE
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

_PROGRESS = f"{BUILDING_PHASE} of big-model: 1,000 of 250,000 texts (0%), about 9 h 05 min left"


def _extractors(tmp_path: Path) -> tuple[SkillExtractor, SkillExtractor]:
    stand_in = fake_extractor(tmp_path / "a", FakeEmbedder(dim=64, model_id="small-model"))
    model = fake_extractor(tmp_path / "b", FakeEmbedder(dim=48, model_id="big-model"))
    return stand_in, model


def test_the_stand_in_answers_then_the_model_takes_over_under_load(tmp_path: Path) -> None:
    stand_in, model = _extractors(tmp_path)
    building = threading.Event()
    release = threading.Event()

    def loader(service: ExtractorService) -> SkillExtractor:
        service.stand_in(stand_in, "big-model")
        service.set_phase(_PROGRESS)
        building.set()
        assert release.wait(20)
        return model

    app = create_app(Settings(model="big-model"), loader=loader)
    with TestClient(app) as client:
        assert building.wait(10)
        health = client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert (body["status"], body["model"], body["standing_in_for"]) == (
            "healthy",
            "small-model",
            "big-model",
        )
        assert (
            body["building_embeddings"]
            and body["detail"] == f"small-model answers until big-model is ready: {_PROGRESS}"
        )
        rich = client.post("/extract-rich", json={"text": JOB_AD}).json()
        assert rich["metadata"]["model"] == "small-model"  # each answer says which model gave it
        page = client.get("/ui").text
        assert 'id="stand-in-note" class="notice">' in page and "big-model" in page

        def ask(i: int) -> tuple[int, str]:
            response = client.post("/extract", json={"texts": [f"{JOB_AD} ({i})"]})
            return response.status_code, response.json().get("model", "")

        with ThreadPoolExecutor(8) as pool:  # requests before, during and after the swap
            futures = [pool.submit(ask, i) for i in range(40)]
            release.set()
            answers = [f.result() for f in futures]
        assert app.state.service.wait(10)
        assert {status for status, _ in answers} == {200}
        assert {model for _, model in answers} <= {"small-model", "big-model"}
        body = client.get("/health").json()
        assert (body["model"], body["standing_in_for"], body["building_embeddings"]) == (
            "big-model",
            None,
            False,
        )
        assert body["detail"] == "ready"
        assert client.post("/extract", json={"texts": [JOB_AD]}).json()["model"] == "big-model"
        assert 'id="stand-in-note" class="notice" hidden>' in client.get("/ui").text


def test_the_stand_in_goes_on_when_the_model_fails(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stand_in, _ = _extractors(tmp_path)

    def loader(service: ExtractorService) -> SkillExtractor:
        service.stand_in(stand_in, "big-model")
        raise ModelUnavailable("ran out of disk space while building the cache")

    app = create_app(Settings(model="big-model"), loader=loader)
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        app.state.service.wait(10)
        health = client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert (body["status"], body["model"], body["standing_in_for"]) == ("healthy", "small-model", None)
        assert "big-model could not be loaded: ran out of disk space" in body["detail"]
        assert client.post("/extract-skills", json=[JOB_AD]).status_code == 200
    assert "small-model goes on answering" in caplog.text


@pytest.mark.slow
def test_a_model_without_its_cache_gets_the_bundled_stand_in(
    tiny_bge_m3: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(model=str(tiny_bge_m3), data_dir=ESCO_MINI, cache_dir=tmp_path, show_progress=False)
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor.api.service"):
        app = create_app(settings)
        with TestClient(app) as client:
            assert app.state.service.wait(120)
            body = client.get("/health").json()
    assert body["model"] == str(tiny_bge_m3.resolve()) and body["standing_in_for"] is None
    assert (
        f"all-MiniLM-L6-v2 answers while the embedding cache of {tiny_bge_m3.resolve()} is built"
        in caplog.text
    )
    caplog.clear()
    again = create_app(settings)  # its cache is there now: no stand-in
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor.api.service"), TestClient(again):
        assert again.state.service.wait(60)
    assert "answers while" not in caplog.text
    off = create_app(
        Settings(model=str(tiny_bge_m3), data_dir=ESCO_MINI, cache_dir=tmp_path / "other", stand_in=False)
    )
    with caplog.at_level(logging.WARNING, logger="esco_skill_extractor.api.service"), TestClient(off):
        assert off.state.service.wait(120)
    assert "answers while" not in caplog.text
