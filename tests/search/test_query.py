"""Query compilation (no index needed except where a vocabulary is used); the syntax has
tests/search/test_syntax.py."""
from __future__ import annotations

import unicodedata

import pytest
from whoosh import query as wq

from config.settings import SearchSettings
from indexer.synonyms import load_synonyms
from search.fastrank import flat_terms
from search.query import QueryContext, compile_query, load_stopwords
from search.ranking import RankingParams
from search.syntax import parse

NASTY = [
    '"unbalanced', 'a "b c', '""', '"', "*", "?", "hoc*", "h?c tap", "OR", "OR OR", "a OR",
    "OR a", "a OR OR b", "-", "--", "- -", "-a", '-"', '-"a b', "title:", "title:\"", "category:",
    "body:-", "(", ")", "((a) OR b", "!!!", ".,;:", "\x00\x01\x1f", "a\u200bb", "\ud800", "x\udfffy", "\ufeff",
    "x" * 10_000, "a " * 3000, "-a -b -c", "title:title:x", "a:b:c", "\\", "''", "“trích dẫn",
    "03-CT/TW OR", "%", "<script>", "&amp;", "NOT a", "AND", "a AND b",
]


def ctx(**kw) -> QueryContext:
    return QueryContext(synonyms=load_synonyms(SearchSettings().synonyms),
                        stopwords=load_stopwords(), **kw)


def walk(q: wq.Query):
    yield q
    for child in q.children():
        yield from walk(child)


@pytest.mark.parametrize("q", NASTY)
def test_nasty_inputs_never_raise(q: str) -> None:
    p = parse(q, max_chars=500)
    assert len(p.text) <= 500
    c = compile_query(p, ctx())
    for node in walk(c.scored or wq.Every()):
        # no wildcard-style queries that can pin a CPU
        assert not isinstance(node, (wq.Wildcard, wq.Prefix, wq.FuzzyTerm, wq.Regex))


def test_wildcards_are_literal_punctuation() -> None:
    c = compile_query(parse("hoc* t?p"), ctx())
    terms = {n.text for n in walk(c.match) if isinstance(n, wq.Term)}
    assert "hoc" in terms and "t" in terms and "p" in terms


def test_tone_placement_and_nfd_compile_identically() -> None:
    a = compile_query(parse("Huyện ủy"), ctx())
    b = compile_query(parse("Huyện uỷ"), ctx())
    c = compile_query(parse(unicodedata.normalize("NFD", "Huyện ủy")), ctx())
    assert str(a.scored) == str(b.scored) == str(c.scored)


def test_each_syllable_matches_exact_or_folded_with_lower_folded_weight() -> None:
    c = compile_query(parse("học"), ctx())
    terms = {(n.fieldname, n.text): n.boost for n in walk(c.match) if isinstance(n, wq.Term)}
    assert ("body", "học") in terms and ("body_f", "hoc") in terms
    assert terms[("body_f", "hoc")] < terms[("body", "học")]
    # the body fields index the whole article (title, summary, body); the title and summary
    # fields add a bonus on top, so a title match > a summary match > a body-only match
    body = terms[("body", "học")]
    assert body + terms[("title", "học")] > body + terms[("summary", "học")] > body > 0


def test_words_and_phrases_are_boosters_not_requirements() -> None:
    c = compile_query(parse("học tập"), ctx())
    required = {(n.fieldname, n.text) for n in walk(c.match) if isinstance(n, wq.Term)}
    assert ("body_w", "học_tập") not in required
    boosters = [n for n in walk(c.scored) if isinstance(n, (wq.Term, wq.Phrase))]
    assert any(isinstance(n, wq.Term) and n.text == "học_tập" for n in boosters)
    assert any(isinstance(n, wq.Term) and (n.fieldname, n.text) == ("body_b", "học tập") for n in boosters)
    old_index = compile_query(parse("học tập"), ctx(bigrams=False))
    assert any(isinstance(n, wq.Phrase) and n.words == ["học", "tập"] for n in walk(old_index.scored))


def test_stopwords_low_weight_in_free_text_kept_in_phrases() -> None:
    stop = load_stopwords()
    assert {"và", "của", "là", "không", "gì"} <= stop
    c = compile_query(parse("học và làm"), ctx())
    # not required: "và" does not appear in the match query
    assert not any(isinstance(n, wq.Term) and n.text == "và" for n in walk(c.match))
    boosts = [n.boost for n in walk(c.scored) if isinstance(n, wq.Term) and n.text == "và"]
    assert boosts and max(boosts) < RankingParams().body
    phrase = compile_query(parse('"học và làm"'), ctx())
    assert any(isinstance(n, wq.Phrase) and n.words == ["học", "và", "làm"] for n in walk(phrase.match))


def test_only_stopwords_are_still_searched() -> None:
    c = compile_query(parse("và"), ctx())
    assert any(isinstance(n, wq.Term) and n.text == "và" for n in walk(c.match))


