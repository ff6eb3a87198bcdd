"""indexer.normalize: every normalization rule, the offset map, folding; on real text too.

Also home of the helpers the other chain tests share: where the shared data is, readers
for its corpora, and `other_tone_style` (real text rewritten with the other tone-mark
placement).
"""
from __future__ import annotations

import gzip
import json
import lzma
import re
import unicodedata
from pathlib import Path

import pytest

from indexer.normalize import Normalized, _length_changing, canonical_tones, fold, length_preserving, normalize, normalize_text

SHARED = Path(__file__).resolve().parents[3] / "shared"
DATA = SHARED / "data"
SEED = SHARED / "seeds" / "portal-article-an-giang-2014.txt"


# --- helpers shared by the chain tests --------------------------------------------------

def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def seed_text() -> str:
    return need(SEED).read_text(encoding="utf-8")


def read_jsonl(path: Path, limit: int) -> list[dict]:
    """The first `limit` records of a (.xz/.gz) JSONL corpus; skips the test if absent."""
    need(path)
    opener = lzma.open if path.suffix == ".xz" else gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if len(out) >= limit:
                break
            out.append(json.loads(line))
    return out


def news_texts(limit: int = 30) -> list[str]:
    """Title + body of the first news documents of VNTC and Dân trí."""
    docs = read_jsonl(DATA / "vntc-news" / "corpus.jsonl.xz", limit)
    docs += read_jsonl(DATA / "unc-dantri-news" / "corpus.jsonl.gz", limit)
    return [(d.get("title") or "") + "\n" + (d.get("body") or "") for d in docs]


def law_texts(limit: int = 3, chars: int = 20_000) -> list[str]:
    """The beginnings of the first laws of the VLC corpus (headers, codes, dates)."""
    return [d["body"][:chars] for d in read_jsonl(DATA / "vlc-vietnamese-laws" / "corpus.jsonl.gz", limit)]


_TONES = "\u0300\u0301\u0309\u0303\u0323"
_OLD_TO_NEW = {
    unicodedata.normalize("NFC", f + t) + s: f + unicodedata.normalize("NFC", s + t)
    for first, seconds in (("o", "ae"), ("u", "y"))
    for f in (first, first.upper())
    for s in seconds + seconds.upper()
    for t in _TONES
}
_OLD_STYLE = re.compile("(?<![qQ])(" + "|".join(_OLD_TO_NEW) + r")(?![^\W_])")


def other_tone_style(text: str) -> str:
    """Move the tone of open oa/oe/uy syllables to the second vowel (hòa -> hoà,
    thủy -> thuỷ; quý, hoàn, khuya untouched): the placement our normalizer does not use.
    Written independently of indexer.normalize, from the orthography rule."""
    return _OLD_STYLE.sub(lambda m: _OLD_TO_NEW[m.group(1)], text)


# --- NFC --------------------------------------------------------------------------------

def test_nfd_input_comes_out_nfc_with_spans_over_the_decomposed_characters() -> None:
    original = unicodedata.normalize("NFD", "Việt Nam")
    assert len(original) == 10  # 'ệ' is e + circumflex + dot below
    norm = normalize(original)
    assert norm.text == "Việt Nam"
    assert unicodedata.is_normalized("NFC", norm.text)
    # 'ệ' (normalized index 2) came from original[2:5]
    assert norm.span(2, 3) == (2, 5)
    assert norm.span(0, 4) == (0, 6)
    assert original[slice(*norm.span(5, 8))] == "Nam"


def test_marks_in_any_order_compose_the_same() -> None:
    a = normalize("Vie\u0323\u0302t").text  # dot below first
    b = normalize("Vie\u0302\u0323t").text  # circumflex first
    assert a == b == "Việt"


def test_mark_written_as_entity_composes_with_its_letter() -> None:
    # found by the property tests: the decoded mark stayed apart ('y' + U+0300, not NFC)
    norm = normalize("Huyện ủy&#768;")
    assert unicodedata.is_normalized("NFC", norm.text)
    assert norm.text == "Huyện ủỳ"
    assert norm.span(7, 8) == (7, 14)  # 'ỳ' covers the 'y' and the whole entity


def test_mark_after_zero_width_space_composes_with_its_letter() -> None:
    norm = normalize("a\u200b\u0301")
    assert norm.text == "á"
    assert norm.span(0, 1) == (0, 3)


