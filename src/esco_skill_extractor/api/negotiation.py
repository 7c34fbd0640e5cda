"""Content negotiation for ``GET /``: a browser gets the web page, API clients JSON (pure).

It lives in the API package because ``GET /`` is an API route; the web page imports
:data:`PAGE_PATH` from here (the web layer sits above the API, never below).
"""

from __future__ import annotations

__all__ = ["PAGE_PATH", "prefers_html"]

#: Where the web page lives.
PAGE_PATH = "/ui"


def _ranges(accept: str) -> list[tuple[str, float]]:
    """``text/html;q=0.9, */*`` -> ``[("text/html", 0.9), ("*/*", 1.0)]``."""
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The quality the most specific matching range gives ``media_type`` (RFC 9110 12.5.1)."""
    kind = media_type.split("/", 1)[0]
    specificity = {media_type: 3, f"{kind}/*": 2, "*/*": 1}
    best, rank = 0.0, 0
    for media, quality in ranges:
        if specificity.get(media, 0) > rank:
            best, rank = quality, specificity[media]
    return best


def prefers_html(accept: str | None) -> bool:
    """Whether an Accept header ranks text/html strictly above JSON.

    A browser navigating sends ``text/html,...,*/*;q=0.8``: True. curl, httpx, fetch and
    the Next.js front end send ``*/*`` or ``application/json`` (or nothing): False, so
    they keep getting JSON; a tie goes to JSON.

    Example:
        >>> prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        True
        >>> prefers_html("*/*")
        False
    """
    if not accept:
        return False
    ranges = _ranges(accept)
    return _quality(ranges, "text/html") > _quality(ranges, "application/json")
