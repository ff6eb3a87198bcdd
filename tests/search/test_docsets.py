"""Mask evaluation of match queries equals Whoosh's own matchers (phrases included)."""
from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from search.docsets import DocSets, TermMasks, mask_of
from indexer.normalize import fold
from search.engine import Engine


@pytest.mark.parametrize("q", [
    wq.Phrase("body", ["học", "tập"]),
    wq.Phrase("body", ["học", "tập", "và"]),
    wq.Phrase("body", ["ủy", "ban", "nhân", "dân"]),
    wq.Phrase("body_f", ["hoc", "tap"]),
    wq.Phrase("body_f", ["uy", "ban", "nhan", "dan"]),
    wq.Phrase("body_f", ["an", "phu"]),
    wq.Phrase("title_f", ["huyen", "uy", "an", "phu"]),
    wq.Phrase("body", ["2014", "qh13"]),
    wq.And([wq.Term("body", "học"), wq.Not(wq.Term("body", "tập"))]),
    wq.Or([wq.Term("body", "bóng"), wq.Term("title", "kinh")], minmatch=0),
    wq.AndNot(wq.Term("body_f", "hoc"), wq.Term("body", "học")),
])
@pytest.mark.parametrize("packed", [False, True])
def test_masks_equal_whoosh(engine: Engine, q: wq.Query, packed: bool) -> None:
    with engine._use() as gen:  # noqa: SLF001 - white-box check of the matching path
        # packed: every term's mask goes through the bit-packed cache (twice: made, then cached)
        masks = TermMasks(gen.live, 1 << 20, min_docs=1) if packed else None
        ds = DocSets(gen.searcher, gen.live, gen.postings, masks)
        got = set(np.flatnonzero(ds.of(q)).tolist())
        assert got == set(gen.searcher.docs_for_query(q))
        if packed:
            again = DocSets(gen.searcher, gen.live, gen.postings, masks).of(q)
            assert set(np.flatnonzero(again).tolist()) == got
            assert masks._packed.hits > 0  # noqa: SLF001


def test_term_masks_pack_frequent_terms_within_budget() -> None:
    n = 1000
    live = np.ones(n, dtype=bool)
    live[::7] = False  # deleted documents never come back from a cached mask
    masks = TermMasks(live, max_bytes=3 * 125, min_docs=100)  # room for three packed masks
    rng = np.random.default_rng(3)
    lists = {f"t{k}": np.unique(rng.integers(0, n, 300)) for k in range(5)}
    for _ in range(2):
        for term, ids in lists.items():
            got = masks.of(("body", term), ids)
            assert got.dtype == bool and len(got) == n
            assert np.array_equal(got, mask_of(ids, n) & live)
    assert len(masks._packed) == 3 and masks._packed.nbytes <= 3 * 125  # noqa: SLF001
    rare = np.array([0, 1, 2])  # below min_docs: scattered, not cached
    assert np.array_equal(masks.of(("body", "rare"), rare), mask_of(rare, n) & live)
    assert np.flatnonzero(masks.of(("body", "rare"), rare)).tolist() == [1, 2]  # 0 deleted
    assert TermMasks(live, 0).of(("body", "t0"), lists["t0"]).sum() == (mask_of(lists["t0"], n) & live).sum()


def test_phrase_counts_are_not_trivial(engine: Engine) -> None:
    with engine._use() as gen:  # noqa: SLF001
        ds = DocSets(gen.searcher, gen.live, gen.postings)
        three = ds.of(wq.Phrase("body", ["học", "tập", "và"])).sum()
        pair = ds.of(wq.Phrase("body", ["học", "tập"])).sum()
        assert 0 < three < pair
        folded = ds.of(wq.Phrase("body_f", ["hoc", "tap"])).sum()
        assert folded >= pair


def test_exact_phrases_equal_whoosh_on_real_text_across_segments(tmp_path) -> None:  # noqa: ANN001
    """Word runs cut from real articles (and reversed, and with a word repeated), on an
    index of three segments with deletions: the positions path equals Whoosh's matcher."""
    import random

    from whoosh import index

    from indexer.analysis import analyze
    from indexer.schema import build_schema, prepare
    from tests.search.conftest import _dantri

    docs = _dantri()[:90]
    ix = index.create_in(str(tmp_path), build_schema())
    for part in range(3):
        w = ix.writer()
        for a in docs[part * 30:(part + 1) * 30]:
            w.add_document(**prepare(a))
        w.commit(merge=False)
    w = ix.writer()
    for a in docs[5:60:11]:
        w.delete_by_term("id", a.id)
    w.commit(merge=False)
    rng = random.Random(7)
    phrases: list[list[str]] = []
    for a in rng.sample(docs, 25):
        syl = [t.text for t in analyze(a.body).syllables]
        for n in (2, 3, 4):
            i = rng.randrange(max(1, len(syl) - n))
            run = syl[i:i + n]
            phrases += [run, run[::-1], [run[0], *run]]
    from search.postings import PostingCache

    cache = PostingCache()
    with ix.searcher() as s:
        live = mask_of(s.reader().all_doc_ids(), s.reader().doc_count_all())  # as the engine does
        masks = TermMasks(live, 1 << 20, min_docs=1)  # packed masks, deletions across segments
        nonempty = 0
        for words in phrases:
            for field in ("body", "body_f"):
                ws = words if field == "body" else [fold(x) for x in words]
                q = wq.Phrase(field, ws)
                want = set(s.docs_for_query(q))
                for ds in (DocSets(s, live, cache.view(s.reader())),
                           DocSets(s, live, cache.view(s.reader()), masks)):
                    got = set(np.flatnonzero(ds.of(q)).tolist())
                    assert got == want, (field, ws)
                nonempty += bool(want)
        assert nonempty > 60

