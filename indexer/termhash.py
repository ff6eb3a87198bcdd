"""A segment's term dictionary (Whoosh's `OrderedHashWriter`), written in bulk.

The dictionary is a file of (key, term info) rows, an array of row offsets (the order
that prefix and range lookups walk), and 256 open-addressing hash tables. Whoosh builds it
one call per key and writes two small `write` calls per hash slot; a 4,000-article VNTC
segment has about 490,000 keys (80% of them word bigrams). Here the rows of many keys
are laid out and written at once, and each hash table is packed with numpy and written
in one call. The bytes are Whoosh's (tests/indexer/test_inverter.py compares whole
segment files with Whoosh's writer).
"""
from __future__ import annotations

from hashlib import md5
from itertools import accumulate, chain, repeat
from operator import add, itemgetter
from typing import Any

import numpy as np
from whoosh.filedb.filetables import _lengths as _ROW_HEAD  # noqa: PLC2701 - a row's header
from whoosh.filedb.filetables import _pointer as _SLOT  # noqa: PLC2701 - a hash slot
from whoosh.filedb.filetables import md5_hash

__all__ = ["add_rows", "bulk_hash_tables"]

_KEY, _VALUE = itemgetter(0), itemgetter(1)
_SLOT_DTYPE = np.dtype([("hash", ">u4"), ("pos", ">i8")])  # `_SLOT`: "!Iq"
assert _SLOT_DTYPE.itemsize == _SLOT.size


def _md5_low32(key: bytes) -> int:
    """`filetables.md5_hash`: the digest's low 32 bits, its last four bytes."""
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")


def add_rows(tindex: Any, rows: list[tuple[bytes, bytes]]) -> None:
    """`OrderedHashWriter.add(key, value)` for each row, keys in increasing order."""
    if rows[0][0] <= tindex.lastkey:
        raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{rows[0][0]!r}")
    keys = list(map(_KEY, rows))
    values = list(map(_VALUE, rows))
    klens = list(map(len, keys))
    vlens = list(map(len, values))
    dbfile = tindex.dbfile
    sizes = map(add, map(add, klens, vlens), repeat(_ROW_HEAD.size))
    starts = list(accumulate(chain((dbfile.tell(),), sizes)))
    starts.pop()  # the end of the last row
    index = tindex.index  # a GrowableArray: widen its type for the largest offset first
    index.append(starts[-1])
    del index.array[-1]
    index.array.extend(starts)
    hashfn = tindex.hashfn
    hashes = list(map(_md5_low32 if hashfn is md5_hash else hashfn, keys))
    buckets = tindex.buckets
    for h, pos in zip(hashes, starts):
        buckets[h & 255].append((h, pos))
    heads = map(_ROW_HEAD.pack, klens, vlens)
    dbfile.write(b"".join(chain.from_iterable(zip(heads, keys, values))))
    tindex.lastkey = keys[-1]


def bulk_hash_tables(tindex: Any) -> None:
    """Make `tindex.close()` write its hash tables with `write_hash_tables`."""
    tindex._write_hashes = lambda: write_hash_tables(tindex)  # noqa: SLF001


def write_hash_tables(tindex: Any) -> None:
    """`HashWriter._write_hashes`: per bucket, a table of twice as many slots as entries,
    each entry at slot (hash >> 8) % slots or the next free one, in insertion order; an
    empty slot is (0, 0)."""
    dbfile = tindex.dbfile
    pos = dbfile.tell()
    out: list[bytes] = []
    for entries in tindex.buckets:
        numslots = 2 * len(entries)
        tindex.directory.append((pos, numslots))
        table = np.zeros(numslots, dtype=_SLOT_DTYPE)
        if entries:
            taken = bytearray(numslots)
            slots = []
            for hashval, _ in entries:
                slot = (hashval >> 8) % numslots
                while taken[slot]:
                    slot = (slot + 1) % numslots
                taken[slot] = 1
                slots.append(slot)
            table["hash"][slots] = list(map(_KEY, entries))
            table["pos"][slots] = list(map(_VALUE, entries))
        out.append(table.tobytes())
        pos += numslots * _SLOT.size
        entries.clear()  # written: a (hash, offset) tuple per key, that would outlive it
    dbfile.write(b"".join(out))
