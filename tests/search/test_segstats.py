"""Per-segment term counts and field lengths: equal to reading the segments directly, read
once per segment, and a commit reads only the segments it wrote."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.schema import TEXT_FIELDS
from search.engine import Engine, SearchRequest
from search.fastrank import FastRanker
from search.postings import PostingCache
from search.segstats import KINDS, SegmentStats
from search.vocab import Vocabulary
from tests.search.segment_fixtures import build, dantri_articles, open_leaves


def test_counts_and_lengths_are_the_segments_own(three_segments: Path) -> None:
    with open_leaves(three_segments) as (s, leaves):
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


def test_a_segment_is_read_once(three_segments: Path) -> None:
    with open_leaves(three_segments) as (s, leaves):
        stats = SegmentStats()
        first = stats.counts(leaves[0], "body", "syllables")
        assert stats.counts(leaves[0], "body", "syllables") is first
        assert (stats.hits, stats.misses) == (1, 1)
        assert stats.nbytes > 0
        nothing = SegmentStats(0)  # no budget: read every time, keep nothing
        assert nothing.counts(leaves[0], "body", "syllables") == first
        assert nothing.nbytes == 0


def test_vocabulary_and_ranking_from_cached_segments_equal_uncached(three_segments: Path) -> None:
    with open_leaves(three_segments) as (s, _):
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


def test_a_commit_reads_only_the_segments_it_wrote(three_segments: Path) -> None:
    engine = Engine(three_segments)
    try:
        assert engine.search(SearchRequest(q="viet nam")).total > 0  # restores accents: vocabulary
        engine.suggest("vi")
        stats = engine._stats  # noqa: SLF001
        read_before = stats.misses
        build(three_segments, dantri_articles(90, 120), 30)  # one more segment
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
