"""W3 posting lists as bytes: encoded block by block, decoded, and copied with their
document numbers shifted.

`ListEncoder` writes exactly the bytes `whoosh.codec.whoosh3.W3PostingsWriter` would write
for a posting list (blocks, block info, term info), except that a block's data is pickled
with protocol 3 (`BLOCK_PROTOCOL`) instead of 2. `decode_blocks` reads either back, and
`ListEncoder.copy` moves a merged segment's list into a new segment by patching the pickled
docnums instead of decoding and encoding it. `indexer.inverter` decides which lists to
write; this module only knows how one list looks on disk.

The encoding runs in C where it can (indexer/_blockenc.c: one list, or a bulk build's whole
field at once, `ListEncoder.encode_field`), with the same bytes; the Python code below is
its reference in the tests and the path for what the C code does not take. Writing a
3,000-article VNTC segment: 2.5-2.9 -> 1.5-1.8 ms of CPU per article (docs/benchmarks.md).
"""
from __future__ import annotations

import io
import pickle
import struct
import zlib
from array import array
from itertools import accumulate, chain
from operator import sub
from typing import Any, NamedTuple, Sequence

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_int as _pack_int
from whoosh.util.numeric import length_to_byte

from indexer.termpool import PostingList, unpool

try:  # the C half of the encoder (indexer/_blockenc.c), built by `pip install -e .`
    from indexer import _blockenc
except ImportError:  # a source tree run without building it: the Python path alone
    _blockenc = None

__all__ = ["BLOCK_PROTOCOL", "TERMINFO", "EXTENT", "RawList", "ListEncoder", "decode_blocks", "shift_int"]

TERMINFO = W3TermInfo._struct  # noqa: SLF001 - the W3 term info layout
EXTENT = struct.Struct("!qi")  # after the term info: offset and length of the postings
_MAGIC = WHOOSH3_HEADER_MAGIC
if _blockenc is not None and _blockenc.MAGIC != _MAGIC:
    raise ImportError(f"indexer._blockenc writes {_blockenc.MAGIC!r} lists, Whoosh {_MAGIC!r}")
_dumps = pickle.dumps
# Pickle protocol of a block's data (ids, weights, values). W3PostingsWriter uses 2, which
# has no bytes opcode: every value becomes a `_codecs.encode(str, "latin1")` call (about
# 30 bytes of framing, bytes >= 0x80 doubled as UTF-8, ~1 us to write and as much to read
# per value). Protocol 3 writes bytes as bytes; `pickle.loads` (Whoosh's readers, ours)
# reads both, so segments of either protocol mix in one index.
BLOCK_PROTOCOL = 3


class RawList(NamedTuple):
    """A merged segment's posting list as its postings file holds it, still to be shifted
    by `base` (the segment had no deletions). Most terms of a merge occur in one of its
    segments only (rare words, bigrams); their lists are copied with their docnums patched
    (`ListEncoder.copy`) instead of decoded and encoded again: a merge of four segments of
    1,000 VNTC articles 7.4-7.8 -> 6.2-6.3 ms of CPU per article. A term found in several
    segments is decoded and encoded, so that every list stays in full blocks, as Whoosh
    writes them (copying those lists' blocks too, leaving a partial block where each ends,
    measured no faster)."""

    raw: bytes
    terminfo: bytes
    base: int
    fixed: int | None

    def decode(self) -> PostingList:
        ids, weights, values = decode_blocks(self.raw, self.fixed)
        base = self.base
        return [d + base for d in ids], weights, values


