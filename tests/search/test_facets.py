"""Facet counts against brute force over the session index."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from whoosh import index

from indexer.record import Article
from indexer.schema import build_schema, prepare
from search.docsets import mask_of
from search.facets import FacetCache, FacetValue


def _cache(searcher) -> FacetCache:  # noqa: ANN001
    n = searcher.reader().doc_count_all()
    return FacetCache(searcher, mask_of(searcher.reader().all_doc_ids(), n))


@pytest.fixture(scope="module")
def searcher(index_dir: Path):
    s = index.open_dir(str(index_dir)).searcher()
    yield s
    s.close()


def _stored_counts(searcher, docnums) -> tuple[Counter, Counter]:  # noqa: ANN001
    cats: Counter = Counter()
    years: Counter = Counter()
    for d in docnums:
        stored = searcher.stored_fields(d)
        for c in (stored.get("category") or "").split(","):
            if c.strip():
                cats[c.strip()] += 1
        if stored.get("date"):
            years[f"{stored['date'].year:04d}"] += 1
    return cats, years


def test_counts_of_all_documents_match_stored_fields(searcher) -> None:  # noqa: ANN001
    fc = _cache(searcher)
    cats, years = _stored_counts(searcher, searcher.reader().all_doc_ids())
    assert {f.value: f.count for f in fc.counts("category", None)} == dict(cats)
    assert {f.value: f.count for f in fc.counts("year", None)} == dict(years)


def test_counts_of_a_subset(searcher) -> None:  # noqa: ANN001
    fc = _cache(searcher)
    subset = {d for d in searcher.reader().all_doc_ids() if d % 3 == 0}
    cats, years = _stored_counts(searcher, subset)
    n = searcher.reader().doc_count_all()
    mask = mask_of(subset, n)
    assert {f.value: f.count for f in fc.counts("category", mask)} == dict(cats)
    assert {f.value: f.count for f in fc.counts("year", mask)} == dict(years)
    assert fc.counts("category", mask_of([], n)) == []


def test_sorted_by_count_then_value(searcher) -> None:  # noqa: ANN001
    values = _cache(searcher).counts("year", None)
    keys = [(-f.count, f.value) for f in values]
    assert keys == sorted(keys)
    assert all(isinstance(f, FacetValue) and f.count > 0 for f in values)


def test_resolve_ignores_case_and_accents(searcher) -> None:  # noqa: ANN001
    fc = _cache(searcher)
    assert fc.resolve("category", "Xây dựng Đảng") == ["Xây dựng Đảng"]
    assert fc.resolve("category", "xay dung dang") == ["Xây dựng Đảng"]
    assert fc.resolve("category", "GIÁO DỤC") == ["Giáo dục"]
    assert fc.resolve("category", "không có") == []


def test_multi_valued_categories_overlap_and_deletions_excluded(tmp_path: Path) -> None:
    ix = index.create_in(str(tmp_path), build_schema())
    w = ix.writer()
    docs = [
        Article(id="1", title="a", body="x", categories=["Kinh tế", "Xã hội"], date=dt.datetime(2020, 1, 1)),
        Article(id="2", title="b", body="x", categories=["Kinh tế"], date=dt.datetime(2021, 1, 1)),
        Article(id="3", title="c", body="x", categories=["Xã hội"]),
        Article(id="4", title="d", body="x", categories=["Văn hóa"], date=dt.datetime(2021, 6, 1)),
    ]
    for a in docs:
        w.add_document(**prepare(a))
    w.commit()
    w = ix.writer()
    w.delete_by_term("id", "4")
    w.commit(merge=False)
    with ix.searcher() as s:
        fc = _cache(s)
        cats = fc.counts("category", None)
        assert cats == [FacetValue("Kinh tế", 2), FacetValue("Xã hội", 2)]
        assert fc.counts("year", None) == [FacetValue("2020", 1), FacetValue("2021", 1)]
        one = mask_of([s.document_number(id="1")], s.reader().doc_count_all())
        assert fc.counts("category", one) == [FacetValue("Kinh tế", 1), FacetValue("Xã hội", 1)]
