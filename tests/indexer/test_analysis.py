"""indexer.analysis: the whole chain on real text.

For the seed page, news (VNTC, Dân trí) and laws (VLC), in NFC, NFD, the other tone-mark
placement and both at once: every term's offsets point at original characters that
normalize to the term, and the terms are those of the NFC original. Legacy-encoded bytes
decoded by indexer.legacy give the same terms too.
"""
from __future__ import annotations

import functools
import importlib
import unicodedata

import pytest

from indexer.analysis import (
    Analysis, Token, analyze, analyze_normalized, index_terms, joined_terms, syllable_terms, word_term,
)
from indexer.normalize import fold, normalize
from indexer.segment import get_segmenter
from tests.indexer.test_normalize import law_texts, news_texts, other_tone_style, seed_text

STREAMS = ("syllables", "words", "folded", "bigrams")


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[str, ...]:
    return (seed_text(), *news_texts(25), *law_texts(3, 20_000))


def terms(a: Analysis) -> dict[str, list[tuple[str, int]]]:
    return {s: [(t.text, t.pos) for t in getattr(a, s)] for s in STREAMS}


def lower_norm(original: str, t: Token) -> str:
    return normalize(original[t.start:t.end]).text.lower()


def check_offsets(original: str, a: Analysis) -> None:
    """Each term is what its original slice normalizes to."""
    n = len(original)
    assert len(a.syllables) == len(a.folded)
    for t, f in zip(a.syllables, a.folded):
        assert 0 <= t.start < t.end <= n
        assert lower_norm(original, t) == t.text, (t, original[t.start:t.end])
        assert (f.start, f.end, f.pos) == (t.start, t.end, t.pos)
        assert f.text == fold(t.text)
    for t in a.words:
        assert 0 <= t.start < t.end <= n
        got = lower_norm(original, t)
        if "_" in t.text:  # a multi-syllable word: its syllables joined by '_'
            assert "_".join(got.split()) == t.text, (t, original[t.start:t.end])
        else:  # a protected token, or a number's form without thousands dots
            assert t.text in (got, got.replace(".", "")), (t, original[t.start:t.end])
    for t, (a1, a2) in zip(a.bigrams, zip(a.syllables, a.syllables[1:])):
        assert (t.text, t.pos, t.start, t.end) == (a1.text + " " + a2.text, a1.pos, a1.start, a2.end)


@functools.lru_cache(maxsize=None)
def reference(i: int) -> dict[str, list[tuple[str, int]]]:
    return terms(analyze(corpus()[i]))


