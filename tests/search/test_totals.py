"""A generation's vocabulary sums, updated from the previous generation's: always equal to
adding every segment up anew, and a commit updates instead of counting anew."""
from __future__ import annotations

from pathlib import Path

import pytest

from search import totals
from search.engine import Engine, SearchRequest
from search.segstats import SegmentStats
from tests.search.segment_fixtures import build, dantri_articles, open_leaves

# the two sums: syllables (accent restoration, did-you-mean) and title completions
SUMS = {"syllables": totals.syllable_totals, "titles": totals.title_table}


def _same(a, b) -> None:  # noqa: ANN001 - two SyllableTotals or two TitleTables
    assert a.counts == b.counts
    if isinstance(a, totals.SyllableTotals):
        assert a.by_fold == b.by_fold and a.total == sum(a.df.values())
    else:
        assert a.entries == b.entries and a.keys == b.keys == sorted(b.keys)


def _four_segments(tmp_path: Path) -> Path:
    path = tmp_path / "four"
    build(path, dantri_articles(0, 120), 30)
    return path


@pytest.mark.parametrize("kind", SUMS)
def test_updated_from_the_previous_generation_equals_a_full_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    make = SUMS[kind]
    with open_leaves(_four_segments(tmp_path)) as (s, leaves):
        assert len(leaves) == 4
        stats = SegmentStats()
        three = make(leaves[:3], stats)
        four = make(leaves, stats)
        full = totals._full  # noqa: SLF001

        def no_full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise AssertionError("added up anew instead of updating")

        monkeypatch.setattr(totals, "_full", no_full)
        added = make(leaves, stats, base=three)  # a commit wrote one segment
        removed = make(leaves[:3], stats, base=four)  # one merged away
        assert make(leaves, stats, base=four) is four  # nothing changed
        monkeypatch.setattr(totals, "_full", full)
        _same(added, four)
        _same(removed, three)
        _same(removed, make(leaves[:3], SegmentStats()))
        assert set(four.counts.df) - set(three.counts.df)  # the fourth segment brought terms of its own
        if kind == "syllables":
            assert any(len(v) > 1 for v in four.by_fold.values())  # accent variants are ranked
        else:
            assert any(" " in c.text for c in four.entries)  # title words ("huyện ủy") as well
            assert len({c.key for c in four.entries}) < len(four.entries)  # accent variants share a key


@pytest.mark.parametrize("kind", SUMS)
def test_counted_anew_when_most_segments_changed_or_a_table_was_evicted(tmp_path: Path, kind: str) -> None:
    make = SUMS[kind]
    with open_leaves(_four_segments(tmp_path)) as (s, leaves):
        stats = SegmentStats()
        one = make(leaves[:1], stats)
        _same(make(leaves, stats, base=one), make(leaves, SegmentStats()))
        tiny = SegmentStats(1)  # keeps nothing: the gone segment's tables cannot be subtracted
        four = make(leaves, tiny)
        _same(make(leaves[:3], tiny, base=four), make(leaves[:3], SegmentStats()))


def test_a_commit_updates_the_vocabulary_instead_of_counting_anew(
        three_segments: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(three_segments)
    try:
        engine.search(SearchRequest(q="viet nam"))  # builds the syllable totals: one full count
        engine.suggest("vi")  # and the title completions
        counts = []
        full = totals._full  # noqa: SLF001
        monkeypatch.setattr(totals, "_full", lambda *a: counts.append(1) or full(*a))
        build(three_segments, dantri_articles(90, 120), 30)
        assert engine.refresh()
        after = engine.search(SearchRequest(q="viet nam"))
        suggested = engine.suggest("vi")
        assert counts == []  # both updated from the previous generation's
        fresh = Engine(three_segments, settings=engine.settings)
        try:
            expected = fresh.search(SearchRequest(q="viet nam"))
            assert fresh.suggest("vi") == suggested
            assert counts == [1, 1]
            assert [(h.id, h.score) for h in after.hits] == [(h.id, h.score) for h in expected.hits]
            with engine._use() as a, fresh._use() as b:  # noqa: SLF001
                mine, theirs = a.vocab.state(), b.vocab.state()
                _same(mine.syllables, theirs.syllables)
                _same(mine.titles, theirs.titles)
        finally:
            fresh.close()
    finally:
        engine.close()


def test_a_generation_that_never_built_its_sums_passes_on_the_previous_ones(three_segments: Path) -> None:
    engine = Engine(three_segments)
    try:
        engine.suggest("vi")
        with engine._use() as g:  # noqa: SLF001
            built = g.vocab.state()
        assert built.titles is not None
        build(three_segments, dantri_articles(90, 100), 10)
        assert engine.refresh()  # nothing asked of the new generation yet
        with engine._use() as g:  # noqa: SLF001
            assert g.vocab.state().titles is built.titles
    finally:
        engine.close()