def test_codes_are_one_unit_with_doc_number_key() -> None:
    c = compile_query(parse("52/2014/QH13"), ctx())
    nodes = list(walk(c.match))
    assert any(isinstance(n, wq.Term) and (n.fieldname, n.text) == ("doc_number_key", "52/2014/qh13") for n in nodes)
    assert any(isinstance(n, wq.Term) and (n.fieldname, n.text) == ("body_w", "52/2014/qh13") for n in nodes)
    assert any(isinstance(n, wq.Phrase) and n.words == ["52", "2014", "qh13"] for n in nodes)


def test_scoring_queries_have_no_positional_phrases() -> None:
    """Phrases decide what matches; the scoring forms (strict and relaxed) use bigram
    terms instead, so ranking stays on the vectorised path (a phrase there sent "541.000
    bài" with a date filter, where only the relaxed query matched, to Whoosh's
    document-at-a-time scorer: 237 ms instead of 8 ms on the 84k index)."""
    for q in ("541.000 bài", "234-234B hoàng", 'thủ tướng "chính phủ"', "UBND tỉnh"):
        c = compile_query(parse(q), ctx())
        assert c.relaxed is not None and c.relaxed_scored is not None, q
        assert any(isinstance(n, wq.Phrase) for n in walk(c.relaxed)), q  # matching keeps them
        for scored in (c.scored, c.relaxed_scored):
            assert not any(isinstance(n, wq.Phrase) for n in walk(scored)), q
            assert flat_terms(scored) is not None, q


def test_synonyms_apply_both_ways_as_phrases() -> None:
    a = compile_query(parse("UBND tỉnh"), ctx())
    assert any(isinstance(n, wq.Phrase) and n.words == ["ủy", "ban", "nhân", "dân"] for n in walk(a.match))
    b = compile_query(parse("Ủy ban nhân dân tỉnh"), ctx())
    assert any(isinstance(n, wq.Term) and n.text == "ubnd" for n in walk(b.match))


def test_term_cap() -> None:
    c = compile_query(parse(" ".join(f"từ{i}" for i in range(100))), ctx(max_terms=8))
    assert len(c.syllables) == 8


def test_short_queries_require_all_terms_long_queries_any() -> None:
    short = compile_query(parse("huyện ủy an phú"), ctx())
    assert isinstance(short.match, wq.And)
    assert short.relaxed is not None
    long_q = compile_query(parse("người lao động đơn phương chấm dứt hợp đồng thì được bồi thường"), ctx())
    assert isinstance(long_q.match, wq.Or)


def test_questions_rank_by_any_term() -> None:
    """An answer rewords the question, so a short question does not require all its
    terms; the same words as keywords still do."""
    for q in ("lá tre có hình dáng như thế nào?", "chè xanh nên dùng lúc nào", "tác dụng phụ là gì"):
        c = compile_query(parse(q), ctx())
        assert isinstance(c.match, wq.Or), q
    keywords = compile_query(parse("lá tre hình dáng"), ctx())
    assert isinstance(keywords.match, wq.And)
    strict = compile_query(parse("lá tre có hình dáng như thế nào?"), ctx(ranking=RankingParams(and_questions=True)))
    assert isinstance(strict.match, wq.And)


def test_exclusions_exact_for_accented_folded_for_plain() -> None:
    c = compile_query(parse("a -hôn"), ctx())
    fields = {n.fieldname for n in walk(c.exclude) if isinstance(n, wq.Term)}
    assert fields == {"title", "summary", "body"}
    c = compile_query(parse("a -hon"), ctx())
    fields = {n.fieldname for n in walk(c.exclude) if isinstance(n, wq.Term)}
    assert fields == {"title_f", "summary_f", "body_f"}


def test_field_restriction() -> None:
    c = compile_query(parse("title:đảng"), ctx())
    fields = {n.fieldname for n in walk(c.match) if isinstance(n, wq.Term)}
    assert fields == {"title", "title_f"}


class _FakeVocab:
    """Restores from a fixed table; records the function words it was given."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.function_words: frozenset[str] = frozenset()

    def restore(self, syllables, *, function_words=frozenset()):
        self.function_words = function_words
        return [self.table.get(s, s) for s in syllables]

    def word_df(self, word: str) -> int:
        return 0


def test_restored_function_words_are_stopwords() -> None:
    """Typed without accents, "gi" is not in the stopword list but its restored "gì" is:
    it gets the function-word weight and is not required, as when typed accented."""
    vocab = _FakeVocab({"hoc": "học", "tap": "tập", "gi": "gì"})
    c = compile_query(parse("hoc tap gi"), ctx(vocab=vocab))
    required = {n.text for n in walk(c.match) if isinstance(n, wq.Term)}
    assert "hoc" in required and "gi" not in required and "gì" not in required
    assert "gì" in vocab.function_words
    accented = compile_query(parse("học tập gì"), ctx())
    assert not any(isinstance(n, wq.Term) and n.text == "gì" for n in walk(accented.match))
