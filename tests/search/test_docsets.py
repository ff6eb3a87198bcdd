"""Mask evaluation of match queries equals Whoosh's own matchers (phrases included)."""
from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from search.docsets import DocSets
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
def test_masks_equal_whoosh(engine: Engine, q: wq.Query) -> None:
    with engine._use() as gen:  # noqa: SLF001 - white-box check of the matching path
        ds = DocSets(gen.searcher, gen.live, gen.postings)
        got = set(np.flatnonzero(ds.of(q)).tolist())
        assert got == set(gen.searcher.docs_for_query(q))


def test_phrase_counts_are_not_trivial(engine: Engine) -> None:
    with engine._use() as gen:  # noqa: SLF001
        ds = DocSets(gen.searcher, gen.live, gen.postings)
        three = ds.of(wq.Phrase("body", ["học", "tập", "và"])).sum()
        pair = ds.of(wq.Phrase("body", ["học", "tập"])).sum()
        assert 0 < three < pair
        folded = ds.of(wq.Phrase("body_f", ["hoc", "tap"])).sum()
        assert folded >= pair
