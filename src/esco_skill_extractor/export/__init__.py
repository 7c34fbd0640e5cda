"""Exports for other runtimes: a folder that a JavaScript client (transformers.js on Node)
loads to embed texts and search ESCO exactly as this library does, with a parity set that
proves it.

Modules, lowest first: ``parity`` (pure: the parity texts and the search), ``folder``
(the layout, the manifest, and the checks that read a folder) and ``writer`` (writes one).
"""

from __future__ import annotations

from .folder import FORMAT_VERSION, ExportInfo, read_export
from .parity import ParityText, parity_texts, top_concepts
from .writer import ExportSummary, write_export

__all__ = [
    "FORMAT_VERSION",
    "ExportInfo",
    "ExportSummary",
    "ParityText",
    "parity_texts",
    "read_export",
    "top_concepts",
    "write_export",
]
