"""Checks of what callers pass in: texts and thresholds, as one-line :class:`InputError` s."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import InputError

__all__ = ["check_texts", "check_thresholds", "threshold"]


def threshold(value: float, name: str) -> float:
    """``value`` as a float, when it is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InputError(f"{name} threshold must be a number in [0, 1], not {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{name} threshold must be in [0, 1], not {value}")
    return float(value)


def check_thresholds(skills: float | None, occupations: float | None) -> None:
    """Raise :class:`InputError` for a given threshold outside [0, 1] (``None``: the default)."""
    for value, name in ((skills, "skills"), (occupations, "occupations")):
        if value is not None:
            threshold(value, name)


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, when it is a sequence of strings (not one string)."""
    if isinstance(texts, str):
        raise InputError("expected a list of texts, not one string (wrap it in a list)")
    try:
        items = list(texts)
    except TypeError:
        raise InputError(f"expected a list of texts, not {type(texts).__name__}") from None
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise InputError(f"text {position} is {type(text).__name__}, expected a string")
    return items
