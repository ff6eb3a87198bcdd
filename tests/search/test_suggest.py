"""Autocomplete, did-you-mean and accent restoration from the index vocabulary."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from whoosh import index

from indexer.normalize import fold
from search.engine import Engine, SearchRequest
from search.query import load_stopwords
from search.suggest import autocomplete, correct_syllables
from search.vocab import Vocabulary, edits1, is_plain


@pytest.fixture(scope="module")
def vocab(index_dir: Path):
    s = index.open_dir(str(index_dir)).searcher()
    yield Vocabulary(s)
    s.close()


def test_accented_candidates_by_frequency(vocab: Vocabulary) -> None:
    cands = vocab.accented("huyen")
    terms = [t for t, _ in cands]
    assert "huyện" in terms
    assert all(fold(t) == "huyen" for t in terms)
    dfs = [n for _, n in cands]
    assert dfs == sorted(dfs, reverse=True)


def test_restore_prefers_pairs_that_are_words(vocab: Vocabulary) -> None:
    assert vocab.restore(["huyen", "uy", "an", "phu"]) == ["huyện", "ủy", "an", "phú"]
    assert vocab.restore(["hoc", "tap"]) == ["học", "tập"]
    assert vocab.restore(["hôn", "nhan"]) == ["hôn", "nhân"]  # typed accents are kept


def test_edits_and_near(vocab: Vocabulary) -> None:
    assert "nhan" in edits1("nham") and "nham" not in edits1("nham")
    assert "nhân" in [t for t, _ in vocab.near("nhaan")]
    assert is_plain("an") and not is_plain("ăn") and not is_plain("03")


def test_correct_syllables(vocab: Vocabulary) -> None:
    assert correct_syllables(vocab, ["hôn", "nhâm"]) == ["hôn", "nhân"]
    assert correct_syllables(vocab, ["hoc", "tapp"]) == ["học", "tập"]


def test_autocomplete_unaccented_prefix(vocab: Vocabulary) -> None:
    out = autocomplete(vocab, "huyen u", 8)
    assert out and out[0] == "huyện ủy"
    assert all(fold(s).startswith("huyen u") for s in out)


def test_autocomplete_single_partial_syllable(vocab: Vocabulary) -> None:
    out = autocomplete(vocab, "hôn nh", 8)
    assert "hôn nhân" in out
    assert all(s.startswith("hôn ") for s in out)


def test_autocomplete_respects_typed_accents(vocab: Vocabulary) -> None:
    out = autocomplete(vocab, "luậ", 8)
    assert out and all(s.startswith("luậ") for s in out)
    assert autocomplete(vocab, "   ", 8) == [] and autocomplete(vocab, "!!", 8) == []


def test_autocomplete_after_space_extends_words(vocab: Vocabulary) -> None:
    out = autocomplete(vocab, "hôn ", 8)
    assert "hôn nhân" in out


def test_engine_suggest(engine: Engine) -> None:
    out = engine.suggest("huyen u")
    assert out[0] == "huyện ủy"
    assert len(engine.suggest("h", limit=3)) == 3
    assert engine.suggest("") == []


def test_did_you_mean_restores_accents(engine: Engine) -> None:
    r = engine.search(SearchRequest(q="hoc tap"))
    assert r.suggestion == "học tập"
    r = engine.search(SearchRequest(q="huyen uy an phu"))
    assert r.suggestion == "huyện ủy an phú"
    assert engine.search(SearchRequest(q="học tập")).suggestion is None


def test_did_you_mean_corrects_typos_with_more_hits(engine: Engine) -> None:
    bad = engine.search(SearchRequest(q="hôn nhâm"))
    assert bad.suggestion == "hôn nhân"
    good = engine.search(SearchRequest(q=bad.suggestion))
    assert good.total > bad.total


def test_did_you_mean_keeps_query_syntax(engine: Engine) -> None:
    r = engine.search(SearchRequest(q='"hôn nhâm" -xyz'))
    assert r.suggestion == '"hôn nhân" -xyz'


def test_vocabulary_belongs_to_a_generation(tmp_path: Path) -> None:
    from indexer.record import Article
    from indexer.schema import build_schema, prepare
    from config.settings import SearchSettings

    ix = index.create_in(str(tmp_path), build_schema())
    w = ix.writer()
    w.add_document(**prepare(Article(id="1", title="Huyện ủy họp", body="Huyện ủy họp.")))
    w.commit()
    eng = Engine(tmp_path, SearchSettings(refresh_interval=0.0))
    assert eng.suggest("tinh") == []
    w = ix.writer()
    w.add_document(**prepare(Article(id="2", title="Tỉnh ủy họp", body="Tỉnh ủy họp.")))
    w.commit()
    assert eng.refresh() is True
    assert eng.suggest("tinh u")[0] == "tỉnh ủy"
    eng.close()


def test_pairs_come_from_the_adjacent_pair_stream(vocab: Vocabulary) -> None:
    assert vocab.pair_df("học", "tập") > 0
    assert vocab.pair_df("tập", "học") < vocab.pair_df("học", "tập")
    assert vocab.pair_bonus("huyện", "ủy") > 0  # far more often together than by chance
    assert vocab.pair_bonus("huyện", "xyzzy") < 0  # never seen together


def test_restore_accuracy_on_folded_text(vocab: Vocabulary, by_id) -> None:
    """Sentences of the Constitution stripped of diacritics come back as written: 98% of
    syllables with the adjacent-pair model (94% when only segmented words counted)."""
    text = by_id["vlc-hien-phap"].body[:20000]
    sentences = [re.findall(r"\w+", s.lower()) for s in re.split(r"[.;:\n]", text)]
    sentences = [s for s in sentences if 4 <= len(s) <= 30][:150]
    assert len(sentences) > 100
    total = right = 0
    for sent in sentences:
        restored = vocab.restore([fold(w) for w in sent], function_words=load_stopwords())
        total += len(sent)
        right += sum(a == b for a, b in zip(sent, restored))
    assert right / total >= 0.97


def test_function_words_are_not_outvoted_by_document_counts(vocab: Vocabulary) -> None:
    stop = load_stopwords()
    assert vocab.restore(["nhu", "the", "nao"], function_words=stop) == ["như", "thế", "nào"]
