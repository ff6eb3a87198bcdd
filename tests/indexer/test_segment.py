"""indexer.segment: pyvi's CRF run directly; labels identical to stock pyvi, words with
exact offsets, protected tokens kept whole."""
from __future__ import annotations

import re
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import crf_model
from indexer.normalize import normalize_text
from indexer.segment import (
    MAX_CHUNK, Segmenter, Word, _compounds, _cut, get_segmenter, segment,
)
from indexer.tokens import Kind, RawToken, split_tokens
from tests.indexer.test_normalize import DATA, need, news_texts, seed_text

UD = DATA / "ud-vtb-wordseg"


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def word_texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


# --- parity with stock pyvi -----------------------------------------------------------------

def test_labels_equal_stock_pyvi_on_every_dev_sentence(seg: Segmenter) -> None:
    from pyvi import ViTokenizer  # stock pyvi, only here (it unpickles its model on import)

    vt = ViTokenizer.ViTokenizer
    lines = need(UD / "dev.raw.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 800
    checked = 0
    for line in lines:
        syllables = vt.sylabelize(line)[1]
        if not syllables:
            continue
        stock = vt.model.predict([vt.sent2features(syllables, False)])[0]
        assert seg.labels(syllables) == list(stock), line
        checked += 1
    assert checked == 800


def test_labels_equal_stock_pyvi_on_real_news_lines(seg: Segmenter) -> None:
    from pyvi import ViTokenizer

    vt = ViTokenizer.ViTokenizer
    lines = [line for t in news_texts(15) for line in t.split("\n") if line.strip()]
    assert len(lines) > 100
    for line in lines:
        syllables = vt.sylabelize(line)[1]
        if syllables:
            assert seg.labels(syllables) == list(vt.model.predict([vt.sent2features(syllables, False)])[0])


# --- the CRF --------------------------------------------------------------------------------

def test_features_are_pyvis_attributes_the_model_knows(seg: Segmenter) -> None:
    words = ["Huyện", "ủy", "học", "tập", "xyzzyq"]
    feats = seg.features(words)
    # pyvi's order: own attributes, the left neighbour's (+ bigram/trigram flags), the right's
    assert feats[1] == ["bias", "word.lower():ủy", "-1:word.lower():huyện", "-1:word.istitle()",
                        "+1:word.lower():học"]
    assert feats[2][-1] == "+1:word.bi_gram()" and feats[3][-1] == "-1:word.bi_gram()"
    # attributes the model does not know carry no weight: left out
    assert "word.lower():huyện" not in feats[0] and "word.lower():xyzzyq" not in feats[4]
    known = crf_model.model()[3]
    assert all(a.encode() in known for f in feats for a in f)
    assert seg._tagger.tag(feats) == seg.labels(words)


# syllables that exercise every feature: capitalised, upper case, digits, pyvi's bigrams
# and trigrams ("học tập", "ủy ban nhân"), unknown words, punctuation
_VOCAB = ["học", "tập", "Học", "TẬP", "ủy", "ban", "nhân", "dân", "Hồ", "Chí", "Minh", "thành",
          "phố", "2014", "03", "CT", "xyzzyq", ",", ".", "(", "Việt", "Nam", "của", "và", "HĐND"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=40))
def test_our_viterbi_equals_crfsuites_tagger(words: list[str]) -> None:
    seg = get_segmenter()
    assert seg.labels(words) == seg._tagger.tag(seg._items(seg._infos(words)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=12), min_size=1, max_size=6))
def test_sequences_laid_end_to_end_are_tagged_each_on_its_own(seqs: list[list[str]]) -> None:
    # a document's chunks are scored in one numpy pass: nothing may leak across their ends
    # (neighbour weights, bigram and trigram flags)
    seg = get_segmenter()
    infos = seg._infos([w for seq in seqs for w in seq])
    got = seg._viterbi(infos, [len(seq) for seq in seqs])
    want = [seg._tagger.tag(seg._items(seg._infos(seq))) for seq in seqs]
    assert [["I_W" if x else "B_W" for x in path] for path in got] == want


