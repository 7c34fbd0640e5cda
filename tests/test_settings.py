"""Settings: the environment, the defaults of the contract, caching, and documentation of
every field."""

from __future__ import annotations

import pytest

from esco_skill_extractor.settings import Settings, get_settings


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCO_PORT", "9100")
    monkeypatch.setenv("ESCO_SKILLS_THRESHOLD", "0.7")
    monkeypatch.setenv("ESCO_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("ESCO_CORS_HEADERS", '["content-type", "x-custom"]')
    settings = Settings()
    assert settings.port == 9100 and settings.skills_threshold == 0.7
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.cors_headers == ["content-type", "x-custom"]
    assert Settings(_env_prefix="NOPE_").port == 9000  # type: ignore[call-arg]
    monkeypatch.setenv("ESCO_SKILLS_THRESHOLD", "1.5")
    with pytest.raises(ValueError, match="skills_threshold"):
        Settings()


def test_settings_defaults_match_the_contract() -> None:
    settings = Settings()
    assert (settings.port, settings.max_text_chars) == (9000, 100_000)
    assert settings.cors_origins == ["http://localhost:3000", "http://127.0.0.1:3000"]
    assert settings.cors_headers == ["Authorization", "Content-Type", "skip_zrok_interstitial"]
    assert settings.api_keys == [] and settings.rate_limit is None
    assert settings.cors_methods == ["GET", "POST", "OPTIONS"]


def test_get_settings_is_cached() -> None:
    get_settings.cache_clear()
    assert get_settings() is get_settings()
    get_settings.cache_clear()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert Settings.model_fields[name].description
