"""The cache key and the texts digest."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest

from esco_skill_extractor.cache import CacheKey, texts_digest


def _key(**changes: Any) -> CacheKey:
    base = CacheKey("m", "r1", "1.2.0", "h" * 64, "en", "labels+blob", "1", "t" * 64)
    return replace(base, **changes)


# -- the key ----------------------------------------------------------------------------------
_CHANGED = {"dtype": "float32", "normalized": False, "backend": "onnx", "format_version": 2}


@pytest.mark.parametrize("part", [f.name for f in fields(CacheKey)])
def test_key_changes_with_each_part(part: str) -> None:
    key = _key()
    other = replace(key, **{part: _CHANGED.get(part, str(getattr(key, part)) + "x")})
    assert other.digest() != key.digest()
    assert list(key.differences(other)) == [part]


def test_key_round_trips_and_validates() -> None:
    key = _key(encode_settings='{"passage_prompt": ""}')
    assert CacheKey.from_dict(key.as_dict()) == key
    assert list(key.as_dict())[0] == "format_version"
    with pytest.raises(ValueError, match="missing"):
        CacheKey.from_dict({k: v for k, v in key.as_dict().items() if k != "dtype"})
    with pytest.raises(ValueError, match="wrong type"):
        CacheKey.from_dict({**key.as_dict(), "normalized": "yes"})
    with pytest.raises(ValueError):
        _key(dtype="int8")  # type: ignore[arg-type]


def test_texts_digest_is_unambiguous() -> None:
    assert texts_digest({"s": ["ab", "c"]}) != texts_digest({"s": ["a", "bc"]})
    assert texts_digest({"s": ["a"]}) != texts_digest({"o": ["a"]})
    assert texts_digest({"s": ["a"], "o": []}) != texts_digest({"s": ["a"]})
    assert texts_digest({"s": ["a"], "o": ["b"]}) == texts_digest({"o": ["b"], "s": ["a"]})
