"""The library's extract_iter: lazy batches over records, and the segment cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_texts import TEXTS

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.taxonomy import load_taxonomy

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return SkillExtractor(
        embedder=FakeEmbedder(dim=64),
        taxonomy=load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False),
        cache_dir=tmp_path_factory.mktemp("iter"),
        show_progress=False,
    )


def test_extract_iter_records_lazily(extractor: SkillExtractor) -> None:
    consumed: list[int] = []

    def records():  # type: ignore[no-untyped-def]
        for i, text in enumerate(TEXTS):
            consumed.append(i)
            yield {"id": i, "body": text}

    iterator = extractor.extract_iter(records(), batch_size=2, text_key="body", with_input=True)
    record, found = next(iterator)
    assert consumed == [0, 1]  # one batch read, not the whole stream
    assert record["id"] == 0 and PYTHON in {m.uri for m in found.skills}
    rest = list(iterator)
    assert [r["id"] for r, _ in rest] == list(range(1, len(TEXTS)))
    plain = list(extractor.extract_iter(iter(TEXTS[:3]), batch_size=2, max_results=1))
    assert all(len(e.skills) <= 1 for e in plain) and len(plain) == 3


def test_extract_iter_checks_records(extractor: SkillExtractor) -> None:
    from esco_skill_extractor.errors import InputError

    with pytest.raises(InputError, match="no 'text' field"):
        list(extractor.extract_iter([{"body": "x"}]))
    with pytest.raises(InputError, match="batch_size"):
        list(extractor.extract_iter(["x"], batch_size=0))


def test_segment_cache_scores_repeated_sentences_once(esco_mini: Path, tmp_path: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, snapshot=False)
    embedded = {}
    for size in (100, 0):
        embedder = FakeEmbedder(dim=32)
        extractor = SkillExtractor(
            embedder=embedder,
            taxonomy=taxonomy,
            cache_dir=tmp_path,
            show_progress=False,
            segment_cache_size=size,
        )
        before = embedder.texts_embedded
        list(extractor.extract_iter([TEXTS[0]] * 10, batch_size=1))
        embedded[size] = embedder.texts_embedded - before
    assert embedded[0] == 10 * embedded[100]
