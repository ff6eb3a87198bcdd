"""W3 posting lists as bytes (indexer/blocks.py): the encoder's fast paths give its general
path's bytes, a list copied with shifted docnums gives the bytes of encoding it again, and a
shifted pickled int is the int pickle gives. Whole segments against Whoosh's own writer:
tests/indexer/test_inverter.py."""
from __future__ import annotations

import io
import pickle
import random
from typing import Any

import pytest
from whoosh import formats
from whoosh.system import pack_uint

from indexer import blocks
from indexer.termpool import TermPool


@pytest.mark.parametrize("ids", [(0,), (5, 1, 2), (200, 1, 1, 1), (255,), (65535, 3),
                                 (65536,), (2**31 - 10, 1)])
@pytest.mark.parametrize("by", [0, 1, 56, 300, 70000])
def test_shifting_a_pickled_first_docnum_gives_the_bytes_pickle_gives(ids: tuple, by: int) -> None:
    data = pickle.dumps((ids, None, (b"x",) * len(ids)), 2)
    first = 3 if data[2] == 0x28 else 2
    shifted = blocks.shift_int(data, first, by)
    if ids[0] + by >= 2**31:
        assert shifted is None
    else:
        assert shifted == pickle.dumps(((ids[0] + by, *ids[1:]), None, (b"x",) * len(ids)), 2)


def test_copy_only_into_an_uncompressed_segment() -> None:
    # an uncompressed list shifted by 300; an encoder that compresses must encode it anew
    fmt = formats.Positions()
    values = [fmt.encode([1, 5]), fmt.encode([2])]
    source = blocks.ListEncoder(io.BytesIO(), fmt, None, 128, 0)
    info = source.encode([3, 40], [2.0, 1.0], values)
    source.flush()
    raw = source.postfile.getvalue()
    plist = blocks.RawList(raw, info, 300, fmt.fixed_value_size())
    assert plist.decode() == ([303, 340], [2.0, 1.0], values)
    assert blocks.ListEncoder(io.BytesIO(), fmt, None, 128, 3).copy(plist) is None
    plain, again = (blocks.ListEncoder(io.BytesIO(), fmt, None, 128, 0) for _ in range(2))
    assert plain.copy(plist) == again.encode(*plist.decode())
    plain.flush()
    again.flush()
    assert plain.postfile.getvalue() == again.postfile.getvalue()


def _reference(encoder: Any, ids: list[int], weights: list[float], values: Any) -> bytes:
    """The general path (`_encode_many`, block by block), on a fresh encoder's state."""
    return encoder._encode_many(ids, weights, values)


@pytest.mark.parametrize("fmt", [formats.Positions(), formats.Frequency(), formats.Existence()])
@pytest.mark.parametrize("seed", range(6))
def test_fast_paths_give_the_general_paths_bytes(fmt: Any, seed: int) -> None:
    # the public path (`encode`: one posting through `_encode_one`,
    # cached for fixed-size formats), against the general block-by-block encoding
    rng = random.Random(seed)
    lengths = [rng.choice([0, 1, 7, 40, 300, 5000]) for _ in range(60)]
    lists = []
    for _ in range(200):
        n = rng.choice([1, 1, 2, 3, 17, 128])
        ids = sorted(rng.sample(range(60), min(n, 60)))
        weights = [rng.choice([1.0, 2.0, 0.5, 3.0, 1.0]) for _ in ids]
        if fmt.fixed_value_size() == 0:
            values: Any = [b""] * len(ids)
        elif fmt.fixed_value_size():
            values = [pack_uint(int(w)) for w in weights]  # as schema.encode_terms
        else:
            values = [fmt.encode(sorted(rng.sample(range(500), int(w) or 1))) for w in weights]
        lists.append((ids, weights, values))
    fast = blocks.ListEncoder(io.BytesIO(), fmt, lengths, 128, 0)
    slow = blocks.ListEncoder(io.BytesIO(), fmt, lengths, 128, 0)
    for plist in lists + lists:  # the second time round, one-posting lists come from the cache
        assert fast.encode(*plist) == _reference(slow, *plist)
    fast.flush()
    slow.flush()
    assert fast.postfile.getvalue() == slow.postfile.getvalue()


def test_an_int_weight_is_not_served_a_float_weights_cached_list() -> None:
    # W3 keeps a block's maximum weight as given: 1 and 1.0 pickle differently
    fmt = formats.Frequency()
    enc = blocks.ListEncoder(io.BytesIO(), fmt, [3, 3], 128, 0)
    ref = blocks.ListEncoder(io.BytesIO(), fmt, [3, 3], 128, 0)
    value = pack_uint(1)
    assert enc.encode([1], [1.0], [value]) == ref._encode_many([1], [1.0], [value])
    assert enc.encode([1], [1], [value]) == ref._encode_many([1], [1], [value])
    enc.flush()
    ref.flush()
    assert enc.postfile.getvalue() == ref.postfile.getvalue()


def test_pooled_lists_encode_as_their_posting_lists() -> None:
    fmt = formats.Positions()
    pool = TermPool()
    one, two = fmt.encode([4]), fmt.encode([1, 9])
    pool.add_field("body", 0, [(b"a", 1, 1.0, one), (b"b", 2, 2.0, two)])
    pool.add_field("body", 2, [(b"a", 2, 2.0, two)])
    enc = blocks.ListEncoder(io.BytesIO(), fmt, [3, 0, 2], 128, 0)
    ref = blocks.ListEncoder(io.BytesIO(), fmt, [3, 0, 2], 128, 0)
    for (term, pooled), (same, plist) in zip(pool.pooled("body"), pool.terms("body")):
        assert term == same
        assert enc.encode_pooled(pooled) == ref.encode(*plist)
