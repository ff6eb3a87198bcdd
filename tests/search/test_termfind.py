"""TermFinder against the indexing tokenizer (`syllable_terms`), the path it replaces.

For a set of terms, the reference is every syllable or code `syllable_terms` gives whose
folded form is a term. TermFinder must find exactly those spans for syllable terms, and
cover exactly the same letters and digits for code terms (it marks a query code found
inside a longer code as one span where the tokenizer has the longer code's parts).
"""
from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.analysis import syllable_terms
from indexer.normalize import ONE_FOR_ONE, fold, normalize
from search.termfind import Occurrence, TermFinder, _fold, fold_lower
from tests.indexer.test_properties import texts


def reference(text: str, terms: set[str]) -> set[tuple[int, int]]:
    return {(s, e) for _, f, s, e in syllable_terms(text) if f in terms}


def found(text: str, terms: set[str]) -> set[tuple[int, int]]:
    return {(o.start, o.end) for o in TermFinder(terms).find(text) if o.folded in terms}


def covered(text: str, spans: set[tuple[int, int]]) -> set[int]:
    return {i for s, e in spans for i in range(s, e) if text[i].isalnum()}


def check(text: str, terms: set[str]) -> None:
    # a query code comes with its parts, as the query compiler gives them
    terms = terms | {p for t in terms for p in re.findall(r"[^\W_]+", t)}
    want, got = reference(text, terms), found(text, terms)
    if all(t.isalnum() for t in terms):
        assert got == want, (text, terms)
    else:
        assert covered(text, got) == covered(text, want), (text, terms, got, want)
    finder = TermFinder(terms)
    occ = finder.find(text)
    # in text order, a code before its parts (the highlighter relies on it: no sort)
    assert occ == sorted(occ, key=lambda o: (o.start, -o.end))
    for o in occ:  # offsets give the term back from the original
        assert normalize(text[o.start:o.end]).text.lower() == o.term
        assert fold(o.term) == o.folded
    check_scan(finder, text)


def check_scan(finder: TermFinder, text: str) -> None:
    """`scan` gives the pattern's own hits."""
    folded, has_mark = _fold(text)
    want = list(finder._spans(text, folded, has_mark))  # noqa: SLF001
    assert list(finder.scan(text)) == want


def terms_of(text: str, rng: random.Random, k: int) -> set[str]:
    """k folded terms the text has (syllables and codes), plus one it has not."""
    folded = sorted({f for _, f, _, _ in syllable_terms(text)})
    return set(rng.sample(folded, min(k, len(folded)))) | {"xyzzyq"}


def test_news_and_laws_match_the_tokenizer(articles) -> None:  # noqa: ANN001
    rng = random.Random(7)
    for a in articles[:150]:
        for text in (a.title, a.body[:3000]):
            if text:
                check(text, terms_of(text, rng, 6))


def test_codes_dates_and_numbers() -> None:
    text = ("Chỉ thị số 03-CT/TW ngày 14/9/2005 của TP.HCM; giá 8,172.423 tỉ đồng; "
            "Luật số 52/2014/QH13 và NĐ-CP, a@b.vn, http://x.vn/tin_tuc")
    for terms in ({"03-ct/tw"}, {"ct", "tw"}, {"9/2005"}, {"14/9/2005"}, {"tp.hcm"}, {"hcm"},
                  {"172.423"}, {"52/2014/qh13"}, {"qh13"}, {"13"}, {"nd-cp", "cp"}, {"tuc"},
                  {"vn"}, {"b"}):
        check(text, terms)
    occ = TermFinder({"03-ct/tw"}).find(text)
    assert [(o.term, o.syllable) for o in occ] == [
        ("03-ct/tw", False), ("03", True), ("ct", True), ("tw", True)]
    assert [text[o.start:o.end] for o in TermFinder({"9/2005"}).find(text)] == ["9/2005", "9", "2005"]


def test_whole_syllables_only() -> None:
    text = "Thuyền đi qua huyện; QH13 khác H13; ab_cd và thuỷ-điện"
    assert found(text, {"uy"}) == set()
    assert found(text, {"13"}) == set()
    assert [text[s:e] for s, e in sorted(found(text, {"ab", "cd"}))] == ["ab", "cd"]
    assert [text[s:e] for s, e in sorted(found(text, {"thuy", "dien"}))] == ["thuỷ", "điện"]
    check(text, {"uy", "13", "ab", "cd", "thuy", "dien", "huyen"})


