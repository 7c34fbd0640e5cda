from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor.cache.recipe import VIEW_BLOB, VIEW_LABEL, ViewTable
from esco_skill_extractor.extraction import lexical
from esco_skill_extractor.extraction.lexical import VerbatimMatcher, terms
from esco_skill_extractor.extraction.lexical_cache import lexical_index
from esco_skill_extractor.extraction.matching import ConceptIndex

LABELS = [
    (0, "Java (computer programming)"),
    (0, "Java"),
    (1, "manage staff"),
    (1, "staff management"),
    (2, "use Microsoft Office"),
    (3, "Java"),
]
TEXT = "We manage staff and write Java; Microsoft Office is a plus."


def build(labels: list[tuple[int, str]], cache: Path | None) -> ConceptIndex:
    owners, kinds, texts = [], [], []
    for concept in range(max(o for o, _ in labels) + 1):
        for owner, label in labels:
            if owner == concept:
                owners.append(concept)
                kinds.append(VIEW_LABEL)
                texts.append(label)
        owners.append(concept)
        kinds.append(VIEW_BLOB)
        texts.append(f"blob {concept}")
    table = ViewTable(
        tuple(f"uri:{i}" for i in range(max(owners) + 1)),
        tuple(texts),
        np.asarray(owners, dtype=np.int32),
        np.asarray(kinds, dtype=np.int8),
    )
    vectors = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float16)
    lexical = lexical_index(len(table.uris), labels, bare_variants=True, root=cache)
    return ConceptIndex(table, vectors, labels, lexical=lexical)


def signals(index: ConceptIndex) -> tuple[list[tuple[int, int, int, str]], np.ndarray]:
    hits = sorted((h.owner, h.start, h.end, h.label) for h in index.verbatim.find(TEXT))
    return hits, index.bm25.scores(terms(TEXT))


def test_indexes_are_saved_once_and_loaded_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build(LABELS, tmp_path)
    saved = list(tmp_path.iterdir())
    assert len(saved) == 1 and {p.name for p in saved[0].iterdir()} == {"index.json", "bm25.npz"}

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt instead of loaded")

    monkeypatch.setattr(VerbatimMatcher, "__init__", no_build)
    loaded = build(LABELS, tmp_path)
    want_hits, want_bm25 = signals(built)
    got_hits, got_bm25 = signals(loaded)
    assert got_hits == want_hits and (3, 26, 30, "Java") in got_hits
    np.testing.assert_array_equal(got_bm25, want_bm25)
    assert want_bm25.max() > 0


def test_other_labels_or_code_get_another_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(LABELS, tmp_path)
    build([*LABELS, (3, "write code")], tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    source = tmp_path / "lexical.py"
    source.write_text(Path(lexical.__file__).read_text(encoding="utf-8") + "\n# changed\n")
    monkeypatch.setattr(lexical, "__file__", str(source))
    build(LABELS, tmp_path)
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3


def test_a_damaged_index_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    want = signals(build(LABELS, tmp_path))
    folder = next(tmp_path.iterdir())
    (folder / "index.json").write_text('{"vocabulary": [1, 2', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        again = build(LABELS, tmp_path)
    assert "unreadable lexical index" in caplog.text
    assert signals(again)[0] == want[0]


def test_a_state_that_does_not_fit_the_labels_is_refused() -> None:
    state = VerbatimMatcher(LABELS).state()
    assert VerbatimMatcher.from_state(LABELS, state).find(TEXT)
    with pytest.raises(ValueError, match="does not fit"):
        VerbatimMatcher.from_state(LABELS[:2], state)
