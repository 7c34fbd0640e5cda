from __future__ import annotations

import esco_skill_extractor


def test_public_api_is_pinned() -> None:
    assert esco_skill_extractor.__all__ == sorted(esco_skill_extractor.__all__)
    assert esco_skill_extractor.__all__ == [
        "EscoError",
        "Evidence",
        "Extraction",
        "MatchConfig",
        "Occupation",
        "OccupationMatch",
        "SearchHit",
        "Skill",
        "SkillExtractor",
        "SkillMatch",
        "Taxonomy",
        "__version__",
        "load_taxonomy",
    ]
    for name in esco_skill_extractor.__all__:
        assert hasattr(esco_skill_extractor, name)
