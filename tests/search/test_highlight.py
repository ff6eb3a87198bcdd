"""Snippets and highlighted titles: exact offsets, escaping, long documents."""
from __future__ import annotations

import html
import re
import time
import unicodedata

import pytest

from config.settings import SearchSettings
from indexer.synonyms import load_synonyms
from search.highlight import Highlighter, Snippet, render
from search.query import HighlightTerms, QueryContext, compile_query, load_stopwords, parse

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


def test_long_text_prefers_exact_accents_in_any_tone_placement() -> None:
    # a long text (past 4 snippet widths) picks its window from a scan of the raw text,
    # each hit normalized: "hoà bình" (new placement) is the query's exact "hòa bình", so
    # it beats "hoa bình" before it (when scanned hits were not normalized, both weighed
    # the same and the first won)
    filler = "Một đoạn văn không liên quan đến câu hỏi. " * 15
    text = "Nói về hoa bình ở đây. " + filler + "Bàn về hoà bình ở đây. " + filler
    snip = hl("hòa bình").snippet(text)
    inner = check_snippet(text, snip)
    assert inner == ["hoà bình"]


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


def _window_from_scratch(h: Highlighter, matches: list, width: int) -> tuple[int, int, float]:
    """The window score of `Highlighter._best_window`, recomputed for every first match."""
    best = (0, 0, -1.0)
    for i, first in enumerate(matches):
        j = i
        while j + 1 < len(matches) and matches[j + 1].end - first.start <= width:
            j += 1
        window = matches[i:j + 1]
        seen: dict[str, float] = {}
        bonus = 0.0
        prev = None
        for m in window:
            if m.phrase:
                bonus += 0.75 * m.weight
                continue
            seen[m.key] = max(seen.get(m.key, 0.0), m.weight)
            if prev is not None and m.start - prev.end <= 2 and (prev.key, m.key) in h._bigrams:  # noqa: SLF001
                bonus += 0.5
            prev = m
        end = max(m.end for m in window)
        score = sum(seen.values()) + min(bonus, 3.0) - (end - first.start) / (width * 100.0)
        if score > best[2] + 1e-9:
            best = (first.start, end, score)
    return best


def test_sliding_window_equals_scoring_each_window_from_scratch() -> None:
    import random

    from search.highlight import _Match

    rng = random.Random(11)
    h = hl('"học tập" và làm theo', width=60)
    keys = ["hoc", "tap", "lam", "theo", "va"]
    for _ in range(400):
        pos, matches = 0, []
        for _ in range(rng.randint(1, 40)):
            pos += rng.choice([1, 2, 3, 5, 8, 20, 40])
            length = rng.randint(2, 6)
            if rng.random() < 0.15:
                matches.append(_Match(pos, pos + length + 5, "hoc tap", 1.0, True))
            matches.append(_Match(pos, pos + length, rng.choice(keys), rng.choice([1.0, 0.6])))
        matches.sort(key=lambda m: (m.start, -m.end))
        got = h._best_window(matches)  # noqa: SLF001
        want = _window_from_scratch(h, matches, 60)
        assert got[:2] == want[:2] and got[2] == pytest.approx(want[2]), (matches, got, want)
