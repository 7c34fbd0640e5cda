from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ESCO_MINI = DATA / "esco_mini"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache folder; no test reads the user's caches or settings."""
    home = tmp_path_factory.mktemp("esco-home")
    for name in ("ESCO_DATA_DIR", "ESCO_MODEL", "ESCO_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ESCO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture
def esco_mini() -> Path:
    return ESCO_MINI


@pytest.fixture(scope="session")
def full_taxonomy(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from esco_skill_extractor.taxonomy import load_taxonomy

    return load_taxonomy(cache_dir=tmp_path_factory.mktemp("snapshot"))


@pytest.fixture(scope="session")
def tiny_bge_m3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model in the BAAI/bge-m3 folder layout (see fixtures_bge_m3.py)."""
    from fixtures_bge_m3 import build_tiny_bge_m3

    return build_tiny_bge_m3(tmp_path_factory.mktemp("models") / "bge-m3")


@pytest.fixture(scope="session")
def bundled_embedder():  # type: ignore[no-untyped-def]
    """The real bundled all-MiniLM-L6-v2 on cpu, loaded once per session (mark tests slow)."""
    from esco_skill_extractor.embedding import load_embedder

    return load_embedder("all-MiniLM-L6-v2", device="cpu").embedder


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A local Ray of 2 CPUs for the session (workers see their own ESCO_HOME), shut down after."""
    ray = pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray-home")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"ESCO_HOME": str(home), "HF_HUB_OFFLINE": "1"}},
    )
    yield ray
    ray.shutdown()
