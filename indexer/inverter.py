"""Inverting new documents, and merging segments, a whole posting list at a time.

Whoosh's `SegmentWriter` inverts through a general external sort: every posting of a batch,
and of every segment it merges, becomes a tuple, is sorted with all the others, and goes
through the W3 postings writer one Python call per posting (block statistics, a field
length lookup, type checks). Profiled on VNTC, that was three quarters of an indexing run's
CPU (~1,400 s of the writer against ~450 s of analysis in the workers).

Here, with the same on-disk result:
- `TermPool` (indexer/termpool.py) groups the new documents' postings by field and term
  as they arrive. Document numbers arrive in increasing order, so every posting list is
  already sorted; only each field's terms are sorted, once.
- A segment being merged (`MergeSource`) is read term by term in key order, a posting list
  at a time (each block unpickled once), and merged with the pool by a heap over the
  sources, so memory holds one term's postings, never a whole segment.
- `write_terms` has each posting list encoded in one go (`indexer.blocks.ListEncoder`)
  into exactly the bytes `whoosh.codec.whoosh3.W3PostingsWriter` would write (blocks,
  block info, term info; and the ordered hash of terms, `indexer.termhash`), except that a
  block's data is pickled with protocol 3 (`blocks.BLOCK_PROTOCOL`) instead of 2;
  tests/indexer/test_inverter.py checks byte equality against Whoosh's own writer with
  that one protocol changed. Readers (Whoosh's and `search.postings`) unpickle either
  protocol.

Measured (docs/benchmarks.md, "Indexing"): 12,000 VNTC articles, same hour, writer CPU
330 s with Whoosh's writer, 108 s with this one.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, Callable, Iterator, Sequence

from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.system import pack_ushort

from indexer.blocks import EXTENT, TERMINFO, ListEncoder, RawList, decode_blocks
from indexer.termhash import add_rows, bulk_hash_tables
from indexer.termpool import PostingList, TermPool

__all__ = ["MergeSource", "write_terms"]


@dataclass
class MergeSource:
    """A segment being merged into the new one: its documents were renumbered from
    `basedoc` on (`docmap[old] = new`, or -1 for a deleted document, when it had deletions)."""

    reader: Any  # whoosh.reading.SegmentReader
    basedoc: int
    docmap: list[int] | None

    @staticmethod
    def of(reader: Any, basedoc: int, docmap: dict[int, int] | None) -> "MergeSource":
        mapped = None
        if docmap is not None:
            mapped = [-1] * reader.doc_count_all()
            for old, new in docmap.items():
                mapped[old] = new
        return MergeSource(reader, basedoc, mapped)

    def fieldnames(self) -> list[str]:
        return list(self.reader.indexed_field_names())

    def terms(self, fieldname: str, fmt: Any) -> Iterator[tuple[bytes, PostingList]]:
        """(term, posting list) of one field in term order; terms whose documents were all
        deleted are left out, as Whoosh's merge leaves them out."""
        terms = self.reader._terms  # noqa: SLF001
        if not isinstance(terms, W3TermsReader):
            raise TypeError(f"merging reads W3 segments, not {type(terms).__name__}")
        prefix = pack_ushort(terms._fieldmap[fieldname])  # noqa: SLF001
        fixed = fmt.fixed_value_size()
        postfile = terms._postfile  # noqa: SLF001
        for key, valbytes in terms._tindex.items_from(prefix):  # noqa: SLF001
            if key[:2] != prefix:
                break
            if valbytes[0]:  # W3 never inlines (inlinelimit 1; write_terms refuses more)
                raise ValueError(f"inlined postings in {fieldname}: {key[2:]!r}")
            # (W3TermInfo.from_bytes returns the length as a 1-tuple)
            offset, length = EXTENT.unpack_from(valbytes, TERMINFO.size)
            raw = postfile.get(offset, length)
            if self.docmap is None:  # no deletions: decoded only if another segment has the term
                yield key[2:], RawList(raw, valbytes, self.basedoc, fixed)
                continue
            plist = self._renumber(decode_blocks(raw, fixed), fixed)
            if plist[0]:
                yield key[2:], plist

    def _renumber(self, plist: PostingList, fixed: int | None) -> PostingList:
        ids, weights, values = plist
        docmap = self.docmap
        if docmap is None:
            base = self.basedoc
            return [d + base for d in ids], weights, values
        keep = [i for i, d in enumerate(ids) if docmap[d] >= 0]
        if isinstance(values, bytes):  # fixed-size values, one bytes object
            values = b"".join(values[i * fixed:(i + 1) * fixed] for i in keep)  # type: ignore[operator]
        else:
            values = [values[i] for i in keep]
        return [docmap[ids[i]] for i in keep], [weights[i] for i in keep], values