def test_accents_case_tones_nfd_and_entities_map_to_original_offsets() -> None:
    parts = ["Huyện Uỷ ", unicodedata.normalize("NFD", "huyện ủy "), "HUYỆN ỦY ", "&#7911;y u&shy;y"]
    text = "".join(parts)
    occ = TermFinder({"huyen", "uy"}).find(text)
    assert [o.term for o in occ] == ["huyện", "ủy", "huyện", "ủy", "huyện", "ủy", "ủy", "uy"]
    check(text, {"huyen", "uy"})
    assert [text[o.start:o.end] for o in occ[-2:]] == ["&#7911;y", "u&shy;y"]
    first = occ[0]
    assert text[first.start:first.end] == "Huyện"
    assert [o.term for o in TermFinder({"hoa"}).find("hoà hòa HOÀ")] == ["hòa"] * 3


def test_hits_of_an_unnormalized_text_get_normalized_terms() -> None:
    # NFC text with the new tone placement and an en dash: found without normalizing all
    # of it, each hit normalized on its own (the same terms as the normalized text gives)
    text = "Hoà bình, HOÀ nhập; Chỉ thị 03–CT/TW về hòa giải"
    occ = TermFinder({"hoa", "03-ct/tw", "ct"}).find(text, 5)
    assert [(o.term, text[o.start - 5:o.end - 5]) for o in occ] == [
        ("hòa", "Hoà"), ("hòa", "HOÀ"), ("03-ct/tw", "03–CT/TW"), ("03", "03"),
        ("ct", "CT"), ("tw", "TW"), ("hòa", "hòa")]
    assert occ == TermFinder({"hoa", "03-ct/tw", "ct"}).find(text + "&amp;", 5)  # general path


def test_stray_mark_after_a_term_continues_the_syllable() -> None:
    text = "ab\u0301c ab\u0308 ab"  # "ab" + a mark no precomposed form absorbs
    assert found(text, {"ab"}) == reference(text, {"ab"})
    # scan's path for texts with marks
    assert list(TermFinder({"ab"}).scan(text)) == [(9, 11)]  # a mark continues "ab"


def test_joined_means_no_other_syllable_between() -> None:
    occ = TermFinder({"hoc", "tap", "lam"}).find("học, tập và làm")
    assert [(o.term, o.joined) for o in occ] == [("học", False), ("tập", True), ("làm", False)]


def test_nothing_to_find() -> None:
    assert not TermFinder(set()).active
    assert TermFinder(set()).find("abc") == []
    assert TermFinder({"abc"}).find("") == []
    for finder, text in ((TermFinder(set()), "abc"), (TermFinder({"abc"}), ""), (TermFinder({"abc"}), "ab c")):
        assert list(finder.scan(text)) == []


def test_fold_lower_keeps_length_and_folds() -> None:
    assert fold_lower("Huyện Uỷ ĐÀ NẴNG 03-CT/TW") == "huyen uy da nang 03-ct/tw"
    assert fold_lower("03–CT/TW “Hoà”") == "03-ct/tw \"hoa\""
    sample = "".join(chr(c) for c in range(0x20, 0x2000)) + "\ud800 \U0001F600 Ａ"
    assert len(fold_lower(sample)) == len(sample)
    for ch in sample:
        # normalize's one-to-one rules (dashes, quotes, spaces) apply, except to ASCII
        want = fold((ch if ch.isascii() else ONE_FOR_ONE.get(ch, ch)).lower())
        if unicodedata.category(ch)[0] == "M":
            assert fold_lower(ch) == "\ue000", ch  # a mark is never a letter to the pattern
        elif len(want) == 1:
            assert fold_lower(ch) == want, ch


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.randoms(use_true_random=False))
@example("8,172.423 và 172.423", random.Random(0))
def test_arbitrary_text_matches_the_tokenizer(text: str, rng: random.Random) -> None:
    check(text, terms_of(text, rng, 3))


def test_term_with_a_stray_mark_is_found_through_the_tokenizer() -> None:
    # (found by hypothesis) a mark no letter absorbs sends `find` to the tokenizer, whose
    # folded terms keep the mark: they are compared with the terms as given, not with the
    # pattern's fold_lower forms (where the mark is a placeholder)
    check("0\u17b4", {"0", "0\u17b4", "xyzzyq"})
    assert [o.term for o in TermFinder({"0\u17b4"}).find("x 0\u17b4")] == ["0\u17b4"]


@pytest.mark.parametrize("text", ["", " ", "_", "\u0301", "a\u0301", "&amp;"])
def test_degenerate(text: str) -> None:
    check(text, {"a", "amp"})
    assert all(isinstance(o, Occurrence) for o in TermFinder({"a"}).find(text))