def test_uncomposable_marks_keep_their_own_offsets() -> None:
    # found by the property tests: a base letter took its stray mark's span, so the
    # syllable's original slice normalized to something else ('0' vs '0\u0300')
    norm = normalize("&amp; x\u0301")
    assert norm.text == "& x\u0301"
    assert norm.span(2, 3) == (6, 7)
    assert norm.span(3, 4) == (7, 8)


# --- tone placement ---------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Huyện uỷ", "Huyện ủy"),
    ("HOÀ BÌNH", "HÒA BÌNH"), ("Thuỵ Điển", "Thụy Điển"), ("tuỳ", "tùy"), ("xoè", "xòe"),
    ("hoạ sĩ", "họa sĩ"), ("loà xoà", "lòa xòa"), ("Hoà,", "Hòa,"), ("(hoà)", "(hòa)"),
    ("hoà_bình", "hòa_bình"),  # found by the property tests: '_' ends the syllable
])
def test_open_oa_oe_uy_take_the_old_placement(given: str, expected: str) -> None:
    assert normalize(given).text == expected
    assert normalize(unicodedata.normalize("NFD", given)).text == expected


@pytest.mark.parametrize("unchanged", [
    "quý", "Quý", "QUÝ", "quỳ", "quỷ",  # qu-: the mark stays on y
    "hoàn", "thuyền", "khuỷu", "hoàng", "toán", "khuya", "nguyễn", "hòa", "thủy",
])
def test_other_syllables_keep_their_marks(unchanged: str) -> None:
    assert normalize(unchanged).text == unchanged


def test_canonical_tones_is_length_preserving_and_idempotent() -> None:
    text = "Huyện uỷ hoà giải, thuỷ lợi, khoẻ mạnh"
    once = canonical_tones(text)
    assert len(once) == len(text)
    assert canonical_tones(once) == once == "Huyện ủy hòa giải, thủy lợi, khỏe mạnh"


def test_tone_helper_and_normalizer_agree_on_the_seed_page() -> None:
    text = seed_text()
    variant = other_tone_style(text)
    assert variant != text and "Huyện uỷ" in variant  # the helper did rewrite real text
    assert normalize(variant).text == normalize(text).text


# --- zero-width characters, soft hyphens --------------------------------------------------

@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_and_soft_hyphen_are_removed(zw: str) -> None:
    original = f"Huy{zw}ện ủy{zw}"
    norm = normalize(original)
    assert norm.text == "Huyện ủy"
    assert norm.span(3, 4) == (4, 5)  # 'ệ' after the removed character
    assert original[slice(*norm.span(0, 5))] == f"Huy{zw}ện"


@pytest.mark.parametrize("entity", ["&shy;", "&ZeroWidthSpace;", "&#8203;", "&#xFEFF;", "&zwj;"])
def test_zero_width_characters_written_as_entities_are_removed(entity: str) -> None:
    # found by the property tests: '&shy;' decoded to a soft hyphen that stayed in the text
    norm = normalize(f"ng{entity}hiên cứu")
    assert norm.text == "nghiên cứu"


# --- quotes, dashes, spaces -----------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("\u201cHọc tập\u201d", '"Học tập"'), ("\u2018a\u2019", "'a'"), ("\u00abx\u00bb", '"x"'),
    ("a\u2013b", "a-b"), ("a\u2014b", "a-b"), ("a\u2212b", "a-b"), ("a\u2011b", "a-b"),
    ("a\u00a0b", "a b"), ("a\u2009b", "a b"), ("a\tb", "a b"),
])
def test_typographic_quotes_dashes_and_spaces_are_unified(given: str, expected: str) -> None:
    norm = normalize(given)
    assert norm.text == expected
    assert norm.starts is None  # one character for one: the identity map


def test_typographic_dash_inside_a_code() -> None:
    assert normalize("Chỉ thị số 03\u2013CT/TW").text == "Chỉ thị số 03-CT/TW"


# --- HTML entities --------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("Ph&amp;T", "Ph&T"), ("&quot;Bác Hồ&quot;", '"Bác Hồ"'), ("Vi&#7879;t", "Việt"),
    ("Vi&#x1EC7;t", "Việt"), ("a&nbsp;b", "a b"), ("&lt;b&gt;", "<b>"),
    ("&ldquo;x&rdquo;", '"x"'), ("a&ndash;b", "a-b"),
])
def test_html_entities_are_decoded(given: str, expected: str) -> None:
    assert normalize(given).text == expected


