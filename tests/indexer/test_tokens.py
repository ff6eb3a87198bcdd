"""indexer.tokens: syllables, punctuation and protected tokens (codes, numbers, dates,
e-mails, URLs) with exact offsets; codes stay whole and keep searchable parts."""
from __future__ import annotations

import re
import unicodedata

import pytest

from indexer.normalize import normalize_text
from indexer.tokens import Kind, RawToken, code_parts, split_tokens
from tests.indexer.test_normalize import DATA, law_texts, news_texts, read_jsonl, seed_text


def toks(text: str) -> list[tuple[str, Kind]]:
    return [(t.text, t.kind) for t in split_tokens(text)]


@pytest.mark.parametrize("code, kind, parts", [
    ("03-CT/TW", Kind.CODE, ["03", "CT", "TW"]),
    ("05-NQ/TU", Kind.CODE, ["05", "NQ", "TU"]),
    ("52/2014/QH13", Kind.CODE, ["52", "2014", "QH13"]),
    ("15/2020/NĐ-CP", Kind.CODE, ["15", "2020", "NĐ", "CP"]),
    ("NĐ-CP", Kind.CODE, ["NĐ", "CP"]),
    ("TP.HCM", Kind.CODE, ["TP", "HCM"]),
    ("Tp.HCM", Kind.CODE, ["Tp", "HCM"]),
    ("COVID-19", Kind.CODE, ["COVID", "19"]),
    ("30/12/2014", Kind.DATE, ["30", "12", "2014"]),
    ("30-4-1975", Kind.DATE, ["30", "4", "1975"]),
    ("1.639", Kind.NUMBER, ["1", "639"]),
    ("3,5", Kind.NUMBER, ["3", "5"]),
    ("ttdt@angiang.gov.vn", Kind.EMAIL, ["ttdt", "angiang", "gov", "vn"]),
    ("http://www.angiang.gov.vn/wps/portal/", Kind.URL, ["http", "www", "angiang", "gov", "vn", "wps", "portal"]),
    ("www.dantri.com.vn", Kind.URL, ["www", "dantri", "com", "vn"]),
])
def test_protected_tokens_stay_whole_with_their_parts(code: str, kind: Kind, parts: list[str]) -> None:
    text = f"Theo {code}, ngày"
    tokens = split_tokens(text)
    assert [(t.text, t.kind) for t in tokens] == [
        ("Theo", Kind.SYLLABLE), (code, kind), (",", Kind.PUNCT), ("ngày", Kind.SYLLABLE)]
    tok = tokens[1]
    assert (tok.start, tok.end) == (5, 5 + len(code))
    got = code_parts(tok)
    assert [p.text for p in got] == parts
    assert all(p.kind is Kind.SYLLABLE and text[p.start:p.end] == p.text for p in got)


def test_a_sentence_with_codes() -> None:
    assert toks("Chỉ thị số 03-CT/TW của Bộ Chính trị (TGAG).") == [
        ("Chỉ", Kind.SYLLABLE), ("thị", Kind.SYLLABLE), ("số", Kind.SYLLABLE),
        ("03-CT/TW", Kind.CODE), ("của", Kind.SYLLABLE), ("Bộ", Kind.SYLLABLE),
        ("Chính", Kind.SYLLABLE), ("trị", Kind.SYLLABLE), ("(", Kind.PUNCT),
        ("TGAG", Kind.SYLLABLE), (")", Kind.PUNCT), (".", Kind.PUNCT)]


@pytest.mark.parametrize("text, expected", [
    ("kinh tế-xã hội", ["kinh", "tế", "-", "xã", "hội"]),  # hyphenated words are no code
    ("Hà Nội-Hải Phòng", ["Hà", "Nội", "-", "Hải", "Phòng"]),
    ("v.v.", ["v", ".", "v", "."]),
    ("thành phố.Ban", ["thành", "phố", ".", "Ban"]),
    ("a_b", ["a", "_", "b"]),
    ("1- Từng", ["1", "-", "Từng"]),
    ("www. x", ["www", ".", "x"]),
    ("http: //x", ["http", ":", "/", "/", "x"]),
])
def test_what_is_not_protected_splits(text: str, expected: list[str]) -> None:
    assert [t for t, _ in toks(text)] == expected


@pytest.mark.parametrize("text, expected", [
    # real VNTC text: a sentence glued to the previous one after its period
    ("ngày 21/6/2004.Rất", [("ngày", Kind.SYLLABLE), ("21/6/2004", Kind.DATE), (".", Kind.PUNCT),
                            ("Rất", Kind.SYLLABLE)]),
    ("TP.Vũng Tàu", [("TP", Kind.SYLLABLE), (".", Kind.PUNCT), ("Vũng", Kind.SYLLABLE),
                     ("Tàu", Kind.SYLLABLE)]),
    ("80km/h.Cơn", [("80km/h", Kind.CODE), (".", Kind.PUNCT), ("Cơn", Kind.SYLLABLE)]),
    ("năm 2005.Theo", [("năm", Kind.SYLLABLE), ("2005", Kind.SYLLABLE), (".", Kind.PUNCT),
                       ("Theo", Kind.SYLLABLE)]),
    ("8-1-2006.Được", [("8-1-2006", Kind.DATE), (".", Kind.PUNCT), ("Được", Kind.SYLLABLE)]),
    # capitals after the period belong to a code
    ("TP.HCM.", [("TP.HCM", Kind.CODE), (".", Kind.PUNCT)]),
])
def test_sentences_glued_at_a_period_are_cut(text: str, expected: list[tuple[str, Kind]]) -> None:
    # was: one CODE '21/6/2004.Rất' (the date no longer a date term), 'TP.Vũng' (no word
    # 'Vũng Tàu'): 37 of 5,568 codes in the first 2,000 VNTC bodies
    assert toks(text) == expected


