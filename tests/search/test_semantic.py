"""Semantic re-ranking: the fusion, the re-ranked list, and the engine's use of it (which
queries, which indexes, what a failing encoder leaves)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from config.settings import SearchSettings
from indexer.build import BuildOptions, index_articles
from indexer.embedding import DIM, VectorStore, content_key, embed_index
from indexer.record import Article
from indexer.store import live_dir
from search.engine import Engine, SearchRequest
from search.semantic import QueryVectors, SemanticParams, fuse, rerank

TOPICS = ("tim", "phổi", "gan")  # heart, lungs, liver


class TopicEncoder:
    """A vector per topic word found (tim / phổi / gan), else a constant one; counts queries."""

    dim = DIM

    def __init__(self, fail: bool = False) -> None:
        self.queries: list[str] = []
        self.fail = fail

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        words = text.lower().replace("?", " ").split()
        for i, t in enumerate(TOPICS):
            if t in words:
                v[i] = 1.0
        v[10] = 0.1
        return v / np.linalg.norm(v)

    def passages(self, texts):  # noqa: ANN001, ANN201
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def query(self, text: str) -> np.ndarray:
        if self.fail:
            raise OSError("model file unreadable")
        self.queries.append(text)
        return self._vec(text)


# the term ranking favours the liver and lung articles, which repeat the question's words;
# the heart articles answer it
ARTICLES = [
    Article(id="a-gan", title="Bệnh gan được điều trị như thế nào",
            body="Bệnh gan được điều trị như thế nào? Bệnh gan được điều trị bằng thuốc."),
    Article(id="c-phoi", title="Bệnh phổi được điều trị như thế nào",
            body="Bệnh phổi được điều trị như thế nào? Nghỉ ngơi và uống thuốc."),
    Article(id="b-tim", title="Tim mạch", body="Chăm sóc tim mỗi ngày."),
    Article(id="d-tim2", title="Sức khỏe tim", body="Tim khỏe nhờ tập luyện đều đặn."),
]
DENSE = dataclasses.replace(SearchSettings(), semantic_weight=0.8)


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    index_articles(ARTICLES, path, BuildOptions(workers=1, progress="quiet"))
    live = live_dir(path)
    assert live is not None
    embed_index(live, TopicEncoder())
    return path


QUESTION = "Bệnh tim được điều trị như thế nào?"  # wordy: a question


def _ids(engine: Engine, q: str, **kw) -> list[str]:  # noqa: ANN003
    return [h.id for h in engine.search(SearchRequest(q=q, **kw)).hits]


def test_fuse_weights_and_missing_vectors() -> None:
    lex = np.array([3.0, 2.0, 1.0])
    dense = np.array([0.1, 0.2, 0.9])
    have = np.array([True, True, True])
    assert np.argsort(-fuse(lex, dense, have, 0.0)).tolist() == [0, 1, 2]
    assert np.argsort(-fuse(lex, dense, have, 1.0)).tolist() == [2, 1, 0]
    mixed = fuse(lex, dense, have, 0.5)
    assert mixed.mean() == pytest.approx(0.0)
    partial = fuse(lex, dense, np.array([True, False, True]), 1.0)
    assert partial[1] == 0.0 and partial[2] > 0 > partial[0]  # no vector: the mean
    assert np.allclose(fuse(np.ones(3), np.ones(3), have, 0.5), 0.0)  # no spread: no preference


def test_rerank_reorders_the_head_and_keeps_the_tail_below(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v")
    texts = {d: {"title": f"t{d}", "body": f"b{d}"} for d in range(6)}
    keys = [content_key(f"t{d}\nb{d}") for d in range(6)]
    vecs = np.zeros((6, DIM), dtype=np.float32)
    vecs[:, 0] = [0.0, 0.1, 0.2, 0.3, 0.9, 1.0]  # later documents are closer to the query
    store.add(keys, vecs)
    q = np.zeros(DIM, dtype=np.float32)
    q[0] = 1.0
    ranked = [(d, 10.0 - d) for d in range(6)]
    out = rerank(ranked, q, store, texts.__getitem__, SemanticParams(candidates=4, weight=1.0))
    assert [d for d, _ in out] == [3, 2, 1, 0, 4, 5]  # head by cosine; tail in its order
    scores = [s for _, s in out]
    assert scores == sorted(scores, reverse=True)  # one scale, best first
    assert rerank(ranked[:1], q, store, texts.__getitem__, SemanticParams()) == ranked[:1]
    empty = VectorStore(tmp_path / "none")
    assert rerank(ranked, q, empty, texts.__getitem__, SemanticParams()) == ranked


def test_query_vectors_are_cached() -> None:
    enc = TopicEncoder()
    qv = QueryVectors(enc, size=2)
    qv.get("tim")
    qv.get("tim")
    qv.get("gan")
    qv.get("phổi")  # evicts "tim"
    qv.get("tim")
    assert enc.queries == ["tim", "gan", "phổi", "tim"]


def test_a_question_is_reranked_by_meaning(index: Path) -> None:
    plain = Engine(index, dataclasses.replace(SearchSettings(), semantic=False))
    enc = TopicEncoder()
    engine = Engine(index, DENSE, encoder=enc)
    try:
        lexical = _ids(plain, QUESTION)
        semantic = _ids(engine, QUESTION)
        assert set(lexical) == set(semantic) and len(lexical) == 4  # matching is the terms' job
        assert set(lexical[:2]) == {"a-gan", "c-phoi"}
        assert set(semantic[:2]) == {"b-tim", "d-tim2"}
        assert len(enc.queries) == 1
        # page 2 continues page 1 of the same ranking
        p1 = _ids(engine, QUESTION, per_page=2)
        p2 = _ids(engine, QUESTION, per_page=2, page=2)
        assert p1 + p2 == semantic[:4]
        assert len(enc.queries) == 1  # the query's vector was cached
    finally:
        plain.close()
        engine.close()


def test_accent_tone_and_unicode_variants_get_the_same_ranking(index: Path) -> None:
    enc = TopicEncoder()
    engine = Engine(index, DENSE, encoder=enc)
    try:
        import unicodedata

        base = _ids(engine, QUESTION)
        assert _ids(engine, unicodedata.normalize("NFD", QUESTION)) == base
        assert _ids(engine, "benh tim duoc dieu tri nhu the nao?")[:2] == base[:2]
        assert "bệnh tim được điều trị như thế nào" in enc.queries[-1]  # accents restored
    finally:
        engine.close()


def test_short_queries_sorting_and_settings_leave_terms_alone(index: Path) -> None:
    enc = TopicEncoder()
    engine = Engine(index, encoder=enc)
    off = Engine(index, dataclasses.replace(SearchSettings(), semantic=False), encoder=enc)
    try:
        _ids(engine, "bệnh tim")  # a topic, not a question
        _ids(engine, QUESTION, sort="newest")
        _ids(off, QUESTION)
        assert enc.queries == []
    finally:
        engine.close()
        off.close()


def test_an_index_without_vectors_or_a_broken_encoder_ranks_by_terms(tmp_path: Path, index: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    bare = tmp_path / "bare"
    index_articles(ARTICLES, bare, BuildOptions(workers=1, progress="quiet"))
    enc = TopicEncoder()
    lexical = Engine(bare, encoder=enc)
    broken = Engine(index, encoder=TopicEncoder(fail=True))
    plain = Engine(index, dataclasses.replace(SearchSettings(), semantic=False))
    try:
        assert _ids(lexical, QUESTION) == _ids(plain, QUESTION) and enc.queries == []
        assert _ids(broken, QUESTION) == _ids(plain, QUESTION)
        assert "semantic re-ranking off" in capsys.readouterr().err
        assert _ids(broken, QUESTION) == _ids(plain, QUESTION)  # and stays off, quietly
        assert capsys.readouterr().err == ""
    finally:
        lexical.close()
        broken.close()
        plain.close()


def test_vectors_added_after_opening_are_used(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    index_articles(ARTICLES, path, BuildOptions(workers=1, progress="quiet"))
    enc = TopicEncoder()
    engine = Engine(path, dataclasses.replace(DENSE, refresh_interval=0.0), encoder=enc)
    try:
        before = _ids(engine, QUESTION)
        live = live_dir(path)
        assert live is not None
        embed_index(live, TopicEncoder())  # `vnsearch embed` while the server runs
        after = _ids(engine, QUESTION)
        assert set(before[:2]) == {"a-gan", "c-phoi"} and set(after[:2]) == {"b-tim", "d-tim2"}
    finally:
        engine.close()
