"""The engine end to end on the session index (see conftest.py)."""
from __future__ import annotations

import datetime as dt
import math
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from whoosh import index

from config.settings import SearchSettings
from indexer.analysis import syllable_terms
from indexer.record import Article
from indexer.schema import build_schema, prepare
from search.engine import Engine, SearchRequest, SearchResult
from search.errors import IndexUnavailable, InvalidRequest
from search.ranking import RankingParams
from tests.search.test_query import NASTY


def ids(result: SearchResult) -> list[str]:
    return [h.id for h in result.hits]


def all_ids(engine: Engine, **kw) -> list[str]:
    """Every hit of a query, by paging (the test index is small)."""
    out: list[str] = []
    page = 1
    while True:
        r = engine.search(SearchRequest(page=page, per_page=50, facets=False, highlight=False, **kw))
        out.extend(ids(r))
        if len(out) >= r.total or not r.hits:
            assert len(out) == r.total
            return out
        page += 1


def syllables(text: str) -> set[str]:
    return {t for t, _, _, _ in syllable_terms(text)}


def test_unaccented_query_finds_seed_first(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="huyen uy an phu"))
    assert r.hits[0].id == "seed-an-giang-2014"


def test_tone_placement_and_nfd_give_identical_results(engine: Engine) -> None:
    queries = ["Huyện ủy An Phú", "Huyện uỷ An Phú", unicodedata.normalize("NFD", "Huyện ủy An Phú")]
    results = [engine.search(SearchRequest(q=q)) for q in queries]
    assert results[0].total > 0
    assert len({r.total for r in results}) == 1
    assert len({tuple(ids(r)) for r in results}) == 1
    assert len({tuple(round(h.score, 6) for h in r.hits) for r in results}) == 1
    assert results[0].hits[0].id == "seed-an-giang-2014"


def test_exact_accents_rank_above_folded_only_match(engine: Engine) -> None:
    found = all_ids(engine, q="học tập")
    assert "t-exact" in found and "t-folded" in found
    assert found.index("t-exact") < found.index("t-folded")


def test_unaccented_query_still_finds_both(engine: Engine) -> None:
    found = all_ids(engine, q="hoc tap suot doi")
    assert {"t-exact", "t-folded"} <= set(found)


def test_phrase_requires_adjacent_syllables(engine: Engine) -> None:
    loose = all_ids(engine, q="học tập")
    phrase = all_ids(engine, q='"học tập"')
    assert "t-apart" in loose
    assert "t-apart" not in phrase
    assert "t-exact" in phrase and "seed-an-giang-2014" in phrase
    assert set(phrase) < set(loose)


def test_accent_free_phrase_matches_folded(engine: Engine) -> None:
    phrase = all_ids(engine, q='"hoc tap suot doi"')
    assert {"t-exact", "t-folded"} <= set(phrase)


@pytest.mark.parametrize("q, expected", [
    ("03-CT/TW", "seed-an-giang-2014"),
    ("03-ct/tw", "seed-an-giang-2014"),
    ("chỉ thị 03", "seed-an-giang-2014"),
    ("52/2014/QH13", "vlc-luat-hon-nhan-va-gia-dinh"),
    ("58/2014/QH13", "vlc-luat-bao-hiem-xa-hoi"),
])
def test_codes_find_the_right_document_first(engine: Engine, q: str, expected: str) -> None:
    r = engine.search(SearchRequest(q=q))
    assert r.hits and r.hits[0].id == expected


def test_exclusion(engine: Engine, by_id) -> None:  # noqa: ANN001
    with_it = set(all_ids(engine, q="mã độc"))
    without = set(all_ids(engine, q="mã độc -javascript"))
    assert "t-xss" in with_it and "t-xss" not in without
    assert without == {d for d in with_it if "javascript" not in syllables(
        by_id[d].title + " " + by_id[d].body)}


def test_phrase_exclusion(engine: Engine) -> None:
    found = set(all_ids(engine, q='"mã độc" -"lừa đảo"'))
    assert "t-undated" in found and "t-xss" not in found


def test_or_is_a_union(engine: Engine) -> None:
    a = set(all_ids(engine, q="javascript"))
    b = set(all_ids(engine, q="Priyanka"))
    both = set(all_ids(engine, q="javascript OR Priyanka"))
    assert a and b
    assert both == a | b


