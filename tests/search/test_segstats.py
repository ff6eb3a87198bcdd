"""Per-segment term counts and field lengths: equal to reading the segments directly, read
once per segment, and a commit reads only the segments it wrote."""
from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from whoosh import index

from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from indexer.schema import TEXT_FIELDS
from search.engine import Engine, SearchRequest
from search.fastrank import FastRanker
from search.postings import PostingCache
from search.segstats import KINDS, SegmentStats
from search.vocab import Vocabulary
from tests.search.conftest import DANTRI


def _articles(start: int, stop: int) -> list[Article]:
    if not DANTRI.exists():
        pytest.skip(f"{DANTRI} not present")
    with gzip.open(DANTRI, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, start, stop)]
    return [Article(id=d["id"], title=d["title"] or "", body=d["body"] or "",
                    categories=[d["category"]] if d.get("category") else []) for d in rows]


def _build(path: Path, articles: list[Article], batch: int) -> None:
    index_articles(articles, path, BuildOptions(batch_size=batch, workers=1, progress="quiet"))


@pytest.fixture()
def three_segments(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    _build(path, _articles(0, 90), 30)
    return path


def _leaves(path: Path):  # noqa: ANN202
    s = index.open_dir(str(path)).searcher()
    return s, [leaf for leaf, _ in s.reader().leaf_readers()]


def test_counts_and_lengths_are_the_segments_own(three_segments: Path) -> None:
    s, leaves = _leaves(three_segments)
    try:
        assert len(leaves) == 3
        stats = SegmentStats()
        for leaf in leaves:
            for field, kind in [("body", "syllables"), ("title", "alpha"), ("title_w", "words")]:
                direct = {t.decode(): i.doc_frequency() for t, i in leaf.iter_field(field)
                          if KINDS[kind](t.decode())}
                assert direct and stats.counts(leaf, field, kind) == direct
            lengths = stats.lengths(leaf, "body")
            assert not lengths.flags.writeable
            expected = [leaf.doc_field_length(i, "body", 0) for i in range(leaf.doc_count_all())]
            assert np.array_equal(lengths, np.array(expected, dtype=np.float64))
        assert stats.counts(leaves[0], "no_such_field", "alpha") == {}
    finally:
        s.close()


def test_a_segment_is_read_once(three_segments: Path) -> None:
    s, leaves = _leaves(three_segments)
    try:
        stats = SegmentStats()
        first = stats.counts(leaves[0], "body", "syllables")
        assert stats.counts(leaves[0], "body", "syllables") is first
        assert (stats.hits, stats.misses) == (1, 1)
        assert stats.nbytes > 0
        nothing = SegmentStats(0)  # no budget: read every time, keep nothing
        assert nothing.counts(leaves[0], "body", "syllables") == first
        assert nothing.nbytes == 0
    finally:
        s.close()


def test_vocabulary_and_ranking_from_cached_segments_equal_uncached(three_segments: Path) -> None:
    s, _ = _leaves(three_segments)
    try:
        stats = SegmentStats()
        cached, plain = Vocabulary(s, stats), Vocabulary(s)
        for word in ("huyen", "viet", "nam", "the", "thao"):
            assert cached.accented(word) == plain.accented(word)
        for term in ("việt", "nam", "2014", "bóng"):
            assert cached.syllable_df(term) == plain.syllable_df(term)
        assert cached.completions("vi", 20) == plain.completions("vi", 20)
        postings = PostingCache().view(s.reader())
        a, b = FastRanker(s, postings, stats=stats), FastRanker(s, postings)
        for field in TEXT_FIELDS:
            assert np.array_equal(a._field_lengths(field), b._field_lengths(field))  # noqa: SLF001
    finally:
        s.close()


def test_a_commit_reads_only_the_segments_it_wrote(three_segments: Path) -> None:
    engine = Engine(three_segments)
    try:
        assert engine.search(SearchRequest(q="viet nam")).total > 0  # restores accents: vocabulary
        engine.suggest("vi")
        stats = engine._stats  # noqa: SLF001
        read_before = stats.misses
        _build(three_segments, _articles(90, 120), 30)  # one more segment
        assert engine.refresh()
        after = engine.search(SearchRequest(q="viet nam"))
        engine.suggest("vi")
        new_reads = stats.misses - read_before
        # the same search and suggestion read, of the new segment, what they read of each
        # of the three before it (its syllable tables, title tables, field lengths), and
        # nothing of the old three
        assert read_before > 0 and read_before % 3 == 0
        assert new_reads == read_before // 3
        fresh = Engine(three_segments, settings=engine.settings)
        try:
            expected = fresh.search(SearchRequest(q="viet nam"))
            assert [h.id for h in after.hits] == [h.id for h in expected.hits]
            assert [h.score for h in after.hits] == [h.score for h in expected.hits]
            assert engine.suggest("vi") == fresh.suggest("vi")
        finally:
            fresh.close()
    finally:
        engine.close()
