"""Query syntax: phrases, exclusions, OR, field prefixes, and input that must degrade to
plain text instead of failing."""
from __future__ import annotations

import sys
import types

import pytest

from search.syntax import Atom, clean_query, parse
from tests.search.test_query import NASTY


@pytest.mark.parametrize("q", NASTY)
def test_nasty_inputs_parse_to_bounded_text(q: str) -> None:
    p = parse(q, max_chars=500)
    assert len(p.text) <= 500 and p.text == p.text.strip()
    assert "\x00" not in p.text and "\ud800" not in p.text
    for clause in p.clauses:
        assert clause.alternatives and all(a.text for a in clause.alternatives)


def test_phrases_exclusions_or_and_fields() -> None:
    p = parse('"học tập" -"tấm gương" -xấu huyện OR tỉnh title:Đảng body:"chi bộ" category:Luật -category:"Bộ luật"')
    assert p.clauses[0].alternatives == (Atom("học tập", phrase=True),)
    assert Atom("tấm gương", phrase=True, negated=True) in p.excluded
    assert Atom("xấu", negated=True) in p.excluded
    assert p.clauses[1].alternatives == (Atom("huyện"), Atom("tỉnh"))
    assert Atom("Đảng", field="title") in p.clauses[2].alternatives
    assert Atom("chi bộ", phrase=True, field="body") in p.clauses[3].alternatives
    assert p.categories == ("Luật",)
    assert p.excluded_categories == ("Bộ luật",)


def test_consecutive_words_form_one_run() -> None:
    p = parse("huyen uy an phu")
    assert len(p.clauses) == 1
    assert p.clauses[0].alternatives[0].text == "huyen uy an phu"


def test_unbalanced_quote_falls_back_to_plain_text() -> None:
    p = parse('"học tập và làm theo')
    assert len(p.clauses) == 1
    atom = p.clauses[0].alternatives[0]
    assert not atom.phrase and atom.text == "học tập và làm theo"


def test_stray_operators_are_ignored() -> None:
    p = parse("OR học OR OR tập OR -")
    texts = [a.text for c in p.clauses for a in c.alternatives]
    assert "OR" not in " ".join(texts)
    assert {"học", "tập"} <= set(" ".join(texts).split())


def test_control_characters_removed_and_length_capped() -> None:
    assert clean_query("a\x00b\x1fc", 500) == "a b c"
    assert len(clean_query("x" * 10_000, 500)) == 500


def test_legacy_repair_used_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("indexer.legacy")
    fake.repair_text = lambda s: s.replace("Hu¸n", "Huấn")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake)
    assert clean_query("Hu¸n luyện", 500) == "Huấn luyện"


def test_legacy_repair_errors_are_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("indexer.legacy")

    def boom(s: str) -> str:
        raise RuntimeError("bug")

    fake.repair_text = boom  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake)
    assert clean_query("học tập", 500) == "học tập"
