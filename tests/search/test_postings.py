"""Decoded postings equal Whoosh's own matcher, across segments; the cache stays bounded."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from whoosh import index

from indexer.record import Article
from indexer.schema import build_schema, prepare
from search.postings import PositionLists, PostingCache, read_positions, read_postings


def _index(tmp_path: Path):  # noqa: ANN202
    ix = index.create_in(str(tmp_path), build_schema())
    for start in (0, 300, 600):  # three segments, blocks of 128 postings and a partial one
        w = ix.writer()
        for i in range(start, start + 300):
            body = "học tập " * (1 + i % 5) + ("bóng đá" if i % 7 == 0 else "kinh tế")
            w.add_document(**prepare(Article(id=str(i), title=f"Tin {i}", body=body,
                                             date=dt.datetime(2020, 1, 1 + i % 28))))
        w.commit(merge=False)
    w = ix.writer()
    w.delete_by_term("id", "7")
    w.commit(merge=False)
    return ix


def test_read_postings_equals_whoosh_items(tmp_path: Path) -> None:
    ix = _index(tmp_path)
    with ix.searcher() as s:
        r = s.reader()
        assert len(list(r.leaf_readers())) >= 3
        for field, text in [("body", "học"), ("body", "bóng"), ("body_b", "học tập"),
                            ("body_w", "học_tập"), ("title", "tin"), ("body", "không-có")]:
            p = read_postings(r, field, text)
            expect_ids, expect_w = [], []
            for leaf, offset in r.leaf_readers():
                if (field, text) in leaf:
                    m = leaf.postings(field, text)
                    m = getattr(m, "child", m)  # deleted documents included, as documented
                    for d, w in m.items_as("weight"):
                        expect_ids.append(d + offset)
                        expect_w.append(w)
            assert p.ids.tolist() == expect_ids
            assert np.allclose(p.tf, expect_w)
            assert p.ids.dtype == np.int32 and p.tf.dtype == np.float32
        assert len(read_postings(r, "body", "học")) == 900  # deleted doc 7 still in postings


def test_read_positions_equals_whoosh_positions(tmp_path: Path) -> None:
    ix = _index(tmp_path)
    with ix.searcher() as s:
        r = s.reader()
        for field, text in [("body", "học"), ("body", "đá"), ("body_f", "hoc"), ("title", "tin"),
                            ("body", "không-có")]:
            pl = read_positions(r, field, text)
            expect_ids, expect_pos = [], []
            for leaf, offset in r.leaf_readers():
                if (field, text) in leaf:
                    m = leaf.postings(field, text)
                    m = getattr(m, "child", m)
                    for d, poses in m.items_as("positions"):
                        expect_ids.append(d + offset)
                        expect_pos.append(list(poses))
            assert pl.ids.tolist() == expect_ids == read_postings(r, field, text).ids.tolist()
            flat, lens = pl.at(np.arange(len(pl)))
            assert lens.tolist() == [len(p) for p in expect_pos]
            assert flat.tolist() == [x for p in expect_pos for x in p]
        cache = PostingCache()
        for word in ("học", "đá"):
            whole = read_positions(r, "body", word)
            for some in (np.arange(0, len(whole), 7), np.arange(len(whole))):  # across segments
                got = cache.positions_at(r, "body", word, whole.ids[some])
                want = whole.at(some)
                assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
            flat, lens = cache.positions_at(r, "body", word, np.empty(0, dtype=np.int64))
            assert len(flat) == len(lens) == 0
        missing = np.setdiff1d(np.arange(r.doc_count_all()), whole.ids)[:1]  # a document without "đá"
        assert cache.positions_at(r, "body", "đá", np.union1d(whole.ids[:3], missing)) is None
        assert len(cache.get(r, "body", "học")) == 900 and len(cache) == 3  # positions kept apart


def test_cache_hits_and_byte_bound(tmp_path: Path) -> None:
    ix = _index(tmp_path)
    with ix.searcher() as s:
        r = s.reader()
        whole = read_postings(r, "body", "học")
        biggest = max(len(read_postings(leaf, "body", "học")) for leaf, _ in r.leaf_readers())
        per_segment = biggest * 8 + 200
        cache = PostingCache(max_bytes=per_segment * 4)
        a = cache.get(r, "body", "học")
        assert a.ids.tolist() == whole.ids.tolist()
        misses = cache.misses
        assert cache.get(r, "body", "học").ids.tolist() == whole.ids.tolist()
        assert cache.misses == misses and cache.hits >= 3  # every segment from the cache
        cache.get(r, "body", "tập")
        cache.get(r, "body_w", "học_tập")
        assert cache.nbytes <= per_segment * 4
        assert len(cache) <= 4


def test_cache_survives_a_commit_per_segment(tmp_path: Path) -> None:
    """A new commit adds a segment: only that segment is read; old segments stay cached."""
    ix = _index(tmp_path)
    cache = PostingCache()
    with ix.searcher() as s:
        before = cache.get(s.reader(), "body", "bóng")
    read_before = cache.misses
    w = ix.writer()
    w.add_document(**prepare(Article(id="new", title="Mới", body="bóng đá hay")))
    w.commit(merge=False)
    with ix.searcher() as s:
        after = cache.get(s.reader(), "body", "bóng")
        assert len(after) == len(before) + 1
        assert after.ids.tolist() == read_postings(s.reader(), "body", "bóng").ids.tolist()
    assert cache.misses == read_before + 1


def test_generation_view_keeps_joined_ids(tmp_path: Path) -> None:
    ix = _index(tmp_path)
    cache = PostingCache()
    with ix.searcher() as s:
        r = s.reader()
        view = cache.view(r, joined_bytes=1 << 20)
        first = view.ids("body", "học")
        assert first.tolist() == read_postings(r, "body", "học").ids.tolist()
        assert not first.flags.writeable
        segment_reads = cache.misses + cache.hits
        assert view.ids("body", "học") is first  # no second join, no segment lookups
        assert cache.misses + cache.hits == segment_reads
        assert view.get("body", "học").ids.tolist() == first.tolist()
        plain = cache.view(r)  # no budget: joined on every call, equal
        assert plain.ids("body", "học") is not first
        assert plain.ids("body", "học").tolist() == first.tolist()
    w = ix.writer()
    w.commit(optimize=True)
    with ix.searcher() as s:  # one segment: its cached list is the term's list, nothing to join
        single = cache.view(s.reader(), joined_bytes=1 << 20)
        assert single._joined is None  # noqa: SLF001
        assert single.ids("body", "học") is single.ids("body", "học")
        assert len(single.ids("body", "học")) == 899  # the optimize dropped deleted doc 7


def test_position_lists_decode_whoosh_values() -> None:
    import random

    from whoosh import formats

    fmt = formats.Positions()
    rng = random.Random(3)
    lists = [sorted(rng.sample(range(100_000), n)) for n in [0, 1, 2, 5, 40, 300, 3000, 1]]
    values = [fmt.encode(p) for p in lists]
    values[-1] = values[-1].rstrip(b".")  # a legacy value without the pickle's STOP
    pl = PositionLists.decode(np.arange(len(lists), dtype=np.int32), values)
    flat, lens = pl.at(np.arange(len(lists)))
    assert lens.tolist() == [len(p) for p in lists]
    assert flat.tolist() == [x for p in lists for x in p]
    flat, lens = pl.at(np.array([6, 2]))  # any subset, in the order asked
    assert flat.tolist() == lists[6] + lists[2] and lens.tolist() == [3000, 2]
    assert [fmt.decode_positions(v) for v in values] == lists
