"""Which language a text is written in, among the languages whose labels are matched.

Detection uses lingua (offline, statistical, robust on short texts such as "Koch (m/w/d)"),
restricted to the taxonomy's label languages. A text too short or too mixed to tell falls
back to the primary language, whose labels are matched for every text anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["LanguageDetector"]

logger = logging.getLogger(__name__)

_MIN_CONFIDENCE = 0.5  # below this, the fallback language
_SAMPLE_CHARS = 2000  # the start of a long document says its language as well as the whole
# Texts longer than this are read by lingua's low-accuracy mode (trigrams only: 12 MB of
# models instead of 138 MB for four languages, as accurate on sentences); shorter ones, such
# as job titles, by the full models, loaded on the first short text.
_SHORT_CHARS = 120


class LanguageDetector:
    """Detects the language of texts among ``languages``.

    Args:
        languages: ISO 639-1 codes to choose from (those lingua does not know are skipped).
        fallback: The answer when a text is too short or too ambiguous.

    Example:
        >>> LanguageDetector(["en", "de", "fr", "es"], "en").detect("Koch (m/w/d) gesucht")
        'de'
    """

    def __init__(self, languages: Sequence[str], fallback: str) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        self.fallback = fallback
        self._detectors: dict[bool, Any] = {}  # by "low accuracy"
        self._codes: dict[Any, str] = {}
        self._lock = threading.Lock()

    def _build(self, low_accuracy: bool) -> Any:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        known = []
        for code in self.languages:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is None:
                logger.info(
                    "language %r is not known to the detector; its texts read as %s", code, self.fallback
                )
                continue
            language = Language.from_iso_code_639_1(iso)
            known.append(language)
            self._codes[language] = code
        if len(known) < 2:
            return None
        builder = LanguageDetectorBuilder.from_languages(*known)
        return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def detect(self, text: str) -> str:
        """The language of ``text`` (the fallback when it cannot be told)."""
        sample = text[:_SAMPLE_CHARS]
        low_accuracy = len(sample.strip()) > _SHORT_CHARS
        with self._lock:
            if low_accuracy not in self._detectors:
                self._detectors[low_accuracy] = self._build(low_accuracy) or False
            detector = self._detectors[low_accuracy]
        if not detector or sum(ch.isalpha() for ch in sample) < 3:
            return self.fallback
        values = detector.compute_language_confidence_values(sample)
        if not values or values[0].value < _MIN_CONFIDENCE:
            return self.fallback
        return self._codes.get(values[0].language, self.fallback)