def _pickled_int(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, end) of the pickled int whose opcode is at data[pos], or None if there is none."""
    op = data[pos]
    if op == 0x4B:  # BININT1
        return data[pos + 1], pos + 2
    if op == 0x4D:  # BININT2
        return int.from_bytes(data[pos + 1:pos + 3], "little"), pos + 3
    if op == 0x4A:  # BININT
        return int.from_bytes(data[pos + 1:pos + 5], "little", signed=True), pos + 5
    return None


def _pickle_int(value: int) -> bytes:
    """An int as pickle writes it, protocol 2 or 3 alike (0 <= value < 2**31)."""
    if value < 0x100:
        return b"K" + value.to_bytes(1, "little")
    if value < 0x10000:
        return b"M" + value.to_bytes(2, "little")
    return b"J" + value.to_bytes(4, "little", signed=True)


def shift_int(data: bytes, pos: int, by: int) -> bytes | None:
    """`data` with the pickled int at `pos` increased by `by`: the bytes pickle.dumps would
    give for the shifted value (only the int's own opcode changes size), or None."""
    got = _pickled_int(data, pos)
    if got is None or not 0 <= got[0] + by < 2**31:
        return None
    return b"".join((data[:pos], _pickle_int(got[0] + by), data[got[1]:]))


def _shift_block_info(raw: bytes, start: int, base: int, limit: int) -> tuple[bytes, int, int] | None:
    """The pickled block info at raw[start:] (count, last docnum, max weight, compression,
    min and max length bytes) with its last docnum shifted by `base`, its length in `raw`
    and its count; None if the block is compressed or holds more than `limit` postings.
    Parsed and patched in place (only the docnum's opcode may change size): the bytes
    pickle.dumps gives for the shifted tuple."""
    if raw[start:start + 3] != b"\x80\x02(":  # PROTO 2, MARK: a 6-tuple
        return None
    count = _pickled_int(raw, start + 3)
    if count is None or count[0] > limit:
        return None
    last = _pickled_int(raw, count[1])
    if last is None or not 0 <= last[0] + base < 2**31:
        return None
    pos = last[1]
    if raw[pos] == 0x47:  # BINFLOAT: the maximum weight
        pos += 9
    else:
        got = _pickled_int(raw, pos)
        if got is None:
            return None
        pos = got[1]
    comp = _pickled_int(raw, pos)
    if comp is None or comp[0]:
        return None
    pos = comp[1]
    for _ in range(2):  # min and max length bytes
        got = _pickled_int(raw, pos)
        if got is None:
            return None
        pos = got[1]
    if raw[pos:pos + 4] != b"tq\x00.":  # TUPLE, BINPUT 0, STOP
        return None
    end = pos + 4
    info = b"".join((raw[start:count[1]], _pickle_int(last[0] + base), raw[last[1]:end]))
    return info, end - start, count[0]


def decode_blocks(raw: bytes, fixed: int | None) -> PostingList:
    """Every block of one W3 posting list: (docnums, weights, values)."""
    if raw[:4] != _MAGIC:
        raise ValueError(f"not a W3 posting list: {raw[:4]!r}")
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    joined: list[bytes] = []
    f = io.BytesIO(raw)
    f.seek(4)
    load = pickle.load
    while True:
        blocklength = int.from_bytes(f.read(4), "big", signed=True)
        start = f.tell()
        end = start + abs(blocklength)
        count, _, _, compression, _, _ = load(f)
        data = raw[f.tell():end]
        if compression:
            data = zlib.decompress(data)
        deltas, bweights, bvalues = pickle.loads(data)
        ids.extend(accumulate(deltas))  # delta-encoded from 0 in every block
        if bweights is None:
            weights.extend([1.0] * count)
        elif isinstance(bweights, float):
            weights.extend([bweights] * count)
        else:
            weights.extend(bweights)
        if fixed is None or fixed < 0:
            values.extend(bvalues)
        elif fixed > 0:
            joined.append(bvalues)
        if blocklength < 0:
            break
        f.seek(end)
    if fixed is not None and fixed > 0:
        return ids, weights, b"".join(joined)
    if fixed == 0:
        return ids, weights, [b""] * len(ids)
    return ids, weights, values


class ListEncoder:
    """Encodes posting lists of one field as W3PostingsWriter would, buffering them for the
    segment's postings file; returns each term's packed W3 term info.

    Most terms of a segment occur in one document (65% of a 2,000-article VNTC segment, most
    of them word bigrams), so that case has its own short path."""

    def __init__(self, postfile: Any, fmt: Any, lengths: Sequence[int] | None,
                 blocklimit: int, compression: int) -> None:
        self.postfile = postfile
        self.offset = postfile.tell()  # only this encoder writes the file while it is open
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.fixed = fmt.fixed_value_size()
        self.blocklimit = blocklimit
        self.compression = compression
        # each document's length as the byte Whoosh stores (None: the field keeps none)
        self.lbytes = None if lengths is None else [length_to_byte(x) for x in lengths]
        self._singles: dict[tuple[int, float, bytes], tuple[bytes, bytes]] = {}  # _encode_one
        # the C encoder's arguments after the list (its fixed size -1: variable)
        self._c_args = (self.lbytes, -1 if self.fixed is None or self.fixed < 0 else self.fixed,
                        blocklimit, compression, BLOCK_PROTOCOL)

    def flush(self) -> None:
        if self.buffer:
            self.postfile.write(b"".join(self.buffer))
            self.buffer = []
            self.buffered = 0

    def _place(self, head: bytes, blob: bytes) -> bytes:
        """Buffer a list's bytes for the postings file; its term info: `head` and the
        list's extent (offset, length)."""
        offset = self.offset
        self.buffer.append(blob)
        self.offset += len(blob)
        self.buffered += len(blob)
        if self.buffered >= 1 << 20:
            self.flush()
        return head + EXTENT.pack(offset, len(blob))

    def encode_field(self, terms: dict[bytes, list], prefix: bytes) -> list[tuple[bytes, bytes]] | None:
        """A new field's `TermPool` lists (term -> pooled list) all at once, in C: the
        (prefix + term, term info) rows in term order, the lists written to the postings
        file; the same bytes as `encode_pooled` of each list in term order. None (nothing
        written) if the C encoder is not built or does not take these lists."""
        if _blockenc is None:
            return None
        got = _blockenc.encode_field(terms, prefix, self.offset, *self._c_args)
        if got is None:
            return None
        rows, blob = got
        self.flush()
        self.postfile.write(blob)
        self.offset += len(blob)
        return rows

    def copy(self, plist: RawList) -> bytes | None:
        """A merged segment's posting list shifted by its base: each block's first docnum
        (its ids are delta-encoded from 0) and last docnum patched in the pickled bytes, the
        term info's first and last docnum shifted; everything else (weights, values, length
        bytes: the same documents with the same lengths) copied. The same bytes as decoding
        and encoding it again (tests/indexer/test_blocks.py, test_inverter.py); None (encode
        it) if its blocks are not those this encoder writes (compressed, or not full but the
        last)."""
        raw, base = plist.raw, plist.base
        if raw[:4] != _MAGIC or self.compression:  # (its blocks would be compressed)
            return None
        out = [_MAGIC]
        pos, n = 4, len(raw)
        limit = self.blocklimit
        while pos < n:
            blocklength = int.from_bytes(raw[pos:pos + 4], "big", signed=True)
            start = pos + 4
            end = start + abs(blocklength)
            got = _shift_block_info(raw, start, base, limit)
            if got is None or (blocklength > 0 and got[2] != limit):
                return None
            info, infolength, _ = got
            data = raw[start + infolength:end]
            data = shift_int(data, 3 if data[2] == 0x28 else 2, base)  # after PROTO (and MARK)
            if data is None:
                return None
            out.append(_pack_int(-(len(info) + len(data)) if blocklength < 0 else len(info) + len(data)))
            out.append(info)
            out.append(data)
            if blocklength < 0:
                break
            pos = end
        blob = b"".join(out)
        inlined, weight, df, minlen, maxlen, maxw, minid, maxid = TERMINFO.unpack_from(plist.terminfo)
        return self._place(TERMINFO.pack(inlined, weight, df, minlen, maxlen, maxw, minid + base,
                                         maxid + base), blob)

    def encode(self, ids: list[int], weights: list[float], values: "list[bytes] | bytes") -> bytes:
        if len(ids) == 1:
            return self._encode_one(ids[0], weights[0], values if isinstance(values, bytes) else values[0])
        return self._encode_many(ids, weights, values)

    def encode_pooled(self, pooled: list) -> bytes:
        """`encode` of a `TermPool` list (docnum, posting, docnum, posting...)."""
        if len(pooled) == 2:
            posting = pooled[1]
            return self._encode_one(pooled[0], posting[2], posting[3] or b"")
        return self.encode(*unpool(pooled))

    def _encode_one(self, docnum: int, weight: float, value: bytes) -> bytes:
        """One posting (`value`: its value bytes; b"" for a format without values). With a
        fixed-size format the list's bytes depend only on (docnum, weight, value), which
        most one-document terms of a document share (a VNTC article's word bigrams: about
        60 per article with frequency 1), so they are made once per encoder."""
        if self.fixed is not None and self.fixed >= 0 and weight.__class__ is float:
            key = (docnum, weight, value)
            made = self._singles.get(key)
            if made is None:
                made = self._singles[key] = self._blocks([docnum], [weight], [value])
        else:
            made = self._blocks([docnum], [weight], [value])
        return self._place(*made)

    def _encode_many(self, ids: list[int], weights: list[float], values: "list[bytes] | bytes") -> bytes:
        return self._place(*self._blocks(ids, weights, values))

    def _blocks(self, ids: list[int], weights: list[float], values: "list[bytes] | bytes"
                ) -> tuple[bytes, bytes]:
        """(term info before its extent, the posting list's bytes): made in C
        (indexer/_blockenc.c, the same bytes: tests/indexer/test_blockenc.py) where it takes
        the input (lists of ints, floats and bytes: what the indexer and merges give), else
        by `_blocks_py`."""
        if _blockenc is not None:
            made = _blockenc.blocks(ids, weights, values, *self._c_args)
            if made is not None:
                return made
        return self._blocks_py(ids, weights, values)

    def _blocks_py(self, ids: list[int], weights: list[float], values: "list[bytes] | bytes"
                   ) -> tuple[bytes, bytes]:
        """`_blocks` in Python: block by block.

        Lengths are handled as Whoosh's length bytes throughout: `length_to_byte` is
        monotonic and exact on the lengths a segment stores, so the byte of the shortest
        length is the smallest byte."""
        fixed, limit, n = self.fixed, self.blocklimit, len(ids)
        if fixed and fixed > 0 and not isinstance(values, bytes):
            values = b"".join(values)
        if n <= limit:  # most lists: no slicing
            info, total_weight, minbyte, maxbyte, maxweight = self._block(ids, weights, values, True)
            blob = _MAGIC + info
        else:
            out = [_MAGIC]
            total_weight, minbyte, maxbyte, maxweight = 0, 0, 0, 0
            for start in range(0, n, limit):
                stop = min(n, start + limit)
                if fixed is None or fixed < 0:
                    bvalues: Any = values[start:stop]
                else:
                    bvalues = values[start * fixed:stop * fixed]
                info, bweight, bmin, bmax, bmaxweight = self._block(
                    ids[start:stop], weights[start:stop], bvalues, stop == n)
                out.append(info)
                total_weight += bweight
                if bmin and (not minbyte or bmin < minbyte):
                    minbyte = bmin
                maxbyte = max(maxbyte, bmax)
                maxweight = max(maxweight, bmaxweight)
            blob = b"".join(out)
        return TERMINFO.pack(False, total_weight, n, minbyte, maxbyte, maxweight, ids[0], ids[-1]), blob

    def _block(self, ids: list[int], weights: list[float], values: "list[bytes] | bytes", last: bool
               ) -> tuple[bytes, float, int, int, float]:
        """One block as W3PostingsWriter writes it (its size, pickled info, pickled data),
        its weight sum, smallest non-zero and largest length byte, and largest weight."""
        fixed, comp, n = self.fixed, self.compression, len(ids)
        if fixed is None or fixed < 0:
            mini_v: Any = tuple(filter(None, values))
        elif fixed == 0:
            mini_v = None
        else:
            mini_v = values
        bweights = array("f", weights).tolist()  # W3 keeps weights as float32
        block_max = max(weights)  # but their maximum as given
        if not block_max > 0:
            block_max = 0
        first = bweights[0]
        if bweights.count(first) != n:
            mini_w: Any = tuple(bweights)
        else:
            mini_w = None if first == 1.0 else first
        data = _dumps((tuple(map(sub, ids, chain((0,), ids))), mini_w, mini_v), BLOCK_PROTOCOL)
        if comp:
            data = zlib.compress(data, comp)
        lbytes = self.lbytes
        if lbytes is not None and ids[-1] < len(lbytes):
            lens = list(map(lbytes.__getitem__, ids))
        else:  # no lengths, or a column shorter than the segment: missing lengths are 0
            lens = [lbytes[d] if lbytes is not None and d < len(lbytes) else 0 for d in ids]
        maxbyte = max(lens)
        minbyte = min(filter(None, lens), default=0)
        info = _dumps((n, ids[-1], block_max, comp, minbyte, maxbyte), 2)
        size = len(info) + len(data)
        return (b"".join((_pack_int(-size if last else size), info, data)), sum(bweights),
                minbyte, maxbyte, block_max)
