"""Property tests (hypothesis) for the analysis chain on arbitrary Unicode text.

For any text (combining marks, control characters, HTML entities, zero-width characters
and Vietnamese mixed in; surrogates excluded):
- normalize, analyze and syllable_terms do not crash;
- every term's offsets lie in the original text, and normalizing the original slice gives
  the term back (lowercased; accent-folded for the folded stream; '_'-joined syllables for
  multi-syllable words);
- the fast tokenizer gives exactly what the plain regex scan gives.

Minimal failing examples found here are pinned as ordinary tests in the module test files.
"""
from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.analysis import analyze, index_terms, joined_terms, syllable_terms
from indexer.normalize import fold, normalize
from indexer.segment import get_segmenter
from indexer.tokens import Kind, RawToken, _scan_piece, split_tokens

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

VIETNAMESE = [
    "Huyện ủy", "Huyện uỷ", "hòa", "hoà", "thuỷ", "khoẻ", "quý", "Quý", "QUÝ", "đ", "Đ", "ư",
    "03-CT/TW", "52/2014/QH13", "15/2020/NĐ-CP", "TP.HCM", "30/12/2014", "1.639", "3,5",
    "a@b.vn", "http://x.vn/a?b=1", "www.an-giang.vn", "học tập", "Hồ Chí Minh", "_", "-", "/",
]
SPECIAL = [
    "&amp;", "&nbsp;", "&shy;", "&#7879;", "&#x1EC7;", "&ZeroWidthSpace;", "&quot;", "&lt;",
    "&#0;", "&#x110000;", "&fjlig;", "&NotEqualTilde;", "&#769;", "&", "&#", ";",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
    "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b",
    "\u201c", "\u201d", "\u2018", "\u2019", "\u2013", "\u2014", "\u00a0", "\u3000",
    "\t", "\n", "\r", "\x00", "\x1c", "\x85", "\u2028", " ",
]

# arbitrary Unicode (no surrogates), mixed with pieces that exercise each rule
any_char = st.characters(exclude_categories=("Cs",))
piece = st.one_of(
    st.text(any_char, max_size=6),
    st.sampled_from(VIETNAMESE),
    st.sampled_from(SPECIAL),
    st.text(st.sampled_from("aAoOuUyYeEiqQđ0123456789 .-/,_@"
                            "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"), max_size=8),
)
texts = st.lists(piece, max_size=12).map("".join)


def _lower_norm(original: str, start: int, end: int) -> str:
    return normalize(original[start:end]).text.lower()


def check_analysis(original: str) -> None:
    a = analyze(original)
    n = len(original)
    assert len(a.syllables) == len(a.folded)
    for tok, ftok in zip(a.syllables, a.folded):
        assert 0 <= tok.start <= tok.end <= n, tok
        assert (ftok.start, ftok.end, ftok.pos) == (tok.start, tok.end, tok.pos)
        assert _lower_norm(original, tok.start, tok.end) == tok.text, (tok, original[tok.start:tok.end])
        assert fold(_lower_norm(original, tok.start, tok.end)) == ftok.text
    assert [t.pos for t in a.syllables] == list(range(len(a.syllables)))
    for tok in a.words:
        assert 0 <= tok.start <= tok.end <= n, tok
        got = _lower_norm(original, tok.start, tok.end)
        assert tok.text in ("_".join(got.split()), got.replace(".", "")), (tok, got)
    for tok in a.bigrams:
        assert 0 <= tok.start <= tok.end <= n, tok


def check_syllable_terms(original: str) -> None:
    for term, folded, start, end in syllable_terms(original):
        assert 0 <= start <= end <= len(original)
        assert _lower_norm(original, start, end) == term, (term, original[start:end])
        assert fold(term) == folded


