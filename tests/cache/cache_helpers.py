"""Helpers shared by the cache tests: the mini taxonomy's folder, damage and a planted pickle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MINI = Path(__file__).parents[1] / "data" / "esco_mini"


def _damage_flip(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-7] ^= 0x40
    file.write_bytes(bytes(data))


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))