VARIANTS = {
    "nfc": lambda t: t,
    "nfd": lambda t: unicodedata.normalize("NFD", t),
    "tone": other_tone_style,
    "tone+nfd": lambda t: unicodedata.normalize("NFD", other_tone_style(t)),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_real_text_offsets_and_terms_across_variants(variant: str) -> None:
    texts = corpus()
    assert len(texts) >= 50
    changed = 0
    for i, text in enumerate(texts):
        original = VARIANTS[variant](text)
        changed += original != text
        a = analyze(original)
        check_offsets(original, a)
        assert terms(a) == reference(i), i
    if variant != "nfc":
        assert changed >= len(texts) // 2  # the variant really rewrote most texts


def test_seed_page_terms() -> None:
    a = analyze(seed_text())
    words = {t.text for t in a.words}
    syllables = {t.text for t in a.syllables}
    folded = {t.text for t in a.folded}
    assert {"học_tập", "hồ_chí_minh", "huyện_ủy", "đạo_đức", "an_phú", "03-ct/tw", "30/12/2014"} <= words
    assert {"huyện", "ủy", "03", "ct", "tw", "30", "12", "2014", "đạo"} <= syllables
    assert {"huyen", "uy", "dao", "duc", "ho", "chi", "minh"} <= folded
    # kept apart: no folded-only form among syllables, no syllables among words
    assert "dao" not in syllables and "học" not in words and "đạo" not in folded


def test_highlight_offsets_land_on_the_variant_characters() -> None:
    original = unicodedata.normalize("NFD", "Ban Thường vụ Huyện uỷ An Phú")
    a = analyze(original)
    word = next(t for t in a.words if t.text == "huyện_ủy")
    assert original[word.start:word.end] == unicodedata.normalize("NFD", "Huyện uỷ")
    uy = next(t for t in a.syllables if t.text == "ủy")
    assert original[uy.start:uy.end] == unicodedata.normalize("NFD", "uỷ")


@pytest.mark.parametrize("code, parts", [
    ("03-CT/TW", ["03", "ct", "tw"]),
    ("05-NQ/TU", ["05", "nq", "tu"]),
    ("52/2014/QH13", ["52", "2014", "qh13"]),
    ("15/2020/NĐ-CP", ["15", "2020", "nđ", "cp"]),
    ("TP.HCM", ["tp", "hcm"]),
    ("30/12/2014", ["30", "12", "2014"]),
    ("1.639", ["1", "639"]),
    ("ttdt@angiang.gov.vn", ["ttdt", "angiang", "gov", "vn"]),
    ("http://www.angiang.gov.vn/tin-tuc", ["http", "www", "angiang", "gov", "vn", "tin", "tuc"]),
])
def test_protected_tokens_are_whole_terms_and_searchable_by_parts(code: str, parts: list[str]) -> None:
    original = f"Theo {code} của Huyện ủy"
    a = analyze(original)
    whole = [t for t in a.words if t.text == code.lower()]
    assert len(whole) == 1 and original[whole[0].start:whole[0].end] == code
    syl = [t.text for t in a.syllables]
    assert syl[1:1 + len(parts)] == parts
    assert [t.text for t in a.folded][1:1 + len(parts)] == [fold(p) for p in parts]
    for t in a.syllables[1:1 + len(parts)]:
        assert original[t.start:t.end].lower() == t.text


def test_number_with_thousands_dots_is_also_a_plain_number() -> None:
    a = analyze("Có 1.639 lượt xem")
    assert [(t.text, t.pos) for t in a.words if t.text[0].isdigit()] == [("1.639", 1), ("1639", 1)]
    assert [t.text for t in analyze("tỷ lệ 3,5").words] == ["tỷ_lệ", "3,5"]


def test_positions() -> None:
    a = analyze("Huyện ủy An Phú, Chỉ thị 03-CT/TW")
    assert [(t.text, t.pos) for t in a.syllables] == [
        ("huyện", 0), ("ủy", 1), ("an", 2), ("phú", 3), ("chỉ", 4), ("thị", 5), ("03", 6),
        ("ct", 7), ("tw", 8)]
    # words stream positions count words (punctuation dropped)
    assert [(t.text, t.pos) for t in a.words] == [
        ("huyện_ủy", 0), ("an_phú", 1), ("chỉ_thị", 2), ("03-ct/tw", 3)]
    assert [t.text for t in a.bigrams][:2] == ["huyện ủy", "ủy an"]


def test_word_term() -> None:
    words = get_segmenter().words("Huyện ủy và 03-CT/TW")
    assert [word_term(w) for w in words] == ["huyện_ủy", "và", "03-ct/tw"]


def test_analyze_normalized_with_given_words() -> None:
    norm = normalize(unicodedata.normalize("NFD", "Huyện uỷ An Phú"))
    words = get_segmenter().words(norm.text)
    assert terms(analyze_normalized(norm, words=words)) == terms(analyze_normalized(norm))
    assert terms(analyze_normalized(norm)) == terms(analyze("Huyện ủy An Phú"))


def test_empty_and_punctuation_only() -> None:
    for text in ("", "   ", "...", "\u200b", "&amp;"):
        a = analyze(text)
        assert (a.syllables, a.words, a.folded, a.bigrams) == ([], [], [], [])


def test_lone_surrogate_is_no_crash() -> None:
    # was: SystemError out of crfsuite (see test_segment)
    assert [t.text for t in analyze("Hà Nội \ud83d").syllables] == ["hà", "nội"]


def test_found_by_properties() -> None:
    # 'hoà_bình': the syllable was left in the new placement (the '_' blocked the move),
    # while its original slice 'hoà' normalized to 'hòa'
    a = analyze("hoà_bình")
    assert [t.text for t in a.syllables] == ["hòa", "bình"]
    check_offsets("hoà_bình", a)
    # '&A0;0̀' (slow path, stray mark): the syllable '0' took the span of '0' + mark
    for text in ("&A0;0\u0300", "&amp; x\u0301y", "a&shy;b", "Huyện ủy&#768;"):
        check_offsets(text, analyze(text))
    assert [t.text for t in analyze("ng&shy;hiên cứu").syllables] == ["nghiên", "cứu"]


def test_a_texts_terms_are_its_lines_terms_joined() -> None:
    # prepare analyses a title once for the title and the body fields (`joined_terms`)
    for text in corpus():
        lines = text.split("\n")
        assert index_terms(text) == joined_terms([index_terms(line) for line in lines])
        if len(lines) > 2:  # and in two parts, as title and body
            cut = len(lines) // 2
            parts = ["\n".join(lines[:cut]), "\n".join(lines[cut:])]
            assert index_terms(text) == joined_terms([index_terms(p) for p in parts])
    assert joined_terms([index_terms("Huyện ủy")]) == index_terms("Huyện ủy")
    assert joined_terms([index_terms("học"), index_terms(""), index_terms("tập")]).bigrams == ["học tập"]


# --- syllable_terms (highlighting without the CRF) ----------------------------------------

def test_syllable_terms_match_analysis() -> None:
    for text in corpus()[:10]:
        original = unicodedata.normalize("NFD", other_tone_style(text))
        got = syllable_terms(original)
        a = analyze(original)
        syl = [(t.text, t.start, t.end) for t in a.syllables]
        # the analysis's syllables, plus each protected token whole, before its parts
        assert [(term, s, e) for term, _, s, e in got if (term, s, e) in set(syl)] == syl
        extra = {term for term, _, s, e in got if (term, s, e) not in set(syl)}
        assert extra <= {t.text for t in a.words}
        for term, folded, s, e in got:
            assert normalize(original[s:e]).text.lower() == term
            assert folded == fold(term)


# --- legacy encodings -----------------------------------------------------------------------

def _legacy():
    try:
        mod = importlib.import_module("indexer.legacy")
    except ImportError:
        return None
    if not (hasattr(mod, "encode_legacy") and hasattr(mod, "decode_bytes")):
        return None
    return mod


@pytest.mark.parametrize("encoding", ["vni", "tcvn3"])
def test_legacy_bytes_decode_to_the_same_terms(encoding: str) -> None:
    legacy = _legacy()
    if legacy is None:
        pytest.skip("indexer.legacy (encode_legacy/decode_bytes) is not available yet")
    tested = 0
    for i, text in enumerate(corpus()):
        try:
            data = legacy.encode_legacy(text, encoding)
        except ValueError:
            continue  # a character outside the legacy chart (e.g. CJK, some symbols)
        decoded = legacy.decode_bytes(data)
        a, ref = terms(analyze(decoded)), reference(i)
        # TCVN3 has no capital toned letters ('Ủy' comes back 'ủy'): the lowercase terms
        # are equal; the CRF sees the case, so words are compared for VNI only
        assert a["syllables"] == ref["syllables"], i
        assert a["folded"] == ref["folded"], i
        if encoding == "vni":
            assert a["words"] == ref["words"], i
        check_offsets(decoded, analyze(decoded))
        tested += 1
    assert tested >= 10
