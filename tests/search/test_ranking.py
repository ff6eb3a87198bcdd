"""Ranking weights: the BM25 idf (and its power) and which streams the phrase bonus scores."""
from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from whoosh import index
from whoosh import query as wq

from config.settings import SearchSettings
from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from indexer.synonyms import load_synonyms
from search.engine import Engine, SearchRequest
from search.query import QueryContext, compile_query, load_stopwords
from search.syntax import parse
from search.ranking import RankingParams, RobertsonBM25F


@pytest.fixture(scope="module")
def searcher(index_dir: Path):
    s = index.open_dir(str(index_dir)).searcher(weighting=RankingParams().weighting())
    yield s
    s.close()


def test_default_idf_is_bm25s_own_raised_to_idf_power(searcher) -> None:
    params = RankingParams()
    assert isinstance(params.weighting(), RobertsonBM25F)
    assert params.idf_power > 1
    n = searcher.doc_count_all()
    for term in ("và", "huyện", "phú"):
        df = searcher.doc_frequency("body", term)
        assert df > 0
        bm25 = math.log(1 + (n - df + 0.5) / (df + 0.5))
        assert searcher.idf("body", term) == pytest.approx(bm25 ** params.idf_power)
    unit = RankingParams(idf_power=1.0).weighting()
    df = searcher.doc_frequency("body", "phú")
    assert unit.idf(searcher, "body", "phú") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))


def test_idf_power_only_for_the_robertson_idf() -> None:
    with pytest.raises(ValueError, match="idf_power"):
        RankingParams(idf="whoosh").weighting()
    assert not isinstance(RankingParams(idf="whoosh", idf_power=1.0).weighting(), RobertsonBM25F)


def test_common_syllables_weigh_little_next_to_rare_ones(searcher) -> None:
    """The +1 of Whoosh's idf made a syllable in most documents weigh about as much as a
    rare one; BM25's idf keeps it near zero."""
    common, rare = "và", "phú"
    n = searcher.doc_count_all()
    assert searcher.doc_frequency("body", common) > n / 2 > searcher.doc_frequency("body", rare)
    bm25 = searcher.idf("body", common) / searcher.idf("body", rare)
    old = RankingParams(idf="whoosh", idf_power=1.0).weighting()
    ratio_old = old.idf(searcher, "body", common) / old.idf(searcher, "body", rare)
    assert bm25 < 0.2 < ratio_old


def test_a_rare_name_outweighs_many_common_question_words(tmp_path: Path) -> None:
    """The kind of vimedaqa failure idf_power fixes: a question about one drug, among
    passages that share its common words ("tiếp xúc", "trên da", "triệu chứng"). With
    plain BM25 idf, passages holding several of those words outrank the one passage naming
    the drug; the sharper idf ranks that passage first."""
    phrases = ("tiếp xúc", "trên da", "xảy ra", "những triệu chứng")
    rng = random.Random(0)
    filler = [" ".join(["Bệnh nhân", str(i), *(w for w in phrases if rng.random() < 0.1)]) + "."
              for i in range(300)]
    bodies = ["Nếu nuốt phải Crotamiton có thể gây đau rát, kích ứng ở miệng.",
              "Ngứa trên da là những triệu chứng thường gặp.", *filler]
    docs = [Article(id=f"d{i}", title="", body=b) for i, b in enumerate(bodies)]
    index_articles(iter(docs), tmp_path / "ix", BuildOptions(workers=0, progress="quiet", rebuild=True))
    q = "Khi tiếp xúc với Crotamiton trên da có thể xảy ra những triệu chứng gì?"

    def first(params: RankingParams) -> str:
        engine = Engine(tmp_path / "ix", ranking=params)
        try:
            return engine.search(SearchRequest(q=q, highlight=False, facets=False)).hits[0].id
        finally:
            engine.close()

    assert first(RankingParams()) == "d0"
    assert first(RankingParams(idf_power=1.0, K1=0.9)) != "d0"  # the defaults before


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
