"""Per-segment term counts and field lengths, kept across index generations.

Every commit opens a new index generation, and each generation used to rebuild its
vocabulary (accent restoration and did-you-mean: every syllable's document frequency;
autocomplete: every title word's) and its BM25 field lengths by reading all of its
segments. On the 84k-article benchmark index that cost the first search after each commit
2.2 s and the first suggestion 0.9 s (measured 2026-12-07). Segments never change once
written (deletions live beside them), so each segment's share is read once and cached
here, keyed by segment like `search.postings.PostingCache`, and a commit reads just the
segments it wrote. A generation's syllable totals start from the previous generation's,
with only the segments written or merged away since added or subtracted
(`syllable_totals`).
"""
from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.util.numeric import byte_to_length

from indexer.normalize import fold
from indexer.schema import TEXT_FIELDS
from search.lru import ByteLRU
from search.postings import segment_key

__all__ = ["SegmentStats", "SyllableTotals", "syllable_totals", "KINDS", "MAX_SYLLABLE"]

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


class SegmentStats:
    """The cache: per segment, term count tables and field lengths (byte-bounded LRU;
    thread-safe). Results are shared: never modify them."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._cache = ByteLRU(max_bytes, _sizeof)

    def counts(self, leaf, field: str, kind: str) -> dict[str, int]:  # noqa: ANN001 - whoosh reader
        """{term: document frequency} of `field` in segment `leaf`, the terms of `kind`."""
        keep = KINDS[kind]
        key = segment_key(leaf)
        if key is None:
            return _read_counts(leaf, field, keep)
        return self._cache.get((key, "counts", field, kind), lambda: _read_counts(leaf, field, keep))

    def cached_counts(self, key: str, field: str, kind: str) -> dict[str, int] | None:
        """The table `counts` gave for the segment of `key`, if it is still cached."""
        return self._cache.peek((key, "counts", field, kind))

    def lengths(self, leaf, field: str) -> np.ndarray:  # noqa: ANN001
        """Each document's length in `field` in segment `leaf` (read-only)."""
        key = segment_key(leaf)
        if key is None:
            return _read_lengths(leaf, field)
        return self._cache.get((key, "lengths", field), lambda: _read_lengths(leaf, field))

    @property
    def nbytes(self) -> int:
        return self._cache.nbytes

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses


# --- syllable totals of a generation ------------------------------------------------------

@dataclass(frozen=True)
class SyllableTotals:
    """Syllable document frequencies added up over a set of segments (title, summary and
    body, each counted), and every indexed accented form of each folded key, most frequent
    first. Never modified once built: the next generation starts from it."""

    segments: frozenset[str] | None  # None: a segment without a key (cannot be updated)
    df: dict[str, int]
    by_fold: dict[str, list[tuple[str, int]]]
    total: int  # sum of df: the bigram model's N


def _ranked(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(items, key=lambda x: (-x[1], x[0]))


def _full(leaves: Sequence, keys: list[str | None], stats: SegmentStats) -> SyllableTotals:
    df: dict[str, int] = defaultdict(int)
    for leaf in leaves:
        for field in TEXT_FIELDS:
            for term, n in stats.counts(leaf, field, "syllables").items():
                df[term] += n
    by_fold: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for term, n in df.items():
        by_fold[fold(term)].append((term, n))
    segments = None if None in keys else frozenset(k for k in keys if k is not None)
    return SyllableTotals(segments, dict(df), {k: _ranked(v) for k, v in by_fold.items()},
                          sum(df.values()))


def _update(base: SyllableTotals, leaves: Sequence, keys: list[str], stats: SegmentStats
            ) -> SyllableTotals | None:
    """`base` with the segments gone since subtracted and the new ones added, or None when
    adding everything up anew is as cheap (most segments changed) or a gone segment's
    tables were evicted."""
    assert base.segments is not None
    current = dict(zip(keys, leaves))
    added = [leaf for key, leaf in current.items() if key not in base.segments]
    removed = [key for key in base.segments if key not in current]
    if not added and not removed:
        return base
    if len(added) + len(removed) > max(1, len(current) // 2):
        return None
    gone = [stats.cached_counts(key, field, "syllables") for key in removed for field in TEXT_FIELDS]
    if any(table is None for table in gone):
        return None
    df = dict(base.df)
    total = base.total
    changed: set[str] = set()
    for table in gone:
        assert table is not None
        for term, n in table.items():
            left = df.get(term, 0) - n
            if left > 0:
                df[term] = left
            else:
                df.pop(term, None)
        total -= sum(table.values())
        changed.update(table)
    for leaf in added:
        for field in TEXT_FIELDS:
            table = stats.counts(leaf, field, "syllables")
            for term, n in table.items():
                df[term] = df.get(term, 0) + n
            total += sum(table.values())
            changed.update(table)
    by_key: dict[str, set[str]] = defaultdict(set)
    for term in changed:
        by_key[fold(term)].add(term)
    by_fold = dict(base.by_fold)  # (lists are replaced, never changed in place)
    for key, terms in by_key.items():
        terms.update(t for t, _ in base.by_fold.get(key, ()))
        items = [(t, df[t]) for t in terms if t in df]
        if items:
            by_fold[key] = _ranked(items)
        else:
            by_fold.pop(key, None)
    return SyllableTotals(frozenset(current), df, by_fold, total)


def syllable_totals(leaves: Sequence, stats: SegmentStats,  # whoosh leaf readers
                    base: SyllableTotals | None = None) -> SyllableTotals:
    """The syllable totals of `leaves`: from `base` (the previous generation's) updated by
    the segments a commit wrote or merged away, else added up from every segment."""
    keys = [segment_key(leaf) for leaf in leaves]
    if base is not None and base.segments is not None and None not in keys:
        updated = _update(base, leaves, [k for k in keys if k is not None], stats)
        if updated is not None:
            return updated
    return _full(leaves, keys, stats)
