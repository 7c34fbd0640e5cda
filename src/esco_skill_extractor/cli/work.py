"""One chunk of input records made into output records: read, checked, extracted.

Shared by both engines (and by the Ray engine's Parquet slices, which run on the workers),
so that a record is refused, skipped or extracted the same way wherever it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

from ..extraction import SkillExtractor
from ..types import Extraction
from .corpus import CorpusError, DocumentError, InputRecord, too_long

__all__ = ["Limits", "OnError", "RunOptions", "chunks", "extract_each", "read_chunk"]

logger = logging.getLogger(__name__)

OnError = Literal["skip", "stop"]


@dataclass(frozen=True)
class Limits:
    """What a record may hold (``--max-chars``) and what a bad one does (``--on-error``)."""

    max_chars: int
    on_error: OnError


@dataclass(frozen=True)
class RunOptions:
    """How a batch run extracts, the same on this machine and on Ray.

    Attributes:
        batch_size: Records per chunk (``--batch-size``).
        segment_cache: Sentences each extractor remembers (``--segment-cache``).
        progress: Show a progress bar (``None``: when stderr is a terminal).
        thresholds: ``skills_threshold`` and ``occupation_threshold`` (``None``: the model's).
        options: Options of each ``extract()`` call (``max_results``, ``language``).
        limits: What a record may hold and what a bad one does.
    """

    batch_size: int
    segment_cache: int
    progress: bool | None
    thresholds: Mapping[str, float | None]
    options: Mapping[str, Any]
    limits: Limits


def chunks(records: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    """``records`` in lists of ``size`` (the last may be shorter)."""
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def read_chunk(
    chunk: list[InputRecord], max_chars: int, on_error: OnError = "skip"
) -> tuple[list[str], list[str | None], str | None]:
    """``(texts, errors, stop)``: each record's text, or ``""`` and why it cannot be used.

    With ``on_error="stop"`` the lists end before the first record that cannot be used and
    ``stop`` says why; else ``stop`` is ``None`` and every record has its entry.
    """
    texts: list[str] = []
    errors: list[str | None] = []
    for record in chunk:
        try:
            body = record.read()
            if problem := too_long(body, max_chars):
                raise DocumentError(f"{record.source}: {problem}")
        except DocumentError as exc:
            if on_error == "stop":
                return texts, errors, str(exc)
            texts.append("")
            errors.append(str(exc))
            logger.warning("skipped: %s", exc)
        else:
            texts.append(body)
            errors.append(None)
    return texts, errors, None


def extract_each(
    extractor: SkillExtractor,
    sources: list[str],
    texts: list[str],
    errors: list[str | None],
    options: Mapping[str, Any],
    on_error: OnError,
) -> list[Extraction | None]:
    """The results of ``texts`` (from ``sources``, which name them in messages); when
    extraction fails, each text alone, so that only the record that fails is marked
    (``errors`` is updated) or, with ``stop``, named."""
    try:
        return list(extractor.extract(texts, **options))
    except Exception:  # noqa: BLE001 - narrowed down below, record by record
        if len(texts) == 1:
            raise
    results: list[Extraction | None] = []
    for position, (source, text) in enumerate(zip(sources, texts, strict=True)):
        try:
            [result] = extractor.extract([text], **options)
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the run
            message = f"{source}: extraction failed: {type(exc).__name__}: {exc}"
            if on_error == "stop":
                raise CorpusError(message) from None
            logger.warning("skipped: %s", message)
            errors[position] = message
            results.append(None)
        else:
            results.append(result)
    return results