def check_normalize(original: str) -> None:
    norm = normalize(original)
    assert unicodedata.is_normalized("NFC", norm.text), norm.text
    assert normalize(norm.text).text == norm.text  # idempotent
    if norm.starts is not None:
        assert len(norm.starts) == len(norm.ends) == len(norm.text)
        assert list(norm.starts) == sorted(norm.starts)
        assert all(0 <= s < e <= len(original) for s, e in zip(norm.starts, norm.ends))
    else:
        assert len(norm.text) == len(original)
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u201c\u201d\u2013\u2014\u00a0":
        assert ch not in norm.text


def regex_tokens(text: str) -> list[tuple[str, int, int, Kind]]:
    """The tokenizer as one regex scan over the whole text (the reference for the fast
    path that cuts at whitespace first)."""
    out: list[RawToken] = []
    _scan_piece(text, 0, out.append)
    return [(t.text, t.start, t.end, t.kind) for t in out]


@SETTINGS
@given(texts)
@example("hoà_bình")
@example("a &shy;b")
def test_analysis_offsets_reproduce_terms(text: str) -> None:
    check_analysis(text)


@SETTINGS
@given(texts)
def test_syllable_terms_offsets_reproduce_terms(text: str) -> None:
    check_syllable_terms(text)


@SETTINGS
@given(texts)
def test_normalize_invariants(text: str) -> None:
    check_normalize(text)


@SETTINGS
@given(st.text(st.one_of(any_char, st.sampled_from("abc 1.-/,_@:")), max_size=40))
def test_fast_tokenizer_equals_regex_scan(text: str) -> None:
    got = [(t.text, t.start, t.end, t.kind) for t in split_tokens(text)]
    assert got == regex_tokens(text)


# --- variants of Vietnamese text give the same terms ----------------------------------------

SYLLABLES = (
    "Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh hòa bình "
    "thủy lợi khỏe mạnh quý Quý khuya hoàn toàn thuyền khuỷu tay Thụy Điển xòe tùy họa sĩ "
    "QUỐC HỘI CỘNG HÒA Ủy ban nhân dân đảng bộ chi bộ Bác Nghị định"
).split()
JOINERS = [" ", " ", " ", ", ", ". ", "\n", " - ", "-", "/", "_", " (", ") ", ' "', '" ',
           " 03-CT/TW ", " 30/12/2014 ", " 1.639 ", " TP.HCM "]
viet_texts = st.lists(st.one_of(st.sampled_from(SYLLABLES), st.sampled_from(JOINERS)),
                      max_size=30).map("".join)


def _terms(text: str) -> dict[str, list[tuple[str, int]]]:
    a = analyze(text)
    return {s: [(t.text, t.pos) for t in getattr(a, s)]
            for s in ("syllables", "words", "folded", "bigrams")}


@SETTINGS
@given(viet_texts)
def test_nfd_and_tone_variants_give_the_same_terms(text: str) -> None:
    from tests.indexer.test_normalize import other_tone_style

    expected = _terms(text)
    for variant in (unicodedata.normalize("NFD", text), other_tone_style(text),
                    unicodedata.normalize("NFD", other_tone_style(text))):
        assert _terms(variant) == expected
        check_analysis(variant)


def index_words_of(words: list) -> tuple[list[str], list[tuple]]:
    """What `Segmenter.index_words` must give, from `Segmenter.words`."""
    parts = [p.text for w in words for p in w.parts]
    kept = [(w.kind, "_".join(p.text for p in w.parts) if w.kind is Kind.SYLLABLE else w.text)
            for w in words if w.kind is not Kind.SYLLABLE or len(w.parts) > 1]
    return parts, kept


@SETTINGS
@given(st.one_of(texts, viet_texts))
def test_index_words_are_words_without_offsets(text: str) -> None:
    seg = get_segmenter()
    norm = normalize(text).text
    got = seg.index_words(norm)
    assert (got.parts, got.words) == index_words_of(seg.words(norm))


@SETTINGS
@given(st.lists(texts, min_size=1, max_size=4))
def test_terms_of_lines_joined_are_the_lines_terms_joined(parts: list[str]) -> None:
    # what prepare relies on to analyse a title once for the title and the body fields
    assert index_terms("\n".join(parts)) == joined_terms([index_terms(p) for p in parts])
