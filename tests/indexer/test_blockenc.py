"""The C posting-list encoder (indexer/_blockenc.c) against the Python one it replaces on
the indexing path (`ListEncoder._blocks_py`, `encode_pooled`): the same bytes for every
list it takes (one block or several, one posting or many, shared and empty values, fixed
and variable value sizes, lengths past the column, compression), None for the inputs it
leaves to Python. Whole segments from real articles: tests/indexer/test_inverter.py and
docs/benchmarks.md (session 17)."""
from __future__ import annotations

import io
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import formats
from whoosh.system import pack_uint

from indexer import blocks
from indexer.termpool import TermPool



def test_the_extension_is_built() -> None:
    # `pip install -e .` builds it; without it indexing silently runs the slower Python path
    from indexer import _blockenc as built

    assert blocks._blockenc is built
    assert built.MAGIC == blocks._MAGIC


class _Fmt:
    """A posting format with a given fixed value size (None: variable)."""

    def __init__(self, fixed: int | None) -> None:
        self.fixed = fixed

    def fixed_value_size(self) -> int | None:
        return self.fixed


def _encoder(fixed: int | None, lengths: list[int] | None, limit: int, comp: int) -> blocks.ListEncoder:
    return blocks.ListEncoder(io.BytesIO(), _Fmt(fixed), lengths, limit, comp)


def _python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "_blockenc", None)


# a list: ascending docnums (some past 255 and 65535, for every pickled int size), weights
# (equal or not, 1.0 or not, 0.0 and negative), values (shared objects, empty, None)
_WEIGHTS = st.sampled_from([1.0, 1.0, 2.0, 0.5, 3.0, 0.0, -1.5, 1e-40, 123456.789])
_DOCS = st.sets(st.one_of(st.integers(0, 300), st.integers(0, 70000), st.integers(0, 2**31 - 1)),
                min_size=1, max_size=40).map(sorted)


@st.composite
def _lists(draw: Any, fixed: int | None) -> tuple[list[int], list[float], list[Any]]:
    ids = draw(_DOCS)
    weights = [draw(_WEIGHTS) for _ in ids]
    if fixed is None:
        shared = [b"", b"x", bytes(range(200)), b"y" * 300]  # (the same objects again and again)
        values = [draw(st.one_of(st.sampled_from(shared), st.binary(max_size=20),
                                 st.just(None))) for _ in ids]
    elif fixed == 0:
        values = [b""] * len(ids)
    else:
        values = [draw(st.binary(min_size=fixed, max_size=fixed)) for _ in ids]
    return ids, weights, values


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("fixed", [None, 0, 4])
@given(data=st.data(), limit=st.sampled_from([1, 2, 3, 5, 128]), comp=st.sampled_from([0, 0, 3]),
       lengths=st.one_of(st.none(), st.lists(st.integers(0, 100_000), max_size=80)))
@_SETTINGS
def test_blocks_give_the_python_paths_bytes(fixed: int | None, data: Any, limit: int, comp: int,
                                            lengths: list[int] | None) -> None:
    ids, weights, values = data.draw(_lists(fixed))
    values = [b"" if v is None else v for v in values]  # (unpool's b"" for a missing value)
    enc = _encoder(fixed, lengths, limit, comp)
    made = blocks._blockenc.blocks(ids, weights, values, *enc._c_args)
    assert made is not None
    assert made == enc._blocks_py(ids, weights, values)
    if fixed:  # fixed-size values given already joined, as a merge reads them
        assert blocks._blockenc.blocks(ids, weights, b"".join(values), *enc._c_args) == made


@pytest.mark.parametrize("fixed", [None, 0, 4])
@given(data=st.data(), limit=st.sampled_from([1, 3, 128]), comp=st.sampled_from([0, 1]),
       lengths=st.lists(st.integers(0, 5000), min_size=1, max_size=60))
@_SETTINGS
def test_a_pooled_field_gives_the_python_paths_rows_and_file(
        fixed: int | None, data: Any, limit: int, comp: int, lengths: list[int]) -> None:
    # whole fields: TermPool lists, docs added in order, through encode_field (C) and
    # encode_pooled term by term (Python): the same term info rows and postings file bytes
    pool = TermPool()
    ndocs = len(lengths)
    vocab = data.draw(st.lists(st.binary(min_size=1, max_size=9), min_size=1, max_size=30, unique=True))
    for docnum in range(ndocs):
        terms = data.draw(st.lists(st.sampled_from(vocab), max_size=8, unique=True))
        items = []
        for term in terms:
            w = data.draw(_WEIGHTS)
            if fixed is None:
                v = data.draw(st.one_of(st.binary(max_size=6), st.just(None)))
            else:
                v = b"" if fixed == 0 else pack_uint(data.draw(st.integers(0, 2**32 - 1)))
            items.append((term, 1, w, v))
        pool.add_field("f", docnum, items)
    terms = pool.fields.get("f")
    if not terms:
        return
    prefix = b"\x00\x07"
    c_enc = _encoder(fixed, lengths, limit, comp)
    c_enc.postfile.write(b"head")  # extents count from the file's position
    c_enc.offset = c_enc.postfile.tell()
    rows = c_enc.encode_field(terms, prefix)
    assert rows is not None
    c_enc.flush()

    real = blocks._blockenc
    blocks._blockenc = None
    try:
        py_enc = _encoder(fixed, lengths, limit, comp)
        py_enc.postfile.write(b"head")
        py_enc.offset = py_enc.postfile.tell()
        py_rows = [(prefix + t, py_enc.encode_pooled(pooled)) for t, pooled in pool.pooled("f")]
        py_enc.flush()
    finally:
        blocks._blockenc = real
    assert rows == py_rows
    assert c_enc.postfile.getvalue() == py_enc.postfile.getvalue()


