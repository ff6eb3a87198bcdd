"""indexer.synonyms: the abbreviation/synonym table of config/, matched on analysed units,
so that either form of a group finds the other (case, tone placement and NFD ignored)."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from indexer.analysis import analyze
from indexer.normalize import normalize_text
from indexer.synonyms import SynonymTable, load_synonyms, units
from tests.indexer.test_normalize import DATA, other_tone_style, read_jsonl

CONFIG = Path(__file__).resolve().parents[2] / "config" / "synonyms.txt"


@pytest.fixture(scope="module")
def table() -> SynonymTable:
    return load_synonyms(CONFIG)


def alternatives(table: SynonymTable, query: str) -> list[tuple[int, int, set[tuple[str, ...]]]]:
    return [(x.start, x.end, set(x.alternatives)) for x in table.expansions(units(query))]


def test_units() -> None:
    assert units("Ủy ban nhân dân") == ("ủy", "ban", "nhân", "dân")
    assert units("Uỷ BAN nhân dân!") == ("ủy", "ban", "nhân", "dân")
    assert units(unicodedata.normalize("NFD", "Ủy ban")) == ("ủy", "ban")
    assert units("TP.HCM") == ("tp.hcm",)  # a code is one unit
    assert units("UBND TP.HCM") == ("ubnd", "tp.hcm")
    assert units("...") == ()


def test_config_table_loads(table: SynonymTable) -> None:
    lines = [line for line in CONFIG.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(table) == len(lines) >= 20


def test_no_form_belongs_to_two_groups(table: SynonymTable) -> None:
    seen: dict[tuple[str, ...], int] = {}
    for i, group in enumerate(table._groups):
        for form in group:
            assert seen.setdefault(form, i) == i, f"{form} is in two groups"


def test_every_form_is_made_of_index_terms(table: SynonymTable) -> None:
    """A form's units are what the index holds for that text: its syllable terms, or for a
    code its whole term in the words stream, so expanding a query to it can match."""
    text = CONFIG.read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        for form in line.split(" = "):
            a = analyze(form)
            form_units = units(form)
            syllables = tuple(t.text for t in a.syllables)
            codes = tuple(t.text for t in a.words if "_" not in t.text)
            assert form_units in (syllables, codes), (form, form_units, syllables, codes)


@pytest.mark.parametrize("query, start, end, expected", [
    ("UBND tỉnh An Giang", 0, 1, ("ủy", "ban", "nhân", "dân")),
    ("Ủy ban nhân dân tỉnh", 0, 4, ("ubnd",)),
    ("Uỷ ban nhân dân tỉnh", 0, 4, ("ubnd",)),  # the other tone placement
    ("ủy BAN Nhân Dân", 0, 4, ("ubnd",)),  # case
    ("ubnd", 0, 1, ("ủy", "ban", "nhân", "dân")),
    ("HĐND huyện", 0, 1, ("hội", "đồng", "nhân", "dân")),
    ("Hội đồng nhân dân", 0, 4, ("hđnd",)),
    ("tin TP.HCM", 1, 2, ("thành", "phố", "hồ", "chí", "minh")),
    ("Thành phố Hồ Chí Minh", 0, 5, ("tp.hcm",)),
    ("TP Hồ Chí Minh", 0, 4, ("sài", "gòn")),  # the longest form wins over "TP"
    ("TP Cần Thơ", 0, 1, ("thành", "phố")),
    ("NĐ-CP", 0, 1, ("nghị", "định", "chính", "phủ")),
    ("công nghiệp hoá hiện đại hoá", 0, 6, ("cnh-hđh",)),
    ("kinh tế - xã hội", 0, 4, ("kt-xh",)),
])
def test_either_form_finds_the_other(table: SynonymTable, query: str, start: int, end: int,
                                     expected: tuple[str, ...]) -> None:
    found = alternatives(table, query)
    assert any((s, e) == (start, end) and expected in alts for s, e, alts in found), found


def config_forms() -> list[list[str]]:
    return [line.split(" = ") for line in CONFIG.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_both_directions_for_every_group_in_any_case(table: SynonymTable) -> None:
    for forms in config_forms():
        group = {units(f) for f in forms}
        for form in forms:
            for query in (form, form.lower(), form.upper(), unicodedata.normalize("NFD", form)):
                q = units(query)
                got = table.expansions(q)
                assert len(got) == 1 and (got[0].start, got[0].end) == (0, len(q)), (query, got)
                assert set(got[0].alternatives) >= group - {units(form)}, query


def test_lowercase_code_finds_its_group(table: SynonymTable) -> None:
    # was: "tp.hcm" (the tokenizer splits a lowercase "tp.hcm" into tp + hcm) matched only
    # "TP = Thành phố", and "nđ-cp" nothing; the config promises matching ignores case
    assert units("tp.hcm") == ("tp", "hcm")
    (x,) = table.expansions(units("tp.hcm"))
    assert (x.start, x.end) == (0, 2)
    assert {("thành", "phố", "hồ", "chí", "minh"), ("tp.hcm",), ("sài", "gòn")} <= set(x.alternatives)
    (x,) = table.expansions(units("tin TP HCM hôm nay"))
    assert (x.start, x.end) == (1, 3) and ("tp.hcm",) in x.alternatives
    (x,) = table.expansions(units("nghị định nđ-cp"))
    assert (x.start, x.end) == (2, 4) and ("nghị", "định", "chính", "phủ") in x.alternatives


def test_nfd_and_tone_variants_of_forms_match(table: SynonymTable) -> None:
    for form in ("Ủy ban nhân dân", "Công nghiệp hóa hiện đại hóa", "Thành phố Hồ Chí Minh"):
        for variant in (unicodedata.normalize("NFD", form), other_tone_style(form)):
            assert table.expansions(units(variant)) == table.expansions(units(form))


def test_no_match_and_partial_match(table: SynonymTable) -> None:
    assert table.expansions(units("học tập và làm theo")) == []
    assert table.expansions(units("nhân dân")) == []  # part of a form is no form
    assert table.expansions([]) == []


def test_parse_rules() -> None:
    t = SynonymTable.parse("# comment\n\nA = B b\n  C = D = C  \n")
    assert len(t) == 2
    assert t._groups[1] == [("c",), ("d",)]  # repeated form dropped
    with pytest.raises(ValueError, match="x.txt:2"):
        SynonymTable.parse("A = B\nonly one form\n", "x.txt")
    with pytest.raises(ValueError):
        SynonymTable.parse("A=B\n")  # forms are separated by ' = '
    with pytest.raises(ValueError):
        SynonymTable.parse("A = ...\n")  # a form without any unit
    assert len(SynonymTable([])) == 0 and SynonymTable([]).expansions(["a"]) == []


def test_real_news_sentences_expand(table: SynonymTable) -> None:
    docs = read_jsonl(DATA / "vntc-news" / "corpus.jsonl.xz", 400)
    sentences = [s for d in docs for s in re.split(r"(?<=[.!?])\s+", d["body"])]
    abbreviated = [s for s in sentences if re.search(r"\bUBND\b", s)]
    spelled = [s for s in sentences if "Ủy ban nhân dân" in normalize_text(s)]
    assert abbreviated and spelled
    for s in abbreviated:
        assert any(("ủy", "ban", "nhân", "dân") in x.alternatives for x in table.expansions(units(s))), s
    for s in spelled:
        assert any(("ubnd",) in x.alternatives for x in table.expansions(units(s))), s
