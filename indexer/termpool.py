"""A new segment's postings, grouped by field and term as documents are added.

Each term of a field has one list holding its postings as they arrive: docnum, posting,
docnum, posting... (a *pooled list*; a posting is the (term bytes, frequency, weight, value
bytes) tuple `schema.Postings` carries, kept as it is). Filling it takes three C-level
passes per field of a document (`map` over the document's postings) instead of a dict
lookup and three list appends per posting in Python: a VNTC article has about 900
postings, and that loop was 0.7-0.9 ms of a pool worker's CPU per article. The encoder
reads pooled lists directly (`blocks.ListEncoder.encode_pooled`): most terms of a
segment occur in one document, and their lists are never split into three.

Documents are added in increasing docnum order, so every posting list is sorted.
"""
from __future__ import annotations

from collections import defaultdict, deque
from itertools import repeat
from operator import itemgetter
from typing import Iterable, Iterator

__all__ = ["TermPool", "PostingList", "unpool"]

# One posting list: ascending new docnums, weights, and values. Values are a list of
# bytes (one per posting) or, for fixed-size formats read from a segment, one bytes object.
PostingList = tuple[list[int], list[float], "list[bytes] | bytes"]

# (term bytes, frequency, weight, value bytes or None): a posting as `schema.Postings`
# and Whoosh's `FieldType.index` give it
Item = tuple[bytes, int, float, "bytes | None"]

_TERM, _FREQ, _WEIGHT, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)
_append = list.append


class TermPool:
    """The new documents' postings of one segment: field -> term -> pooled list."""

    def __init__(self) -> None:
        self.fields: dict[str, defaultdict[bytes, list]] = {}

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """One posting, as Whoosh's `SegmentWriter.add_document` hands it to its pool."""
        fieldname, tbytes, docnum, weight, vbytes = item
        self.add_field(fieldname, docnum, [(tbytes, 0, weight, vbytes)])

    def add_field(self, fieldname: str, docnum: int, items: Iterable[Item]) -> int:
        """All of one field's postings in a document (one per term); returns the field's
        length (the frequencies summed)."""
        if not isinstance(items, list):
            items = list(items)
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = defaultdict(list)
        lists = list(map(terms.__getitem__, map(_TERM, items)))
        deque(map(_append, lists, repeat(docnum)), 0)
        deque(map(_append, lists, items), 0)
        return sum(map(_FREQ, items))

    def pooled(self, fieldname: str) -> Iterator[tuple[bytes, list]]:
        """(term, pooled list) of the field in term byte order."""
        terms = self.fields.get(fieldname)
        if not terms:
            return iter(())
        return ((t, terms[t]) for t in sorted(terms))

    def terms(self, fieldname: str) -> Iterator[tuple[bytes, PostingList]]:
        """(term, posting list) of the field in term byte order."""
        return ((t, unpool(pooled)) for t, pooled in self.pooled(fieldname))

    def cleanup(self) -> None:
        self.fields.clear()


def unpool(pooled: list) -> PostingList:
    """A pooled list as (docnums, weights, values); a missing value is b""."""
    items = pooled[1::2]
    values = list(map(_VALUE, items))
    if None in values:
        values = [v or b"" for v in values]
    return pooled[0::2], list(map(_WEIGHT, items)), values