def test_a_pooled_lists_blocks_are_the_lists_blocks() -> None:
    fmt_value = formats.Positions().encode
    one, two = fmt_value([4]), fmt_value([1, 9])
    pooled = [0, (b"a", 1, 1.0, one), 3, (b"a", 2, 2.0, two), 9, (b"a", 1, 1.0, None)]
    enc = _encoder(None, [3, 0, 2, 5], 2, 0)
    head, blob = enc._blocks_py([0, 3, 9], [1.0, 2.0, 1.0], [one, two, b""])
    assert blocks._blockenc.encode_field({b"a": pooled}, b"", 0, *enc._c_args) == \
        ([(b"a", head + blocks.EXTENT.pack(0, len(blob)))], blob)


def test_block_data_is_a_protocol_3_pickle_of_the_lists_parts() -> None:
    shared = b"\x81\x02"
    enc = _encoder(None, None, 128, 0)
    _, blob = blocks._blockenc.blocks([2, 300, 70000], [1.0, 2.5, 2.5], [shared, b"", shared], *enc._c_args)
    assert blocks.decode_blocks(blob, None) == ([2, 300, 70000], [1.0, 2.5, 2.5], [shared, shared])
    info_end = blob.index(b".", 8) + 1  # the block info's STOP
    assert blob[info_end:info_end + 2] == b"\x80\x03"
    assert pickle.loads(blob[info_end:]) == ((2, 298, 69700), (1.0, 2.5, 2.5), (shared, shared))


@pytest.mark.parametrize("args", [
    ([1], [1], [b"x"]),                   # an int weight (W3 keeps 1 and 1.0 apart)
    ([5, 3], [1.0, 1.0], [b"x", b"y"]),    # docnums not ascending
    ([5, 5], [1.0, 1.0], [b"x", b"y"]),    # the same docnum twice
    ([-1], [1.0], [b"x"]),                 # a negative docnum
    ([2**31], [1.0], [b"x"]),              # past W3's docnums
    ([1], [float("nan")], [b"x"]),         # a weight float32 cannot hold as given
    ([1], [1e300], [b"x"]),
    ([1], [1.0], ["x"]),                   # a str value
    ([1, 2], [1.0, 1.0], [b"x"]),          # fewer values than postings
    ([True], [1.0], [b"x"]),               # not exactly an int
])
def test_inputs_it_does_not_take_are_left_to_python(args: tuple) -> None:
    enc = _encoder(None, None, 128, 0)
    assert blocks._blockenc.blocks(*args, *enc._c_args) is None


def test_fixed_values_of_the_wrong_size_and_other_protocols_are_left_to_python() -> None:
    enc = _encoder(4, None, 128, 0)
    assert blocks._blockenc.blocks([1, 2], [1.0, 1.0], b"\x00" * 7, *enc._c_args) is None
    assert blocks._blockenc.blocks([1], [1.0], [b"\x00" * 4], *enc._c_args[:-1], 2) is None
    # and a field with one list it does not take is left to Python whole
    terms = {b"a": [0, (b"a", 1, 1.0, b"\x00" * 4)], b"b": [1, (b"b", 1, 1, b"\x00" * 4)]}
    assert enc.encode_field(terms, b"\x00\x01") is None
    assert enc.postfile.getvalue() == b""  # nothing written


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        blocks._blockenc.blocks([1], [1.0], [b"x"], None, -1, 0, 0, 3)  # block limit 0
    with pytest.raises(TypeError):
        blocks._blockenc.blocks([1], [1.0], [b"x"], (1, 2), -1, 128, 0, 3)  # lengths not a list
    with pytest.raises(TypeError):
        blocks._blockenc.blocks([1], [1.0], [b"x"], ["a", "b"], -1, 128, 0, 3)  # not length bytes


def test_the_encoder_falls_back_to_python_for_what_c_does_not_take(monkeypatch: pytest.MonkeyPatch) -> None:
    # an int weight goes through ListEncoder's Python path and gives Whoosh's bytes for it
    enc = _encoder(4, [3, 3], 128, 0)
    ref = _encoder(4, [3, 3], 128, 0)
    value = pack_uint(1)
    got = enc.encode([0, 1], [1, 2], [value, value])
    _python(monkeypatch)
    assert got == ref.encode([0, 1], [1, 2], [value, value])