def test_and_semantics_for_short_queries(engine: Engine) -> None:
    a = set(all_ids(engine, q="hôn nhân"))
    b = set(all_ids(engine, q="Priyanka"))
    both = set(all_ids(engine, q="hôn nhân Priyanka"))
    assert both and both <= a & b


def test_zero_hit_and_query_relaxes_to_or(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="Priyanka xyzzyqwerty"))
    assert r.total > 0 and all(h.id for h in r.hits)


def test_category_filter_and_facets_cover_all_matches(engine: Engine, by_id) -> None:  # noqa: ANN001
    q = "Việt Nam"
    r = engine.search(SearchRequest(q=q))
    everything = all_ids(engine, q=q)
    assert r.total == len(everything) > 50
    # brute-force facet counts over every match
    cats: dict[str, int] = {}
    years: dict[str, int] = {}
    for d in everything:
        a = by_id[d]
        for c in a.categories:
            cats[c] = cats.get(c, 0) + 1
        if a.date:
            years[str(a.date.year)] = years.get(str(a.date.year), 0) + 1
    assert {f.value: f.count for f in r.facets["category"]} == cats
    assert {f.value: f.count for f in r.facets["year"]} == years
    counts = [f.count for f in r.facets["category"]]
    assert counts == sorted(counts, reverse=True)
    # filter by one category: exactly the matches in that category
    top = r.facets["category"][0]
    filtered = all_ids(engine, q=q, categories=(top.value,))
    assert len(filtered) == top.count
    assert all(top.value in by_id[d].categories for d in filtered)
    # several categories: union
    two = [f.value for f in r.facets["category"][:2]]
    both = all_ids(engine, q=q, categories=tuple(two))
    assert len(both) == sum(f.count for f in r.facets["category"][:2])


def test_category_in_query_syntax(engine: Engine, by_id) -> None:  # noqa: ANN001
    found = all_ids(engine, q='Việt Nam category:"giao duc"')
    assert found and all("Giáo dục" in by_id[d].categories for d in found)
    none = all_ids(engine, q="Việt Nam -category:\"Giáo dục\"")
    assert none and not any("Giáo dục" in by_id[d].categories for d in none)


def test_date_filter(engine: Engine, by_id) -> None:  # noqa: ANN001
    q = "Việt Nam"
    lo, hi = dt.date(2021, 4, 1), dt.date(2021, 4, 30)
    found = all_ids(engine, q=q, date_from=lo, date_to=hi)
    everything = all_ids(engine, q=q)
    expected = {d for d in everything if by_id[d].date and lo <= by_id[d].date.date() <= hi}
    assert expected and set(found) == expected
    # open-ended ranges
    after = all_ids(engine, q=q, date_from=lo)
    assert set(after) == {d for d in everything if by_id[d].date and by_id[d].date.date() >= lo}


def test_sort_newest_and_oldest(engine: Engine, by_id) -> None:  # noqa: ANN001
    q = "mã độc"
    newest = all_ids(engine, q=q, sort="newest")
    oldest = all_ids(engine, q=q, sort="oldest")
    assert set(newest) == set(oldest) == set(all_ids(engine, q=q))
    dates_new = [by_id[d].date for d in newest if by_id[d].date]
    dates_old = [by_id[d].date for d in oldest if by_id[d].date]
    assert dates_new == sorted(dates_new, reverse=True)
    assert dates_old == sorted(dates_old)
    # undated documents come last either way
    assert newest[-1] == "t-undated" and oldest[-1] == "t-undated"
    r = engine.search(SearchRequest(q=q, sort="newest"))
    assert r.hits[0].date == max(dates_new).date().isoformat()


def test_paging(engine: Engine) -> None:
    q = "Việt Nam"
    everything = all_ids(engine, q=q)
    p1 = engine.search(SearchRequest(q=q, page=1, per_page=7))
    p2 = engine.search(SearchRequest(q=q, page=2, per_page=7))
    assert ids(p1) == everything[:7]
    assert ids(p2) == everything[7:14]
    assert p2.page == 2 and p2.per_page == 7 and p1.total == p2.total
    last = (p1.total - 1) // 7 + 1
    beyond = engine.search(SearchRequest(q=q, page=last + 1, per_page=7))
    assert beyond.hits == [] and beyond.total == p1.total


