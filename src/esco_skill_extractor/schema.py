"""The Arrow types of extraction records, shared by Parquet output and Ray datasets.

A record's ``skills`` and ``occupations`` are lists of structs with the fields of
:class:`~esco_skill_extractor.types.SkillMatch` and
:class:`~esco_skill_extractor.types.OccupationMatch` (``to_dict()``), so that Parquet files
written by the CLI and datasets returned by :func:`~esco_skill_extractor.cluster.extract_dataset`
have one schema. pyarrow is imported when a type is asked for, never at import time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["occupations_type", "skills_type"]


def _evidence(pa: Any) -> Any:
    return pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())]))


def skills_type() -> Any:
    """``list<struct>`` of :class:`~esco_skill_extractor.types.SkillMatch` fields."""
    import pyarrow as pa  # type: ignore[import-untyped]

    return pa.list_(
        pa.struct(
            [
                ("uri", pa.string()),
                ("label", pa.string()),
                ("score", pa.float64()),
                ("skill_type", pa.string()),
                ("reuse_level", pa.string()),
                ("collections", pa.list_(pa.string())),
                ("evidence", _evidence(pa)),
                ("matched_label", pa.string()),
            ]
        )
    )


def occupations_type() -> Any:
    """``list<struct>`` of :class:`~esco_skill_extractor.types.OccupationMatch` fields."""
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("uri", pa.string()),
                ("label", pa.string()),
                ("score", pa.float64()),
                ("isco_code", pa.string()),
                ("source", pa.string()),
                ("evidence", _evidence(pa)),
                ("text_score", pa.float64()),
                ("skills_score", pa.float64()),
                ("essential_skills_found", pa.list_(pa.string())),
                ("optional_skills_found", pa.list_(pa.string())),
                ("essential_skills_total", pa.int64()),
                ("optional_skills_total", pa.int64()),
            ]
        )
    )
