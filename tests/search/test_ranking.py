"""Ranking weights: the BM25 idf and which streams the phrase bonus scores."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from whoosh import index
from whoosh import query as wq

from config.settings import SearchSettings
from indexer.synonyms import load_synonyms
from search.query import QueryContext, compile_query, load_stopwords, parse
from search.ranking import RankingParams, RobertsonBM25F


@pytest.fixture(scope="module")
def searcher(index_dir: Path):
    s = index.open_dir(str(index_dir)).searcher(weighting=RankingParams().weighting())
    yield s
    s.close()


def test_default_idf_is_bm25s_own(searcher) -> None:
    assert isinstance(RankingParams().weighting(), RobertsonBM25F)
    n = searcher.doc_count_all()
    for term in ("và", "huyện", "phú"):
        df = searcher.doc_frequency("body", term)
        assert df > 0
        assert searcher.idf("body", term) == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))


def test_common_syllables_weigh_little_next_to_rare_ones(searcher) -> None:
    """The +1 of Whoosh's idf made a syllable in most documents weigh about as much as a
    rare one; BM25's idf keeps it near zero."""
    common, rare = "và", "phú"
    n = searcher.doc_count_all()
    assert searcher.doc_frequency("body", common) > n / 2 > searcher.doc_frequency("body", rare)
    bm25 = searcher.idf("body", common) / searcher.idf("body", rare)
    old = RankingParams(idf="whoosh").weighting()
    ratio_old = old.idf(searcher, "body", common) / old.idf(searcher, "body", rare)
    assert bm25 < 0.2 < ratio_old


def ctx(**kw) -> QueryContext:
    return QueryContext(synonyms=load_synonyms(SearchSettings().synonyms),
                        stopwords=load_stopwords(), **kw)


def _pair_terms(q: wq.Query) -> dict[str, float]:
    out: dict[str, float] = {}
    stack = [q]
    while stack:
        node = stack.pop()
        if isinstance(node, wq.Term) and node.fieldname.endswith("_b"):
            out[node.fieldname] = node.boost
        stack.extend(node.children())
    return out


def test_title_pairs_have_their_own_weight() -> None:
    pairs = _pair_terms(compile_query(parse("học tập"), ctx()).scored)
    assert "body_b" in pairs and "title_b" not in pairs  # title_phrase 0 by default
    p = RankingParams(title_phrase=0.5)
    pairs = _pair_terms(compile_query(parse("học tập"), ctx(ranking=p)).scored)
    assert pairs["title_b"] == pytest.approx(p.title * 0.5)
    assert pairs["body_b"] == pytest.approx(p.body * p.phrase)