def test_a_full_token_cache_is_reset_and_labels_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.segment as segment_module

    texts = [normalize_text(t) for t in news_texts(4)]
    want = [word_texts(w) for w in map(Segmenter().words, texts)]
    distinct = {t.text for text in texts for t in split_tokens(text)}
    monkeypatch.setattr(segment_module, "CACHE_TOKENS", 300)
    small = Segmenter()
    assert [word_texts(small.words(t)) for t in texts + texts] == want + want
    assert len(small._cache) < len(distinct)  # it was reset on the way


def test_labels_of_nothing() -> None:
    assert get_segmenter().labels([]) == []
    assert get_segmenter().words("") == []
    assert get_segmenter() is get_segmenter()


def test_lone_surrogate_does_not_crash_the_tagger(seg: Segmenter) -> None:
    # was: SystemError from crfsuite (the attribute could not be encoded to UTF-8); a lone
    # surrogate reaches us from JSON like "\ud83d" (an emoji cut in half)
    assert word_texts(seg.words("Hà Nội \ud83d")) == ["Hà Nội"]
    assert len(seg.labels(["a", "\ud800"])) == 2


# --- words ----------------------------------------------------------------------------------

def test_words_of_the_seed_page(seg: Segmenter) -> None:
    text = normalize_text(seed_text())
    words = seg.words(text)
    texts = word_texts(words)
    for expected in ("học tập", "Hồ Chí Minh", "Huyện ủy", "Chính trị", "An Phú", "đạo đức"):
        assert expected in texts, expected
    assert "03-CT/TW" in texts and "30/12/2014" in texts
    for w in words:
        assert text[w.start:w.end] == w.text
        assert w.parts and w.parts[0].start == w.start and w.parts[-1].end == w.end
        if w.kind is Kind.SYLLABLE:
            assert " ".join(p.text for p in w.parts) == " ".join(w.text.split())
            assert w.is_compound == (len(w.parts) > 1)
        else:
            assert not w.is_compound
            assert [p.text for p in w.parts] == [p.text for p in w.parts if p.kind is Kind.SYLLABLE]
    assert not any(w.kind is Kind.PUNCT for w in words)


def test_protected_tokens_are_single_words(seg: Segmenter) -> None:
    text = "Chỉ thị số 03-CT/TW ngày 30/12/2014 và Luật số 52/2014/QH13 tại TP.HCM có 1.639 người"
    words = {w.text: w for w in seg.words(text)}
    assert words["03-CT/TW"].kind is Kind.CODE
    assert [p.text for p in words["03-CT/TW"].parts] == ["03", "CT", "TW"]
    assert words["30/12/2014"].kind is Kind.DATE
    assert words["52/2014/QH13"].kind is Kind.CODE
    assert words["TP.HCM"].kind is Kind.CODE
    assert words["1.639"].kind is Kind.NUMBER


def test_pyvi_joining_rule(seg: Segmenter) -> None:
    # a lowercase syllable is never glued before a capitalised one; digits are never glued
    words = [w for w in seg.words(normalize_text("\n".join(news_texts(10)))) if w.is_compound]
    assert len(words) > 1000
    for w in words:
        for a, b in zip(w.parts, w.parts[1:]):
            assert not (b.text[0].istitle() and not a.text[0].istitle())
            assert not a.text[0].isdigit() and not b.text[0].isdigit()


def test_words_never_span_lines(seg: Segmenter) -> None:
    text = "học\ntập Hồ Chí\nMinh"
    assert word_texts(seg.words(text))[:1] == ["học"]
    assert all("\n" not in w.text for w in seg.words(normalize_text("\n".join(news_texts(10)))))


def test_given_tokens_give_the_same_words(seg: Segmenter) -> None:
    for text in [normalize_text(t) for t in news_texts(10)] + [normalize_text(seed_text())]:
        key = lambda ws: [(w.text, w.start, w.end, w.kind) for w in ws]  # noqa: E731
        assert key(seg.words(text, split_tokens(text))) == key(seg.words(text))


