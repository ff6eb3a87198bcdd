"""Per-segment term counts and field lengths: equal to reading the segments directly, read
once per segment, and a commit reads only the segments it wrote."""
from __future__ import annotations

import contextlib
import gzip
import itertools
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from whoosh import index
from whoosh.searching import Searcher

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


@contextlib.contextmanager
def _leaves(path: Path) -> Iterator[tuple[Searcher, list]]:
    """A searcher on the index at `path` and its segments' readers, closed afterwards."""
    s = index.open_dir(str(path)).searcher()
    try:
        yield s, [leaf for leaf, _ in s.reader().leaf_readers()]
    finally:
        s.close()


def test_counts_and_lengths_are_the_segments_own(three_segments: Path) -> None:
    with _leaves(three_segments) as (s, leaves):
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
    with _leaves(three_segments) as (s, leaves):
        stats = SegmentStats()
        first = stats.counts(leaves[0], "body", "syllables")
        assert stats.counts(leaves[0], "body", "syllables") is first
        assert (stats.hits, stats.misses) == (1, 1)
        assert stats.nbytes > 0
        nothing = SegmentStats(0)  # no budget: read every time, keep nothing
        assert nothing.counts(leaves[0], "body", "syllables") == first
        assert nothing.nbytes == 0


def test_vocabulary_and_ranking_from_cached_segments_equal_uncached(three_segments: Path) -> None:
    with _leaves(three_segments) as (s, _):
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


def _four_segments(tmp_path: Path) -> Path:
    path = tmp_path / "four"
    _build(path, _articles(0, 120), 30)
    return path


def _same(a, b) -> None:  # noqa: ANN001 - two SyllableTotals
    assert a.segments == b.segments and a.total == b.total
    assert a.df == b.df and a.by_fold == b.by_fold


def test_totals_updated_from_the_previous_generation_equal_a_full_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from search import vocab

    with _leaves(_four_segments(tmp_path)) as (s, leaves):
        assert len(leaves) == 4
        stats = SegmentStats()
        three = vocab.syllable_totals(leaves[:3], stats)
        four = vocab.syllable_totals(leaves, stats)
        full = vocab._full  # noqa: SLF001

        def no_full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise AssertionError("added up anew instead of updating")

        monkeypatch.setattr(vocab, "_full", no_full)
        added = vocab.syllable_totals(leaves, stats, base=three)  # a commit wrote one segment
        removed = vocab.syllable_totals(leaves[:3], stats, base=four)  # one merged away
        assert vocab.syllable_totals(leaves, stats, base=four) is four  # nothing changed
        monkeypatch.setattr(vocab, "_full", full)
        _same(added, four)
        _same(removed, three)
        _same(removed, vocab.syllable_totals(leaves[:3], SegmentStats()))
        assert any(len(v) > 1 for v in four.by_fold.values())  # accent variants are ranked
        assert set(four.df) - set(three.df)  # the fourth segment brought syllables of its own


def test_totals_count_anew_when_most_segments_changed_or_a_table_was_evicted(tmp_path: Path) -> None:
    from search import vocab

    with _leaves(_four_segments(tmp_path)) as (s, leaves):
        stats = SegmentStats()
        one = vocab.syllable_totals(leaves[:1], stats)
        _same(vocab.syllable_totals(leaves, stats, base=one), vocab.syllable_totals(leaves, SegmentStats()))
        tiny = SegmentStats(1)  # keeps nothing: the gone segment's tables cannot be subtracted
        four = vocab.syllable_totals(leaves, tiny)
        _same(vocab.syllable_totals(leaves[:3], tiny, base=four),
              vocab.syllable_totals(leaves[:3], SegmentStats()))


def test_a_commit_updates_the_vocabulary_instead_of_counting_anew(
        three_segments: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from search import vocab

    engine = Engine(three_segments)
    try:
        engine.search(SearchRequest(q="viet nam"))  # builds the vocabulary: one full count
        counts = []
        full = vocab._full  # noqa: SLF001
        monkeypatch.setattr(vocab, "_full", lambda *a: counts.append(1) or full(*a))
        _build(three_segments, _articles(90, 120), 30)
        assert engine.refresh()
        after = engine.search(SearchRequest(q="viet nam"))
        assert counts == []  # updated from the previous generation's totals
        fresh = Engine(three_segments, settings=engine.settings)
        try:
            expected = fresh.search(SearchRequest(q="viet nam"))
            assert counts == [1]
            assert [(h.id, h.score) for h in after.hits] == [(h.id, h.score) for h in expected.hits]
            with engine._use() as a, fresh._use() as b:  # noqa: SLF001
                _same(a.vocab.totals(), b.vocab.totals())
        finally:
            fresh.close()
    finally:
        engine.close()
