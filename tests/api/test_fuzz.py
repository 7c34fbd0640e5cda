"""Fuzzing the HTTP API with schemathesis against its own /openapi.json, on the mini
taxonomy (slow): no input may cause a 5xx or an answer that violates the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_api import fake_extractor
from hypothesis import HealthCheck, settings

from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import checks  # noqa: E402


def _app() -> object:
    import tempfile

    cache = Path(tempfile.mkdtemp(prefix="esco-fuzz-"))
    # small limits, so that the fuzzer reaches them; the model's queue never refuses here
    return create_app(
        Settings(max_text_chars=2_000, max_batch_size=8, max_queue_seconds=3600),
        extractor=fake_extractor(cache),
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())

CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,  # per operation: a few hundred cases in all
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_fuzz(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
