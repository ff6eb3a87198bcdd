"""The postings of a document's term streams made in C (indexer/_encode.c) against the
Python code in indexer/schema.py: the same tuples in the same order, the same value bytes,
and the same cached value objects (a block's pickle refers back to a value object met
again, so the segment's bytes depend on which values are one object). Real articles, and
the segments written from them: docs/benchmarks.md (session 17)."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import schema


def _python(fn: Any, *args: Any) -> Any:
    saved = schema._encode
    schema._encode = None
    try:
        return fn(*args)
    finally:
        schema._encode = saved


def test_the_extension_is_built() -> None:
    from indexer import _encode as built

    assert schema._encode is built


_SYLLABLES = st.sampled_from(["hòa", "hoà", "hoa", "học", "hoc", "ma", "mà", "má", "mạ", "𝒳", "03-ct/tw", ""])


def _fold(s: str) -> str:
    return s.translate(str.maketrans("òàọáạ", "oaoaa"))


def _same(c: Any, p: Any) -> None:
    assert c == p
    assert type(c) is type(p) is schema.Postings
    for a, b in zip(c, p):
        assert type(a[2]) is float
        if a[1] == 1 and b[3] is not None and len(b[3]) < 40:  # a cached one-position value
            assert a[3] is b[3]


@settings(max_examples=300, deadline=None)
@given(syllables=st.lists(_SYLLABLES, max_size=120))
def test_syllables_and_folded_as_in_python(syllables: list[str]) -> None:
    folded = [_fold(s) for s in syllables]
    c = schema.encode_syllables_and_folded(syllables, folded)
    p = _python(schema.encode_syllables_and_folded, syllables, folded)
    _same(c[0], p[0])
    _same(c[1], p[1])


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(_SYLLABLES, _SYLLABLES), max_size=60))
def test_a_syllable_folded_two_ways_keeps_its_last_form_as_in_python(pairs: list) -> None:
    # dict(zip(syllables, folded)): the last occurrence's folded form wins
    syllables, folded = [s for s, _ in pairs], [f for _, f in pairs]
    assert schema.encode_syllables_and_folded(syllables, folded) == \
        _python(schema.encode_syllables_and_folded, syllables, folded)


@settings(max_examples=200, deadline=None)
@given(terms=st.lists(st.one_of(_SYLLABLES, st.text(max_size=4)), max_size=150))
def test_counts_as_in_python(terms: list[str]) -> None:
    c = schema.encode_terms(terms, False)
    p = _python(schema.encode_terms, terms, False)
    assert c == p
    assert all(a[3] is b[3] for a, b in zip(c, p))  # `_count_value`'s objects


def test_long_streams_as_in_python() -> None:
    # past 65,535 positions (no cached one-position value) and past 1,000 positions of one
    # term (the pickler's batches of APPENDS)
    syllables = ["a", "b"] * 36_000 + ["z", "hòa", "hoà"]
    folded = [_fold(s) for s in syllables]
    assert schema.encode_syllables_and_folded(syllables, folded) == \
        _python(schema.encode_syllables_and_folded, syllables, folded)
    assert schema.encode_terms(syllables, False) == _python(schema.encode_terms, syllables, False)


def test_what_c_does_not_take_is_left_to_python() -> None:
    from indexer import _encode

    out: list = []
    out_f: list = []
    assert _encode.syllables_and_folded(["a", 1], ["a", "b"], schema._one_position, 65536, out, out_f) is False
    assert _encode.syllables_and_folded(["a"], ["a", "b"], schema._one_position, 65536, out, out_f) is False
    assert _encode.counts(["a", b"b"], schema._count_value, out) is False
    assert out == out_f == []
    # and through schema: streams of different lengths get Python's answer (a KeyError: a
    # syllable past the folded stream's end has no folded form)
    with pytest.raises(KeyError):
        schema.encode_syllables_and_folded(["a", "b"], ["a"])


def test_an_unencodable_term_raises_as_in_python_and_appends_nothing() -> None:
    from indexer import _encode

    out: list = [("kept",)]
    out_f: list = []
    with pytest.raises(UnicodeEncodeError):
        _encode.syllables_and_folded(["a", "\ud800"], ["a", "x"], schema._one_position, 65536, out, out_f)
    assert out == [("kept",)] and out_f == []
    with pytest.raises(UnicodeEncodeError):
        _encode.counts(["a", "\ud800"], schema._count_value, out)
    assert out == [("kept",)]
    with pytest.raises(UnicodeEncodeError):
        _python(schema.encode_terms, ["a", "\ud800"], False)
