"""Decoded posting lists as numpy arrays, cached per index generation.

Whoosh decodes postings one document at a time in Python (`delta_decode`, matcher
trees): for the common terms of a news corpus (tens of thousands of postings per term)
that was most of a query's time. Here each W3 posting block is unpickled once and its
document numbers and term frequencies become arrays; the arrays of a term are kept in a
byte-bounded LRU cache per segment: segments are immutable, so the cache is shared by
successive index generations and a commit only costs the segments it wrote. Document sets built from them are boolean masks over
the generation's document numbers (`search.docsets`), which makes set algebra, facet
counts and filters vectorised operations.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from pickle import loads
from typing import Sequence

import numpy as np
from whoosh import formats
from whoosh.matching.wrappers import FilterMatcher

from search.lru import ByteLRU

__all__ = ["Postings", "PositionLists", "PostingCache", "ReaderPostings", "EMPTY", "read_postings",
           "read_positions", "read_only", "segment_key"]


@dataclass(frozen=True)
class Postings:
    """One term's postings over all segments: ascending global docnums, deleted included."""

    ids: np.ndarray  # int32
    tf: np.ndarray  # float32 term frequency (the W3 posting weight)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.tf.nbytes) + 200

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def join(parts: list[tuple["Postings", int]]) -> "Postings":
        """Segments' postings as one, each segment's docnums shifted by its offset."""
        return Postings(np.concatenate([p.ids + np.int32(off) for p, off in parts]),
                        np.concatenate([p.tf for p, _ in parts]))


EMPTY = Postings(np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32))