def test_entity_span_covers_the_whole_entity() -> None:
    original = "Vi&#7879;t Nam"
    norm = normalize(original)
    assert norm.text == "Việt Nam"
    assert norm.span(2, 3) == (2, 9)
    assert original[slice(*norm.span(0, 4))] == "Vi&#7879;t"
    assert original[slice(*norm.span(5, 8))] == "Nam"


@pytest.mark.parametrize("kept", ["&ampx;", "&notit;", "AT&T", "R&D;", "&#;", "a & b", "&#12345678;"])
def test_text_that_is_not_an_entity_is_kept(kept: str) -> None:
    # '&notit;' is no entity: html.unescape would read '&not' + 'it;' (its legacy rule)
    assert normalize(kept).text == kept


# --- the offset map -----------------------------------------------------------------------

def test_identity_map_for_length_preserving_input() -> None:
    norm = normalize("Huyện uỷ An Phú")
    assert norm.starts is None and norm.ends is None
    assert norm.span(6, 8) == (6, 8)


@pytest.mark.parametrize("text", [
    "Huyện uỷ An Phú", "03–CT/TW “hoà”\u00a0x", "", "a & b", "AT&T;", "&amp;", "x&#768;",
    "a\u200bb", "ngh\u00adi", unicodedata.normalize("NFD", "Huyện"), "\ufeffđầu",
])
def test_length_preserving_says_whether_normalize_keeps_offsets(text: str) -> None:
    norm = normalize(text)
    assert length_preserving(text) == (norm.starts is None)
    # the slow path (entities, zero-width characters, NFC by cluster) changes nothing there
    mid, starts, ends = _length_changing(text)
    unchanged = mid == text and list(starts) == list(range(len(text)))
    if length_preserving(text):
        assert unchanged and len(norm.text) == len(text)


def test_empty_span_maps_to_a_position() -> None:
    original = "&amp;ab"
    norm = normalize(original)
    assert norm.text == "&ab"
    assert norm.span(1, 1) == (5, 5)
    assert norm.span(3, 3) == (len(original), len(original))


def test_normalized_is_frozen_and_keeps_the_original() -> None:
    norm = normalize("a&amp;b")
    assert isinstance(norm, Normalized) and norm.original == "a&amp;b"
    with pytest.raises(AttributeError):
        norm.text = "x"  # type: ignore[misc]


def test_normalize_text_is_normalize_dot_text() -> None:
    for s in ("Huyện uỷ", unicodedata.normalize("NFD", "Việt"), "a&amp;b", ""):
        assert normalize_text(s) == normalize(s).text


# --- folding --------------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("Huyện ủy", "Huyen uy"), ("đường", "duong"), ("ĐẢNG", "DANG"), ("ưu tiên", "uu tien"),
    ("ơn", "on"), ("Hồ Chí Minh", "Ho Chi Minh"), ("a\u0301", "a"), ("03-CT/TW", "03-CT/TW"),
])
def test_fold(given: str, expected: str) -> None:
    assert fold(given) == expected


def test_fold_is_length_preserving_on_nfc_vietnamese() -> None:
    text = normalize(seed_text()).text
    folded = fold(text)
    assert len(folded) == len(text)
    assert all(ord(c) < 0x250 or not c.isalpha() for c in folded)  # no Vietnamese letters left


# --- real text ------------------------------------------------------------------------------

def test_real_text_nfd_and_tone_variants_normalize_the_same() -> None:
    texts = [seed_text(), *news_texts(20), *law_texts(2, 10_000)]
    for text in texts:
        expected = normalize(text).text
        assert unicodedata.is_normalized("NFC", expected)
        assert normalize(unicodedata.normalize("NFD", text)).text == expected
        assert normalize(other_tone_style(text)).text == expected
        assert normalize(expected).text == expected  # idempotent on real text


def test_real_text_spans_cover_the_original() -> None:
    for text in [seed_text(), *news_texts(10)]:
        nfd = unicodedata.normalize("NFD", text)
        norm = normalize(nfd)
        assert len(norm.starts) == len(norm.text)
        # every syllable comes from a slice that normalizes to it (not every character:
        # the tone move of 'hoá' -> 'hóa' trades marks between two characters)
        runs = list(re.finditer(r"[^\W_]+", norm.text))
        assert len(runs) > 100
        for m in runs:
            s, e = norm.span(*m.span())
            assert normalize(nfd[s:e]).text == m.group()
        assert norm.span(0, len(norm.text)) == (0, len(nfd))