def _merged(streams: list[Iterator[tuple[bytes, "PostingList | RawList"]]]
            ) -> Iterator[tuple[bytes, "PostingList | RawList"]]:
    """One posting list per term over all sources; sources are in docnum order (the pool's
    documents first, then each merged segment's), and the heap merge is stable."""
    if len(streams) == 1:
        yield from streams[0]
        return
    for tbytes, group in groupby(heapq.merge(*streams, key=itemgetter(0)), key=itemgetter(0)):
        parts = [plist for _, plist in group]
        if len(parts) == 1:
            yield tbytes, parts[0]
            continue
        parts = [p.decode() if isinstance(p, RawList) else p for p in parts]
        ids = [d for p in parts for d in p[0]]
        weights = [w for p in parts for w in p[1]]
        if any(isinstance(p[2], bytes) for p in parts):  # a fixed-size format: join them all
            values: list[bytes] | bytes = b"".join(
                p[2] if isinstance(p[2], bytes) else b"".join(p[2]) for p in parts)
        else:
            values = [v for p in parts for v in p[2]]
        yield tbytes, (ids, weights, values)


def _start_field(fieldwriter: Any, fieldname: str, fieldobj: Any,
                 lengths_of: Callable[[str], Sequence[int] | None], codec: Any) -> tuple[ListEncoder, bytes]:
    """Open a field in the segment (a field starts with its first term, as in
    `FieldWriter.add_postings`): its list encoder and its terms' key prefix."""
    fieldwriter.start_field(fieldname, fieldobj)
    encoder = ListEncoder(fieldwriter._postfile, fieldobj.format, lengths_of(fieldname),  # noqa: SLF001
                          codec._blocklimit, codec._compression)  # noqa: SLF001
    return encoder, pack_ushort(fieldwriter._fieldid)  # noqa: SLF001


def write_terms(fieldwriter: Any, schema: Any, lengths_of: Callable[[str], Sequence[int] | None],
                pool: TermPool, sources: list[MergeSource], codec: Any) -> None:
    """Write the new segment's terms and postings: `pool` and `sources` merged, field by field
    in name order and term by term in byte order, as `FieldWriter.add_postings` would."""
    if getattr(codec, "_inlinelimit", 1) > 1:
        raise ValueError("inlined postings are not supported by indexer.inverter")
    names = set(pool.fields)
    for source in sources:
        names.update(source.fieldnames())
    tindex = fieldwriter._tindex  # noqa: SLF001 - the segment's ordered hash of terms
    bulk_hash_tables(tindex)
    for fieldname in sorted(n for n in names if n in schema):
        fieldobj = schema[fieldname]
        fmt = fieldobj.format
        merged = [s.terms(fieldname, fmt) for s in sources if fieldname in s.reader.indexed_field_names()]
        encoder = None
        prefix = b""
        if not merged and pool.fields.get(fieldname):  # the whole field in C, if it takes it
            encoder, prefix = _start_field(fieldwriter, fieldname, fieldobj, lengths_of, codec)
            done = encoder.encode_field(pool.fields[fieldname], prefix)
            if done is not None:
                add_rows(tindex, done)
                encoder.flush()
                fieldwriter.finish_field()
                continue
        # (only now: `pooled` sorts the field's terms, which the C path does itself)
        if merged:
            lists: Iterator[tuple[bytes, Any]] = _merged(
                ([pool.terms(fieldname)] if fieldname in pool.fields else []) + merged)
        else:  # new documents only (a bulk build's segment): the pool's lists as they are
            lists = pool.pooled(fieldname)
        rows: list[tuple[bytes, bytes]] = []
        for tbytes, plist in lists:
            if encoder is None:
                encoder, prefix = _start_field(fieldwriter, fieldname, fieldobj, lengths_of, codec)
            if isinstance(plist, RawList):
                info = encoder.copy(plist) or encoder.encode(*plist.decode())
            elif isinstance(plist, list):  # pooled
                info = encoder.encode_pooled(plist)
            else:
                info = encoder.encode(*plist)
            rows.append((prefix + tbytes, info))
            if len(rows) >= 4096:
                add_rows(tindex, rows)
                rows = []
        if rows:
            add_rows(tindex, rows)
        if encoder is not None:
            encoder.flush()
            fieldwriter.finish_field()
