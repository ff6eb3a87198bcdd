"""Per-segment term counts and field lengths, kept across index generations.

Every commit opens a new index generation, and each generation used to rebuild its
vocabulary (accent restoration and did-you-mean: every syllable's document frequency;
autocomplete: every title word's) and its BM25 field lengths by reading all of its
segments. On the 84k-article benchmark index that cost the first search after each commit
2.2 s and the first suggestion 0.9 s (measured 2026-12-07). Segments never change once
written (deletions live beside them), so each segment's share is read once and cached
here, keyed by segment like `search.postings.PostingCache`, and a commit reads just the
segments it wrote. (A generation's sums over them also start from the previous
generation's: `search.totals`.)
"""
from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.util.numeric import byte_to_length

from search.lru import ByteLRU
from search.postings import segment_key

__all__ = ["SegmentStats", "KINDS", "MAX_SYLLABLE"]

MAX_SYLLABLE = 8  # longest Vietnamese syllable is 7 letters ("nghiêng"); room for typos

#: which terms of a field a count table keeps, by name (the name is part of the cache key)
KINDS: dict[str, Callable[[str], bool]] = {
    "syllables": lambda t: len(t) <= MAX_SYLLABLE and t.isalpha(),  # accent restoration
    "alpha": str.isalpha,  # title syllables, for autocomplete
    "words": lambda t: "_" in t,  # multi-syllable words ("huyện_ủy")
}

_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_ENTRY_BYTES = 40  # a count table's entry: its dict slot and a share of the interned str (measured ~30)


def _sizeof(value: dict | np.ndarray) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    return _ENTRY_BYTES * len(value) + 232


def _read_counts(leaf, field: str, keep: Callable[[str], bool]) -> dict[str, int]:  # noqa: ANN001
    """{term: document frequency} of `field` in one segment, the terms `keep` accepts."""
    if field not in leaf.schema or not leaf.schema[field].indexed:
        return {}
    out: dict[str, int] = {}
    intern = sys.intern  # the same syllables recur in every segment: one str each
    try:
        for text, info in leaf.iter_field(field):
            term = text.decode("utf-8")
            if keep(term):
                out[intern(term)] = info.doc_frequency()
    except KeyError:  # field absent from this segment
        return {}
    return out


def _read_lengths(leaf, field: str) -> np.ndarray:  # noqa: ANN001
    """Each document's length in `field` in one segment (Whoosh's one-byte encoding)."""
    n = leaf.doc_count_all()
    try:  # W3 codec: one length byte per document in a column
        col = leaf._perdoc._cached_reader("_%s_len" % field, LENGTHS_COLUMN)  # noqa: SLF001
        raw = None if col is None else np.fromiter((v or 0 for v in col), dtype=np.uint8, count=n)
    except Exception:  # other codec: the public per-document call
        raw = None
    if raw is not None:
        out = _BYTE_TO_LENGTH[raw]
    else:
        out = np.array([leaf.doc_field_length(i, field, 0) or 0 for i in range(n)], dtype=np.float64)
    out.setflags(write=False)
    return out


class SegmentStats(ByteLRU):
    """The cache: per segment, term count tables and field lengths (a byte-bounded LRU;
    thread-safe). Results are shared: never modify them."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        super().__init__(max_bytes, _sizeof)

    def counts(self, leaf, field: str, kind: str) -> dict[str, int]:  # noqa: ANN001 - whoosh reader
        """{term: document frequency} of `field` in segment `leaf`, the terms of `kind`."""
        keep = KINDS[kind]
        key = segment_key(leaf)
        if key is None:
            return _read_counts(leaf, field, keep)
        return self.get((key, "counts", field, kind), lambda: _read_counts(leaf, field, keep))

    def cached_counts(self, key: str, field: str, kind: str) -> dict[str, int] | None:
        """The table `counts` gave for the segment of `key`, if it is still cached."""
        return self.peek((key, "counts", field, kind))

    def lengths(self, leaf, field: str) -> np.ndarray:  # noqa: ANN001
        """Each document's length in `field` in segment `leaf` (read-only)."""
        key = segment_key(leaf)
        if key is None:
            return _read_lengths(leaf, field)
        return self.get((key, "lengths", field), lambda: _read_lengths(leaf, field))
