"""The lexical indexes of a concept kind, saved so that start-up need not rebuild them.

Building the verbatim-label index and BM25 over 100k labels takes about a second, on
every start; loading them back takes a fraction of that. A saved index lives in
``<cache>/lexical/<key>/`` (``index.json`` and ``bm25.npz``; JSON and
``np.load(allow_pickle=False)`` only, nothing pickled). The key digests the labels, the
options and the source of :mod:`.lexical` itself, so any change to either gives another
key and a stale index is never read. Writes are atomic (a temporary folder, renamed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import lexical
from .lexical import BM25, PRIMARY_LANGUAGE, LexicalIndex, VerbatimMatcher, build_lexical

__all__ = ["lexical_index", "lexical_key", "load_lexical", "save_lexical"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def lexical_key(
    labels: Sequence[tuple[int, str]], *, bare_variants: bool, language: str = PRIMARY_LANGUAGE
) -> str:
    """A digest of everything the indexes are built from."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{bare_variants}\0{language}\0".encode())
    digest.update(Path(lexical.__file__).read_bytes())
    for owner, label in labels:
        digest.update(f"{owner}\0{label}\n".encode())
    return digest.hexdigest()[:24]


def lexical_index(
    size: int,
    labels: Sequence[tuple[int, str]],
    *,
    bare_variants: bool,
    root: Path | None,
    language: str = PRIMARY_LANGUAGE,
) -> LexicalIndex:
    """The lexical indexes over ``labels`` (in ``language``): loaded from ``root`` when saved
    there, else built (and saved there); ``root=None`` always builds them in memory."""
    if root is None:
        return build_lexical(size, labels, bare_variants=bare_variants, language=language)
    folder = root / lexical_key(labels, bare_variants=bare_variants, language=language)
    saved = load_lexical(folder, labels, language)
    if saved is not None:
        return saved
    built = build_lexical(size, labels, bare_variants=bare_variants, language=language)
    save_lexical(folder, built)
    return built


def load_lexical(
    folder: Path, labels: Sequence[tuple[int, str]], language: str = PRIMARY_LANGUAGE
) -> LexicalIndex | None:
    """The indexes saved in ``folder``; ``None`` when there are none or they are unusable."""
    if not (folder / "index.json").is_file():
        return None
    try:
        saved = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        with np.load(folder / "bm25.npz", allow_pickle=False) as arrays:
            bm25 = BM25.from_state(saved["vocabulary"], {k: arrays[k] for k in arrays.files})
        return LexicalIndex(VerbatimMatcher.from_state(labels, saved["verbatim"], language), bm25, language)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring the unreadable lexical index in %s (%s); rebuilding it", folder, exc)
        return None


def save_lexical(folder: Path, index: LexicalIndex) -> None:
    """Save the indexes into ``folder`` atomically; a failure only costs the next start."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            vocabulary, arrays = index.bm25.state()
            np.savez(temporary / "bm25.npz", **arrays)  # type: ignore[arg-type]
            (temporary / "index.json").write_text(
                json.dumps({"vocabulary": vocabulary, "verbatim": index.verbatim.state()}), encoding="utf-8"
            )
            temporary.rename(folder)
        except OSError:
            if folder.is_dir():  # another process saved the same index first
                return
            raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    except OSError as exc:
        logger.warning("could not save the lexical index in %s: %s", folder, exc)
