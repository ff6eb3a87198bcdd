"""Snippets and highlighted titles: exact offsets, escaping, long documents."""
from __future__ import annotations

import html
import re
import time
import unicodedata

import pytest

from config.settings import SearchSettings
from indexer.synonyms import load_synonyms
from search.highlight import SCAN_CHARS, Highlighter, Snippet, render
from search.query import HighlightTerms, QueryContext, compile_query, load_stopwords
from search.syntax import parse

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def hl(q: str, width: int = 240) -> Highlighter:
    ctx = QueryContext(synonyms=load_synonyms(SearchSettings().synonyms), stopwords=load_stopwords())
    return Highlighter(compile_query(parse(q), ctx).highlight, width)


def check_snippet(text: str, snip: Snippet) -> list[str]:
    """The HTML is exactly the escaped window with marks at the recorded offsets."""
    assert 0 <= snip.start <= snip.end <= len(text)
    assert snip.html == render(text, snip.start, snip.end, snip.marks)
    inner = [html.unescape(m) for m in MARK.findall(snip.html)]
    assert inner == [text[s:e] for s, e in snip.marks]
    stripped = snip.html.replace("<mark>", "").replace("</mark>", "")
    assert text[snip.start:snip.end] in html.unescape(stripped)
    assert len(html.unescape(stripped)) <= snip.end - snip.start + 2  # at most two "…"
    assert "<" not in stripped and ">" not in stripped
    return inner


def test_marks_are_original_slices(by_id) -> None:  # noqa: ANN001
    body = by_id["seed-an-giang-2014"].body
    snip = hl("huyện ủy an phú").snippet(body)
    inner = check_snippet(body, snip)
    assert "Huyện ủy An Phú" in inner  # adjacent terms become one mark
    assert len(snip.html) < 240 + 200


def test_unaccented_query_marks_accented_text(by_id) -> None:  # noqa: ANN001
    body = by_id["seed-an-giang-2014"].body
    inner = check_snippet(body, hl("huyen uy an phu").snippet(body))
    assert any(unicodedata.normalize("NFC", m).lower() == "huyện ủy an phú" for m in inner)


def test_tone_placement_and_nfd_in_document() -> None:
    text = "Hội nghị của Huyện uỷ hôm nay. " + unicodedata.normalize("NFD", "Huyện ủy họp tiếp.")
    h = hl("huyện ủy")
    snip = h.snippet(text)
    inner = check_snippet(text, snip)
    assert inner[0] == "Huyện uỷ"
    assert unicodedata.normalize("NFC", inner[1]) == "Huyện ủy"


@pytest.mark.parametrize("repeat", [15, 250])
def test_long_text_prefers_exact_accents_in_any_tone_placement(repeat: int) -> None:
    # "hoà bình" (new placement) is the query's exact "hòa bình", so it beats "hoa bình"
    # before it, in a news-length text (matched exactly) and in one past SCAN_CHARS, whose
    # window comes from a scan of the raw text with each hit normalized (when scanned hits
    # were not normalized, both weighed the same and the first won)
    filler = "Một đoạn văn không liên quan đến câu hỏi. " * repeat
    text = "Nói về hoa bình ở đây. " + filler + "Bàn về hoà bình ở đây. " + filler
    snip = hl("hòa bình").snippet(text)
    inner = check_snippet(text, snip)
    assert inner == ["hoà bình"]
    assert (len(text) > SCAN_CHARS) == (repeat == 250)


def test_phrase_marks_include_stopwords_inside_phrase() -> None:
    text = "Đẩy mạnh việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh trong cơ quan."
    inner = check_snippet(text, hl('"học tập và làm theo"').snippet(text))
    assert inner == ["học tập và làm theo"]
    # in free text, a lone stopword is not marked
    loose = check_snippet("Anh và tôi.", hl("và tôi học").snippet("Anh và tôi."))
    assert "và" not in loose


def test_escaping_of_hostile_text() -> None:
    text = ('<script>alert(1)</script> mã độc "x" & \'y\' <img src=x onerror=alert(1)> '
            'javascript:alert(1) <mark>giả</mark> mã độc')
    snip = hl("mã độc").snippet(text)
    inner = check_snippet(text, snip)
    assert inner == ["mã độc", "mã độc"]
    assert "<script>" not in snip.html and "&lt;script&gt;" in snip.html
    assert "&quot;x&quot;" in snip.html and "&#x27;y&#x27;" in snip.html and "&amp;" in snip.html
    assert "&lt;mark&gt;giả&lt;/mark&gt;" in snip.html
    title = hl("alert").mark_all("<b>alert</b>")
    assert title == "&lt;b&gt;<mark>alert</mark>&lt;/b&gt;"


def test_codes_marked_whole() -> None:
    text = "Thực hiện Chỉ thị số 03-CT/TW của Bộ Chính trị."
    inner = check_snippet(text, hl("03-CT/TW").snippet(text))
    assert inner == ["03-CT/TW"]


def test_window_prefers_most_distinct_terms_and_cuts_at_words() -> None:
    filler = "Một câu không liên quan gì đến truy vấn cả. " * 30
    text = filler + "hôn nhân " + filler + "Luật hôn nhân và gia đình quy định chế độ hôn nhân. " + filler
    h = hl("hôn nhân gia đình", width=120)
    snip = h.snippet(text)
    inner = check_snippet(text, snip)
    assert any("gia đình" in m for m in inner)
    assert snip.html.startswith("…") and snip.html.endswith("…")
    assert text[snip.start - 1].isspace() and text[snip.end].isspace()
    assert snip.end - snip.start <= 120 + 20


def test_no_match_gives_lead() -> None:
    text = "Đây là phần mở đầu của bài viết. " * 20
    snip = hl("xyzzy").snippet(text)
    check_snippet(text, snip)
    assert snip.marks == () and snip.start == 0 and snip.html.endswith("…")
    assert len(text[snip.start:snip.end]) <= 240


def test_highlight_off_is_plain_escaped() -> None:
    h = Highlighter(HighlightTerms(), 50)
    assert not h.active
    assert h.mark_all("<a> & b") == "&lt;a&gt; &amp; b"
    snip = h.snippet("x < y " * 40)
    check_snippet("x < y " * 40, snip)


def test_long_law_is_fast_and_correct(by_id) -> None:  # noqa: ANN001
    law = by_id["vlc-bo-luat-hinh-su"].body
    assert len(law) > 500_000
    h = hl("tội phạm môi trường")
    t = time.perf_counter()
    snip = h.snippet(law)
    took = time.perf_counter() - t
    inner = check_snippet(law, snip)
    assert {m.lower() for m in inner} & {"tội phạm", "môi trường"}
    assert took < 0.5, took
    # a match only near the end of the document is still found
    tail = law + "\nĐiều cuối: từ khóa xyzabc ở cuối văn bản."
    inner = check_snippet(tail, hl("xyzabc").snippet(tail))
    assert inner == ["xyzabc"]


def test_nfd_long_document_falls_back_to_prefix() -> None:
    text = unicodedata.normalize("NFD", "Mở đầu học tập. " + "câu khác " * 5000)
    snip = hl("học tập").snippet(text)
    inner = check_snippet(text, snip)
    assert [unicodedata.normalize("NFC", m) for m in inner] == ["học tập"]


@pytest.mark.parametrize("text", ["", " ", "\n\n", "…", "a"])
def test_degenerate_texts(text: str) -> None:
    snip = hl("a").snippet(text)
    check_snippet(text, snip) if text else None
    assert isinstance(snip.html, str)