def test_long_lines_are_cut_but_lose_nothing(seg: Segmenter) -> None:
    sentence = "Ban Tuyên giáo Huyện ủy chủ động phối hợp với Ban Tổ chức Huyện ủy. "
    text = sentence * (3 * MAX_CHUNK // 14 + 5)  # one line of ~3 * MAX_CHUNK tokens
    words = seg.words(text)
    syllables = [p.text for w in words for p in w.parts]
    assert syllables == [t.text for t in split_tokens(text) if t.kind is Kind.SYLLABLE]
    # cut after a sentence: every sentence segments the same
    assert word_texts(seg.words(sentence)) * (3 * MAX_CHUNK // 14 + 5) == word_texts(words)
    # no sentence punctuation at all: a hard cut at 4 * MAX_CHUNK, still nothing lost
    flat = "học tập " * (3 * MAX_CHUNK)
    assert sum(len(w.parts) for w in seg.words(flat)) == 6 * MAX_CHUNK


def test_index_words_are_words_without_offsets_on_news_and_laws(seg: Segmenter) -> None:
    from tests.indexer.test_normalize import law_texts
    from tests.indexer.test_properties import index_words_of

    texts = [normalize_text(t) for t in news_texts(60) + law_texts(3)]
    one_line = " ".join(texts[:20]).replace("\n", " ")
    texts += [one_line, re.sub(r"[.!?;:]", " ", one_line)]  # cut at sentence ends; cut hard
    long_line = max(len(split_tokens(line)) for t in texts for line in t.split("\n"))
    assert long_line >= 4 * MAX_CHUNK  # chunks cut at sentence ends and hard cuts, too
    for text in texts:
        got = seg.index_words(text)
        assert (got.parts, got.words) == index_words_of(seg.words(text))
    assert seg.index_words("").parts == [] and seg.index_words(" , .\n").words == []


def test_compounds_from_joining_tokens() -> None:
    # token k joins k - 1: 1, 2 make one word of tokens 0..2; 4 one of 3..4; 7 one of 6..7
    assert _compounds([1, 2, 4, 7]) == {0: 2, 3: 4, 6: 7}
    assert _compounds([]) == {}


def test_segment_function(seg: Segmenter) -> None:
    text = "Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh"
    assert word_texts(segment(text)) == word_texts(seg.words(text))
    assert "đạo đức" in word_texts(segment(text))


def _cut_token_by_token(run: list) -> list[list]:
    """The cutting rule as first written: grow a chunk a token at a time."""
    if len(run) < MAX_CHUNK:
        return [run]
    out, chunk = [], []
    for tok in run:
        chunk.append(tok)
        if len(chunk) >= MAX_CHUNK and tok.kind is Kind.PUNCT and tok.text in ".!?;:":
            out.append(chunk)
            chunk = []
        elif len(chunk) >= 4 * MAX_CHUNK:
            out.append(chunk)
            chunk = []
    if chunk:
        out.append(chunk)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", ";", ",", "!"]), max_size=9 * MAX_CHUNK),
       st.sampled_from([0.0, 0.001, 0.003, 0.02, 0.3]))
def test_cut_as_token_by_token(texts: list[str], keep: float) -> None:
    # sparse sentence ends (keep: the share of punctuation kept) so that hard cuts happen
    import random
    rng = random.Random(len(texts))
    texts = [t if t.isalpha() or rng.random() < keep else "x" for t in texts]
    run = [RawToken(t, i, i + 1, Kind.SYLLABLE if t.isalpha() else Kind.PUNCT)
           for i, t in enumerate(texts)]
    assert [list(c) for c in _cut(run)] == _cut_token_by_token(run)
    exact = [RawToken(".", i, i + 1, Kind.PUNCT) if i % (4 * MAX_CHUNK) == 4 * MAX_CHUNK - 1
             else RawToken("a", i, i + 1, Kind.SYLLABLE) for i in range(9 * MAX_CHUNK)]
    assert [list(c) for c in _cut(exact)] == _cut_token_by_token(exact)  # an end at the hard limit


def test_threads_sharing_a_segmenter_get_what_one_thread_gets() -> None:
    # a server's request threads and spool applier share one Segmenter: new tokens take
    # columns of its weight table (grown at 1,024, 2,048...) while other threads read theirs
    texts = [" ".join(f"xyz{t}q{k} học tập vn{t * 1000 + k}" for k in range(300)) for t in range(4)]
    alone = [[w.text for w in Segmenter().words(t)] for t in texts]
    seg = Segmenter()
    got: list[list[str]] = [[] for _ in texts]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for _ in range(3):
                got[i] = [w.text for w in seg.words(texts[i])]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    assert got == alone