def test_empty_query_browses_newest_first(engine: Engine, articles) -> None:  # noqa: ANN001
    r = engine.search(SearchRequest())
    assert r.total == engine.doc_count() == len(articles)
    newest = max(a.date for a in articles if a.date)
    assert r.hits[0].date == newest.date().isoformat()
    assert {f.value for f in r.facets["category"]} >= {"Xây dựng Đảng", "Luật", "Giáo dục"}
    filtered = engine.search(SearchRequest(categories=("Luật",)))
    assert filtered.total == sum(1 for a in articles if "Luật" in a.categories)


def test_only_exclusions_browse_minus_excluded(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="-javascript", per_page=50))
    assert r.total == engine.doc_count() - 1
    assert "t-xss" not in all_ids(engine, q="-javascript")


def test_hits_are_escaped(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="mã độc lừa đảo"))
    hit = next(h for h in r.hits if h.id == "t-xss")
    assert "<script" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<img" not in hit.snippet and "&lt;img" in hit.snippet
    assert hit.title.startswith("<script>")  # the plain title is the stored text
    for h in r.hits:
        stripped = h.snippet.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped
    plain = engine.search(SearchRequest(q="mã độc lừa đảo", highlight=False))
    hit = next(h for h in plain.hits if h.id == "t-xss")
    assert "<mark>" not in hit.title_html + hit.snippet and "&lt;script&gt;" in hit.title_html


def test_hit_fields(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="huyện ủy an phú"))
    h = r.hits[0]
    assert h.id == "seed-an-giang-2014"
    assert h.date == "2014-12-30" and h.category == ["Xây dựng Đảng"]
    assert h.author == "Thành Nhân" and h.url.startswith("http")
    assert "<mark>" in h.title_html and "<mark>" in h.snippet
    assert h.score > 0 and r.took_ms > 0


def test_get_document(engine: Engine, by_id) -> None:  # noqa: ANN001
    doc = engine.get_document("seed-an-giang-2014")
    assert doc is not None
    assert doc["title"] == by_id["seed-an-giang-2014"].title
    assert doc["body"] == by_id["seed-an-giang-2014"].body
    assert doc["date"] == "2014-12-30" and doc["category"] == ["Xây dựng Đảng"]
    law = engine.get_document("vlc-luat-hon-nhan-va-gia-dinh")
    assert law is not None and law["doc_number"] == "52/2014/QH13"
    news = next(a for a in by_id.values() if a.source == "dantri")
    assert engine.get_document(news.id)["extras"] == news.extras
    assert engine.get_document("no-such-id") is None


@pytest.mark.parametrize("req, field", [
    (SearchRequest(sort="random"), "sort"),
    (SearchRequest(page=0), "page"),
    (SearchRequest(per_page=0), "per_page"),
    (SearchRequest(per_page=51), "per_page"),
    (SearchRequest(page=101, per_page=10), "page"),
    (SearchRequest(date_from=dt.date(2021, 2, 1), date_to=dt.date(2021, 1, 1)), "date_from"),
    (SearchRequest(q="x" * 2001), "q"),
])
def test_validation(engine: Engine, req: SearchRequest, field: str) -> None:
    with pytest.raises(InvalidRequest) as e:
        engine.search(req)
    assert e.value.field == field


@pytest.mark.parametrize("q", NASTY)
def test_nasty_queries_return_a_result_or_invalid_request(engine: Engine, q: str) -> None:
    try:
        r = engine.search(SearchRequest(q=q))
    except InvalidRequest as e:
        assert e.field == "q" and len(q) > SearchSettings().max_query_chars
        return
    assert r.total >= 0 and len(r.hits) <= 10
    for h in r.hits:
        assert "<script" not in h.snippet + h.title_html


def test_missing_or_empty_index_dir(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable):
        Engine(tmp_path / "nope").search(SearchRequest(q="a"))
    (tmp_path / "empty").mkdir()
    eng = Engine(tmp_path / "empty")
    with pytest.raises(IndexUnavailable):
        eng.doc_count()
    assert eng.refresh() is False


