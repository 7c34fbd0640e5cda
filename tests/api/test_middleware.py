"""CORS for the front ends and the Prometheus metrics at /metrics."""

from __future__ import annotations

from api_helpers import PYTHON_ID, client_with
from fastapi.testclient import TestClient
from fixtures_api import JOB_AD

from esco_skill_extractor import SkillExtractor

# -- CORS ---------------------------------------------------------------------------------------
FRONT_END = "http://localhost:3000"  # the BGE-M3 fork's Next.js front end


def test_cors_preflight_with_the_front_ends_custom_header(client: TestClient) -> None:
    response = client.options(
        "/extract-rich",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,skip_zrok_interstitial,authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "skip_zrok_interstitial" in allowed and "authorization" in allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    simple = client.post(
        "/extract-basic", json={"text": "Cook"}, headers={"Origin": FRONT_END, "skip_zrok_interstitial": "1"}
    )
    assert simple.headers["access-control-allow-origin"] == FRONT_END
    error = client.post("/extract-basic", json={}, headers={"Origin": FRONT_END})
    assert error.status_code == 422 and error.headers["access-control-allow-origin"] == FRONT_END


def test_cors_refuses_other_origins_by_default(client: TestClient) -> None:
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    assert client.options("/extract-rich", headers=preflight).status_code == 400
    simple = client.post(
        "/extract-basic", json={"text": "Cook"}, headers={"Origin": "https://elsewhere.example"}
    )
    assert "access-control-allow-origin" not in simple.headers


def test_cors_any_origin_when_configured(extractor: SkillExtractor) -> None:
    client = client_with(extractor, cors_origins=["*"])
    response = client.post("/extract-basic", json={"text": "Cook"}, headers={"Origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_is_configurable(extractor: SkillExtractor) -> None:
    client = client_with(extractor, cors_origins=["https://only.example"], cors_headers=["content-type"])
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "skip_zrok_interstitial",
    }
    denied = client.options("/extract-rich", headers={"Origin": "http://localhost:3000", **preflight})
    assert denied.status_code == 400
    allowed = client.options(
        "/extract-rich",
        headers={
            "Origin": "https://only.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://only.example"


# -- metrics ------------------------------------------------------------------------------------
def test_metrics(client: TestClient) -> None:
    client.post("/extract-rich", json={"text": JOB_AD})
    client.post("/extract-rich", json={"text": "x", "max_results": 0})
    client.get(f"/skills/{PYTHON_ID}")
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'esco_http_requests_total{method="POST",route="/extract-rich",status="200"} 1.0' in text
    assert 'esco_http_errors_total{method="POST",route="/extract-rich",status="422"} 1.0' in text
    assert 'route="/skills/{uri}"' in text and 'route="unmatched"' in text
    assert 'esco_http_request_duration_seconds_bucket{le="0.5",method="POST"' in text
    assert 'esco_model_seconds_count{operation="extract"} 1.0' in text
    assert 'esco_texts_processed_total{operation="extract"} 1.0' in text
    assert 'esco_segments_processed_total{operation="extract"} 4.0' in text
    assert "esco_model_ready 1.0" in text
    assert "process_resident_memory_bytes" in text
    assert 'esco_info{device="cpu",model="fake"' in text


def test_each_app_has_its_own_registry(extractor: SkillExtractor) -> None:
    first, second = client_with(extractor), client_with(extractor)
    first.get("/")
    assert 'route="/"' not in second.get("/metrics").text.split("esco_http_requests_total")[1]