def test_offsets_are_exact_and_whitespace_dropped() -> None:
    text = "  Huyện ủy\tAn\u3000Phú:\n03-CT/TW…  "
    for t in split_tokens(text):
        assert text[t.start:t.end] == t.text
        assert not t.text.isspace()
    assert [t.text for t in split_tokens(text)] == ["Huyện", "ủy", "An", "Phú", ":", "03-CT/TW", "…"]


def test_combining_marks_stay_with_their_syllable() -> None:
    # found by the property tests: a mark NFC cannot compose was cut off as punctuation,
    # so the syllable no longer matched its original characters
    assert toks("x\u0301 0\u0300, a\u0301\u0302-1") == [
        ("x\u0301", Kind.SYLLABLE), ("0\u0300", Kind.SYLLABLE), (",", Kind.PUNCT),
        ("a\u0301\u0302-1", Kind.CODE)]
    assert toks("-\u0301a") == [("-", Kind.PUNCT), ("\u0301", Kind.PUNCT), ("a", Kind.SYLLABLE)]


def test_empty_and_blank() -> None:
    assert split_tokens("") == []
    assert split_tokens(" \n\t ") == []


def test_raw_token_fields() -> None:
    t = split_tokens("Hồ")[0]
    assert t == RawToken("Hồ", 0, 2, Kind.SYLLABLE)
    assert Kind.CODE.value == "code"


# --- real text ------------------------------------------------------------------------------

def test_seed_page_codes_and_dates_survive_whole() -> None:
    text = normalize_text(seed_text())
    tokens = split_tokens(text)
    codes = [t.text for t in tokens if t.kind is Kind.CODE]
    dates = [t.text for t in tokens if t.kind is Kind.DATE]
    assert codes.count("03-CT/TW") == 3
    assert dates == ["30/12/2014", "30/12/2014"]
    assert "1639" in [t.text for t in tokens]
    for t in tokens:
        assert text[t.start:t.end] == t.text


_LAW_NUMBER = re.compile(r"\b\d+/\d{4}/[A-ZĐ]+\d*(?:-[A-ZĐ]+\d*)*")


def test_law_numbers_in_real_laws_survive_whole() -> None:
    texts = [normalize_text(t) for t in law_texts(20, 30_000)]
    found = 0
    for text in texts:
        tokens = {(t.start, t.end): t for t in split_tokens(text)}
        for m in _LAW_NUMBER.finditer(text):
            tok = tokens.get(m.span())
            assert tok is not None and tok.kind is Kind.CODE, (m.group(), text[m.start() - 20:m.end() + 20])
            found += 1
    assert found >= 20  # "Luật số: 91/2015/QH13" and the laws they cite


def test_real_news_protected_tokens() -> None:
    docs = read_jsonl(DATA / "vntc-news" / "corpus.jsonl.xz", 1200)
    text = normalize_text("\n".join(d["body"] for d in docs))
    tokens = split_tokens(text)
    by_kind: dict[Kind, set[str]] = {}
    for t in tokens:
        by_kind.setdefault(t.kind, set()).add(t.text)
    assert "TP.HCM" in by_kind[Kind.CODE]
    assert any(re.fullmatch(r"\d{1,3}(?:\.\d{3})+", n) for n in by_kind[Kind.NUMBER])
    assert any(e.endswith("@fpt.vn") for e in by_kind[Kind.EMAIL])
    assert by_kind[Kind.URL] and by_kind[Kind.DATE]
    glued = [c for c in by_kind[Kind.CODE]
             if any(w[0].isupper() and not w.isupper() for w in re.findall(r"\.([^\W\d_]+)", c))]
    assert glued == []
    # every ASCII e-mail address is one EMAIL token
    starts = {t.start: t for t in tokens}
    emails = list(re.finditer(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", text))
    assert len(emails) > 20
    for m in emails:
        tok = starts.get(m.start())
        assert tok is not None and tok.kind is Kind.EMAIL, m.group()
        if tok.text != m.group():
            # known limit: a sentence glued on without a space reads as one more domain
            # label ("ducanhcis@hcm.vnn.vn.Việt"); the address's parts stay searchable
            assert tok.text.startswith(m.group()) and text[tok.start:tok.end] == tok.text
            assert "." in tok.text[len(m.group()) - 3:], tok.text


def test_real_text_nfd_tokenizes_like_nfc_after_normalization() -> None:
    for text in [seed_text(), *news_texts(10)]:
        a = [(t.text, t.kind) for t in split_tokens(normalize_text(text))]
        b = [(t.text, t.kind) for t in split_tokens(normalize_text(unicodedata.normalize("NFD", text)))]
        assert a == b