def _mini_index(path: Path, docs: list[Article]) -> None:
    path.mkdir(parents=True)
    ix = index.create_in(str(path), build_schema())
    w = ix.writer()
    for a in docs:
        w.add_document(**prepare(a))
    w.commit()


def test_refresh_after_commit_and_symlink_swap(tmp_path: Path) -> None:
    a_dir, b_dir = tmp_path / "gen-a", tmp_path / "gen-b"
    _mini_index(a_dir, [Article(id="a1", title="Tin thứ nhất", body="Huyện ủy họp.")])
    _mini_index(b_dir, [Article(id="b1", title="Tin khác", body="Tỉnh ủy họp."),
                        Article(id="b2", title="Tin nữa", body="Tỉnh ủy họp tiếp.")])
    link = tmp_path / "current"
    os.symlink(a_dir, link)
    eng = Engine(link, SearchSettings(refresh_interval=0.0))
    v1 = eng.version()
    assert eng.doc_count() == 1 and eng.refresh() is False and eng.version() == v1
    # a new commit in the same directory
    ix = index.open_dir(str(a_dir))
    w = ix.writer()
    w.add_document(**prepare(Article(id="a2", title="Tin thứ hai", body="Huyện ủy họp lần hai.")))
    w.commit()
    assert eng.refresh() is True
    v2 = eng.version()
    assert v2 != v1 and eng.doc_count() == 2
    assert eng.search(SearchRequest(q="huyện ủy")).total == 2
    # atomic swap of the symlink to another generation directory
    tmp_link = tmp_path / "current.tmp"
    os.symlink(b_dir, tmp_link)
    os.replace(tmp_link, link)
    r = eng.search(SearchRequest(q="tỉnh ủy"))  # refresh_interval 0: search() notices
    assert r.total == 2 and eng.version() not in (v1, v2)
    assert eng.get_document("a1") is None and eng.get_document("b1") is not None
    eng.close()


def test_every_read_sees_a_new_commit_not_only_search(tmp_path: Path) -> None:
    """A worker that only serves GET /documents or /suggest must not keep an old generation."""
    path = tmp_path / "ix"
    _mini_index(path, [Article(id="a1", title="Tin thứ nhất", body="Huyện ủy họp.")])
    eng = Engine(path, SearchSettings(refresh_interval=0.0))
    assert eng.get_document("a2") is None and eng.doc_count() == 1
    ix = index.open_dir(str(path))
    w = ix.writer()
    w.add_document(**prepare(Article(id="a2", title="Lũ bão Vĩnh Trường", body="Xã họp.")))
    w.commit(merge=False)
    doc = eng.get_document("a2")  # no search() in between
    assert doc is not None and doc["title"] == "Lũ bão Vĩnh Trường"
    assert eng.doc_count() == 2
    eng.close()


