"""Access for a shared deployment: API keys (401), rate limits (429), /metrics behind a key."""

from __future__ import annotations

import logging

import pytest
from api_helpers import PDF, assert_error, client_with, upload
from fixtures_api import JOB_AD

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.settings import Settings

KEY = "k-0123456789abcdef"
OTHER = "k-second-key"
BEARER = {"Authorization": f"Bearer {KEY}"}


def test_without_keys_everything_is_open(extractor: SkillExtractor) -> None:
    client = client_with(extractor)
    assert client.post("/extract-basic", json={"text": JOB_AD}).status_code == 200
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/extract-rich", {"text": JOB_AD}),
        ("POST", "/extract-basic", {"text": JOB_AD}),
        ("POST", "/extract", {"texts": [JOB_AD]}),
        ("POST", "/extract-skills", [JOB_AD]),
        ("POST", "/extract-occupations", [JOB_AD]),
        ("GET", "/search/skills?query=python", None),
        ("GET", "/categories", None),
        ("GET", "/metrics", None),
    ],
)
def test_keys_guard_the_api(extractor: SkillExtractor, method: str, path: str, body: object) -> None:
    client = client_with(extractor, api_keys=[KEY, OTHER])
    missing = client.request(method, path, json=body)
    assert_error(missing, 401, "Authorization: Bearer")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for header in (
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": KEY},
    ):
        response = client.request(method, path, json=body, headers=header)
        assert response.status_code == 401, response.text
        assert KEY not in response.text
    for key in (KEY, OTHER):
        ok = client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200, ok.text


def test_uploads_need_a_key_too(extractor: SkillExtractor) -> None:
    client = client_with(extractor, api_keys=[KEY])
    assert_error(upload(client, PDF), 401, "key")
    client.headers.update(BEARER)
    assert upload(client, PDF).status_code == 200


@pytest.mark.parametrize("path", ["/", "/health", "/ui", "/docs", "/redoc", "/openapi.json"])
def test_open_paths_need_no_key(extractor: SkillExtractor, path: str) -> None:
    client = client_with(extractor, api_keys=[KEY])
    assert client.get(path, headers={"Accept": "application/json"}).status_code == 200


def test_page_assets_and_cors_preflight_need_no_key(extractor: SkillExtractor) -> None:
    client = client_with(extractor, api_keys=[KEY])
    page = client.get("/ui").text
    assert '"auth_required": true' in page
    assert client.get("/ui/static/app.js").status_code == 200
    preflight = client.options(
        "/extract-rich",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,skip_zrok_interstitial",
        },
    )
    assert preflight.status_code == 200
    refused = client.post("/extract-rich", json={"text": "x"}, headers={"Origin": "http://localhost:3000"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_metrics_public_option(extractor: SkillExtractor) -> None:
    client = client_with(extractor, api_keys=[KEY], metrics_public=True)
    assert client.get("/metrics").status_code == 200
    assert client.post("/extract-basic", json={"text": "x"}).status_code == 401


def test_keys_are_never_logged_or_shown(extractor: SkillExtractor, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(api_keys=[KEY])
    assert KEY not in repr(settings) and KEY not in str(settings)
    client = client_with(extractor, api_keys=[KEY])
    with caplog.at_level(logging.DEBUG):
        client.post("/extract-basic", json={"text": "x"}, headers={"Authorization": "Bearer nope-123"})
        client.post("/extract-basic", json={"text": "x"}, headers=BEARER)
        metrics = client.get("/metrics", headers=BEARER).text
    assert KEY not in caplog.text and "nope-123" not in caplog.text
    assert KEY not in metrics
    assert 'esco_http_errors_total{method="POST",route="unmatched",status="401"} 1.0' in metrics


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCO_API_KEYS", f" {KEY} , {OTHER},")
    assert Settings().api_keys == [KEY, OTHER]


def test_rate_limit_per_key(extractor: SkillExtractor) -> None:
    client = client_with(extractor, api_keys=[KEY, OTHER], rate_limit="3/minute")
    for _ in range(3):
        assert client.post("/extract-basic", json={"text": "x"}, headers=BEARER).status_code == 200
    refused = client.post("/extract-basic", json={"text": "x"}, headers=BEARER)
    assert_error(refused, 429, "3 per 1 minute", "ESCO_RATE_LIMIT")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # another key has its own budget; open paths are never counted
    assert (
        client.post(
            "/extract-basic", json={"text": "x"}, headers={"Authorization": f"Bearer {OTHER}"}
        ).status_code
        == 200
    )
    assert client.get("/health").status_code == 200


def test_rate_limit_per_client_without_keys(extractor: SkillExtractor) -> None:
    client = client_with(extractor, rate_limit="2/second;3/minute")
    statuses = [client.get("/categories").status_code for _ in range(5)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429


def test_bad_rate_limit_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        Settings(rate_limit="lots")