@dataclass(frozen=True)
class PositionLists:
    """One term's positions, aligned with its postings' ascending docnums: what phrase
    checks read, for their candidate documents only (`search.docsets`).

    Decoded once when cached (Whoosh keeps each posting's positions as a pickled list of
    deltas) into one flat array with offsets: a phrase check then gathers its candidates'
    positions with numpy instead of unpickling a value per candidate per query, and the
    arrays take about the memory of the encoded values (4 bytes a position and 8 an offset,
    against ~14 bytes of pickle framing a value plus its deltas)."""

    ids: np.ndarray  # int32, as Postings.ids
    positions: np.ndarray  # int32, every posting's positions, ascending, concatenated
    bounds: np.ndarray  # int64, len(ids) + 1: posting i's are positions[bounds[i]:bounds[i + 1]]

    @staticmethod
    def of(ids: np.ndarray, lists: Sequence[Sequence[int]], dtype: type = np.int32) -> "PositionLists":
        lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        bounds = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lens, out=bounds[1:])
        flat = np.fromiter(chain.from_iterable(lists), dtype=dtype, count=int(bounds[-1]))
        return PositionLists(ids, flat, bounds)

    @staticmethod
    def decode(ids: np.ndarray, values: Sequence[bytes]) -> "PositionLists":
        """From `whoosh.formats.Positions` values (a 4-byte count and a pickled list of
        deltas each): one unpickle per value, then the running sums of all of them in one
        numpy pass (a running sum per value in Python costs about twice as much)."""
        deltas = PositionLists.of(ids, [loads(v[4:] if v.endswith(b".") else v[4:] + b".")  # noqa: S301
                                        for v in values], np.int64)
        sums = np.cumsum(deltas.positions)
        bounds = deltas.bounds
        before = np.concatenate((np.zeros(1, dtype=np.int64), sums))[bounds[:-1]]  # sum before each
        return PositionLists(ids, (sums - np.repeat(before, np.diff(bounds))).astype(np.int32), bounds)

    def at(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of postings `at` (indexes into ids), concatenated, and how many
        each has."""
        starts = self.bounds[at]
        lens = self.bounds[at + 1] - starts
        # each posting's run: its start, then +1 per position (one gather for all of them)
        index = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
        return self.positions[index], lens

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.bounds.nbytes + self.positions.nbytes) + 200

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def join(parts: list[tuple["PositionLists", int]]) -> "PositionLists":
        shifts = np.cumsum([0] + [len(p.positions) for p, _ in parts[:-1]])
        bounds = [np.zeros(1, dtype=np.int64)] + [p.bounds[1:] + shift for (p, _), shift in zip(parts, shifts)]
        return PositionLists(np.concatenate([p.ids + np.int32(off) for p, off in parts]),
                             np.concatenate([p.positions for p, _ in parts]), np.concatenate(bounds))


NO_POSITIONS = PositionLists(np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32),
                             np.zeros(1, dtype=np.int64))


def _read_w3(m, offset: int) -> tuple[list[np.ndarray], list[np.ndarray]]:  # noqa: ANN001
    """All blocks of a W3 leaf matcher, decoded with numpy (block data is a pickled tuple of
    delta-encoded ids, weights (None: all 1, a float: all equal, else a tuple) and values)."""
    ids_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    while m.is_active():
        if m._data is None:  # noqa: SLF001 - the block's pickled tuple
            datalen = m._nextoffset - m._dataoffset  # noqa: SLF001
            raw = m._postfile.get(m._dataoffset, datalen)  # noqa: SLF001
            if m._compression:  # noqa: SLF001
                import zlib

                raw = zlib.decompress(raw)
            m._data = loads(raw)  # noqa: SLF001
        deltas, weights = m._data[0], m._data[1]  # noqa: SLF001
        n = m._blocklength  # noqa: SLF001
        ids = np.cumsum(np.asarray(deltas, dtype=np.int64))
        if m._i:  # noqa: SLF001 - a matcher that already moved inside the block
            ids = ids[m._i:]  # noqa: SLF001
        if weights is None:
            w = np.ones(n, dtype=np.float32)
        elif isinstance(weights, float):
            w = np.full(n, weights, dtype=np.float32)
        else:
            w = np.asarray(weights, dtype=np.float32)
        if m._i:  # noqa: SLF001
            w = w[m._i:]  # noqa: SLF001
        ids_parts.append((ids + offset).astype(np.int32))
        w_parts.append(w)
        m._next_block()  # noqa: SLF001
    return ids_parts, w_parts


def _leaf_matcher(leaf, field: str, text: str):  # noqa: ANN001, ANN202
    """The term's raw matcher in one segment (deleted documents included), or None."""
    if field not in leaf.schema or (field, text) not in leaf:
        return None
    m = leaf.postings(field, text)
    if isinstance(m, FilterMatcher):  # deleted documents: masked by the caller
        m = m.child
    return m


def _read_leaf(leaf, field: str, text: str, offset: int = 0) -> Postings:  # noqa: ANN001
    """A term's postings in one segment, docnums shifted by `offset`."""
    m = _leaf_matcher(leaf, field, text)
    if m is None:
        return EMPTY
    if hasattr(m, "_blocklength") and hasattr(m, "_postfile"):
        ids, ws = _read_w3(m, offset)
    else:  # another codec: the public, slower way
        items = list(m.items_as("weight"))
        ids = [np.array([d + offset for d, _ in items], dtype=np.int32)]
        ws = [np.array([w for _, w in items], dtype=np.float32)]
    if not ids:
        return EMPTY
    return Postings(np.concatenate(ids), np.concatenate(ws))


def _read_leaf_values(leaf, field: str, text: str) -> PositionLists:  # noqa: ANN001
    """A term's positions in one segment, block by block (one unpickle per block; Whoosh's
    own matchers decode them one posting at a time), each posting's decoded."""
    m = _leaf_matcher(leaf, field, text)
    if m is None:
        return NO_POSITIONS
    ids: list[np.ndarray] = []
    if hasattr(m, "_blocklength") and hasattr(m, "_read_values"):
        values: list[bytes] = []
        while m.is_active():
            m._read_values()  # noqa: SLF001 - loads the block, de-minifies its values
            start = m._i  # noqa: SLF001
            block = np.cumsum(np.asarray(m._data[0], dtype=np.int64))  # noqa: SLF001
            ids.append(block[start:].astype(np.int32))
            values.extend(m._values[start:])  # noqa: SLF001
            m._next_block()  # noqa: SLF001
        if not values:
            return NO_POSITIONS
        fmt = leaf.schema[field].format
        if type(fmt) is formats.Positions:
            return PositionLists.decode(np.concatenate(ids), values)
        return PositionLists.of(np.concatenate(ids), [fmt.decode_positions(v) for v in values])
    items = list(m.items_as("positions"))  # another codec: the public, slower way
    if not items:
        return NO_POSITIONS
    return PositionLists.of(np.array([d for d, _ in items], dtype=np.int32), [list(p) for _, p in items])


def read_positions(reader, field: str, text: str) -> PositionLists:  # noqa: ANN001
    """A term's encoded positions from every segment of `reader` (not cached)."""
    return _combine([(_read_leaf_values(leaf, field, text), off) for leaf, off in reader.leaf_readers()],
                    NO_POSITIONS)


def _combine(parts, empty):  # noqa: ANN001, ANN202 - list[(Postings | PositionLists, offset)]
    """Per-segment results as one over global docnums (`empty` when every part is)."""
    parts = [(p, off) for p, off in parts if len(p)]
    if not parts:
        return empty
    if len(parts) == 1 and parts[0][1] == 0:
        return parts[0][0]
    return empty.join(parts)


def read_postings(reader, field: str, text: str) -> Postings:  # noqa: ANN001 - whoosh reader
    """A term's postings from every segment of `reader` (not cached)."""
    return _combine([(_read_leaf(leaf, field, text), off) for leaf, off in reader.leaf_readers()], EMPTY)


def segment_key(leaf) -> str | None:  # noqa: ANN001
    """A segment's identity for caches shared across generations (None: not a Whoosh segment)."""
    seg = getattr(leaf, "_segment", None)
    try:
        return None if seg is None else f"{seg.indexname}:{seg.segment_id()}"
    except AttributeError:
        return None


class _SegmentLRU(ByteLRU):
    """Per-segment results of one reader function (leaf, field, text) -> result."""

    def __init__(self, max_bytes: int, read) -> None:  # noqa: ANN001
        super().__init__(max_bytes)
        self._read = read

    def get(self, leaf, field: str, text: str):  # noqa: ANN001, ANN201
        seg = segment_key(leaf)
        if seg is None:
            return self._read(leaf, field, text)
        return super().get((seg, field, text), lambda: self._read(leaf, field, text))


class PostingCache:
    """Decoded per-segment postings (and, apart, phrase positions) in byte-bounded LRUs.

    Keyed by segment, not by index generation: Whoosh segments never change once
    written (deletions live beside them and are masked at query time), so after a commit
    only the new or merged segments are read again, as in Lucene's per-segment caches.
    Positions get their own budget (`positions_cache_mb`; a quarter of the postings' when
    not given): large position lists must not evict the postings every query needs.
    Sizes and counters are the postings'."""

    def __init__(self, max_bytes: int = 256 << 20, positions_bytes: int | None = None) -> None:
        self._postings = _SegmentLRU(max_bytes, _read_leaf)
        self._positions = _SegmentLRU(positions_bytes or max(1, max_bytes // 4), _read_leaf_values)

    def get(self, reader, field: str, text: str) -> Postings:  # noqa: ANN001 - whoosh reader
        """The term's postings over all of `reader`'s segments, global docnums."""
        return _combine([(self._postings.get(leaf, field, text), off) for leaf, off in reader.leaf_readers()],
                        EMPTY)

    def positions_at(self, reader, field: str, text: str,  # noqa: ANN001
                     ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's positions in each document of `ids` (ascending global docnums),
        concatenated, and how many each has; None if the term is missing from one. Read
        segment by segment, without joining the segments' lists (a frequent word's are
        megabytes)."""
        flats: list[np.ndarray] = []
        lens: list[np.ndarray] = []
        for leaf, off in reader.leaf_readers():
            lo, hi = np.searchsorted(ids, [off, off + leaf.doc_count_all()])
            if lo == hi:
                continue
            pl = self._positions.get(leaf, field, text)
            local = ids[lo:hi] - off
            at = np.minimum(np.searchsorted(pl.ids, local), max(0, len(pl.ids) - 1))
            if not len(pl.ids) or not np.array_equal(pl.ids[at], local):
                return None
            flat, n = pl.at(at)
            flats.append(flat)
            lens.append(n)
        if not lens:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        return np.concatenate(flats), np.concatenate(lens)

    def view(self, reader, joined_bytes: int = 0) -> "ReaderPostings":  # noqa: ANN001
        return ReaderPostings(self, reader, joined_bytes)

    @property
    def hits(self) -> int:
        return self._postings.hits

    @property
    def misses(self) -> int:
        return self._postings.misses

    @property
    def nbytes(self) -> int:
        return self._postings.nbytes

    def __len__(self) -> int:
        return len(self._postings)


def read_only(a: np.ndarray) -> np.ndarray:
    """`a`, made read-only: cached arrays are shared between requests."""
    a.setflags(write=False)
    return a


class ReaderPostings:
    """The cache seen through one reader (one index generation): `get(field, text)`.

    With several segments, a term's postings are the segments' lists joined: a concatenate
    per term and query (about 0.5 ms of a query on the six-segment benchmark index). The
    joined document numbers, all that matching and ranking read once scores are cached
    (`search.fastrank`), are kept per generation in an LRU of `joined_bytes` (0: none);
    with one segment they are the cached segment's own."""

    def __init__(self, cache: PostingCache, reader, joined_bytes: int = 0) -> None:  # noqa: ANN001
        self.cache = cache
        self.reader = reader
        several = len(reader.leaf_readers()) > 1
        self._joined = ByteLRU(joined_bytes) if several and joined_bytes > 0 else None

    def get(self, field: str, text: str) -> Postings:
        """The term's postings (document numbers and frequencies) over all segments."""
        return self.cache.get(self.reader, field, text)

    def ids(self, field: str, text: str) -> np.ndarray:
        """The term's document numbers over all segments (ascending; never modify)."""
        if self._joined is None:
            return self.get(field, text).ids
        return self._joined.get((field, text), lambda: read_only(self.get(field, text).ids))

    def positions_at(self, field: str, text: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return self.cache.positions_at(self.reader, field, text, ids)