def test_deleted_documents_disappear(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    _mini_index(path, [Article(id=f"d{i}", title=f"Tin {i}", body="Huyện ủy họp.",
                               categories=["A"], date=dt.datetime(2020, 1, i + 1)) for i in range(5)])
    eng = Engine(path, SearchSettings(refresh_interval=0.0))
    assert eng.search(SearchRequest(q="huyện ủy")).total == 5
    ix = index.open_dir(str(path))
    w = ix.writer()
    w.delete_by_term("id", "d2")
    w.commit(merge=False)
    r = eng.search(SearchRequest(q="huyện ủy"))
    assert r.total == 4 and "d2" not in ids(r)
    assert r.facets["category"][0].count == 4 and eng.doc_count() == 4
    assert eng.search(SearchRequest(sort="oldest", per_page=5)).total == 4
    eng.close()


def test_ranking_params_can_vary(index_dir: Path) -> None:
    eng = Engine(index_dir, ranking=RankingParams(title=10.0, phrase=0.0, proximity=0.0))
    r = eng.search(SearchRequest(q="huyen uy an phu"))
    assert r.hits[0].id == "seed-an-giang-2014"
    eng.ranking = RankingParams(folded=0.0)
    r2 = eng.search(SearchRequest(q="học tập"))
    assert r2.total > 0
    eng.close()


@pytest.mark.parametrize("q", ["Việt Nam", "học tập", "huyen uy an phu", "bóng đá Việt Nam",
                               "người lao động có quyền đơn phương chấm dứt hợp đồng",
                               "UBND tỉnh", '"hôn nhân" gia đình', "mã độc OR hôn nhân"])
def test_top_n_equals_exhaustive_ranking(engine: Engine, q: str) -> None:
    """Both rankers (numpy term-at-a-time; Whoosh's collector with block-max skipping and
    without matcher replacement) return the top N of scoring every match."""
    from whoosh import collectors

    from search.docsets import DocSets
    from search.fastrank import flat_terms
    from search.query import compile_query
    from search.syntax import parse

    with engine._use() as gen:  # noqa: SLF001 - white-box check of the ranking path
        s = gen.searcher_for(engine.ranking)
        comp = compile_query(parse(q), engine._context(gen))  # noqa: SLF001
        mask = DocSets(s, gen.live, gen.postings).of(comp.match)
        docs = set(np.flatnonzero(mask).tolist())
        assert docs
        # the masks agree with Whoosh's own matcher
        assert docs == set(s.docs_for_query(comp.match))
        terms = flat_terms(comp.scored)
        assert terms is not None  # an index with the bigram stream scores without phrases
        full = collectors.UnlimitedCollector()
        s.search_with_collector(comp.scored, collectors.FilterCollector(full, allow=docs))
        every = sorted(((h.score, h.docnum) for h in full.results()), key=lambda x: (-x[0], x[1]))
        assert len(every) == len(docs)  # the scored query matches every document of the set
        fast_all = gen.fast.rank(terms, mask, len(docs), engine.ranking)
        assert len(fast_all) == len(docs)
        for limit in (1, 3, 10):
            whoosh_top = engine._rank_whoosh(s, comp.scored, mask, limit)  # noqa: SLF001
            assert [round(sc, 6) for _, sc in whoosh_top] == [round(sc, 6) for sc, _ in every[:limit]]
            assert gen.fast.rank(terms, mask, limit, engine.ranking) == fast_all[:limit]
        # the per-generation score cache (on in the engine) changes nothing
        from search.fastrank import FastRanker

        uncached = FastRanker(s, gen.postings, score_bytes=0)
        assert uncached.rank(terms, mask, len(docs), engine.ranking) == fast_all
        # scatter-adding whole posting lists or looking the candidates up in them: the same
        # floats, on the full set and on small subsets of it
        rng = np.random.default_rng(len(q))
        for ratio in (0, math.inf):
            uncached.gather_ratio = ratio
            assert uncached.rank(terms, mask, len(docs), engine.ranking) == fast_all
            for size in (1, 3, 12):
                sub = np.zeros_like(mask)
                sub[rng.choice(np.flatnonzero(mask), min(size, len(docs)), replace=False)] = True
                uncached.gather_ratio = 0
                gathered = uncached.rank(terms, sub, 12, engine.ranking)
                uncached.gather_ratio = math.inf
                assert gathered == uncached.rank(terms, sub, 12, engine.ranking)
                assert {d for d, _ in gathered} == set(np.flatnonzero(sub).tolist())
        assert gen.fast.rank(terms, mask, len(docs), engine.ranking) == fast_all
        if not any(x in q for x in ("UBND", "Việt Nam")):
            # no synonym group (an AND inside an OR): the term sums are Whoosh's scores
            whoosh_scores = {d: sc for sc, d in every}
            for d, sc in fast_all:
                assert sc == pytest.approx(whoosh_scores[d], rel=1e-6)


def test_result_documents_come_from_the_generation_cache(engine: Engine) -> None:
    first = engine.search(SearchRequest(q="học tập"))
    with engine._use() as gen:  # noqa: SLF001
        misses, hits = gen._stored.misses, gen._stored.hits  # noqa: SLF001
        again = engine.search(SearchRequest(q="học tập"))
        assert gen._stored.misses == misses and gen._stored.hits >= hits + len(again.hits)  # noqa: SLF001
        doc = first.hits[0]
        docnum = gen.searcher.document_number(id=doc.id)
        assert gen.stored_fields(docnum) == gen.searcher.stored_fields(docnum)
    assert [h.title_html for h in again.hits] == [h.title_html for h in first.hits]
