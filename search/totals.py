"""A generation's vocabulary sums over its segments, updated from the previous generation's.

The vocabulary (`search.vocab`) needs two sums over every segment: each syllable's document
frequency (accent restoration, did-you-mean) and each title syllable's and word's
(autocomplete). A commit writes one segment or merges a few; the rest are the same as in
the previous generation. So a new generation's sums start from the previous one's, with the
count tables (`search.segstats`) of the segments written since added and of those merged
away subtracted. They are added up anew when most segments changed (as cheap) or when a
gone segment's tables were evicted from the cache (nothing to subtract).

Every value here is frozen once built: the next generation starts from it, while requests
on the old generation may still read it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from indexer.normalize import fold
from indexer.schema import TEXT_FIELDS
from search.postings import segment_key
from search.segstats import SegmentStats

__all__ = ["Completion", "SyllableTotals", "TermTotals", "TitleTable", "VocabState",
           "syllable_totals", "term_totals", "title_table"]

Sources = tuple[tuple[str, str], ...]  # (field, kind) count tables added together

SYLLABLE_SOURCES: Sources = tuple((f, "syllables") for f in TEXT_FIELDS)
TITLE_SOURCES: Sources = (("title", "alpha"), ("title_w", "words"))


@dataclass(frozen=True)
class TermTotals:
    """Document frequencies added up over the count tables `sources` of a set of segments."""

    segments: frozenset[str] | None  # None: a segment without a key (cannot be updated)
    df: dict[str, int]
    total: int  # sum of df


def _full(leaves: Sequence, keys: list[str | None], sources: Sources, stats: SegmentStats) -> TermTotals:
    df: dict[str, int] = defaultdict(int)
    for leaf in leaves:
        for field, kind in sources:
            for term, n in stats.counts(leaf, field, kind).items():
                df[term] += n
    segments = None if None in keys else frozenset(k for k in keys if k is not None)
    return TermTotals(segments, dict(df), sum(df.values()))


def _update(base: TermTotals, leaves: Sequence, keys: list[str], sources: Sources,
            stats: SegmentStats) -> tuple[TermTotals, set[str]] | None:
    """`base` with the segments gone since subtracted and the new ones added, and the terms
    whose count changed; None when adding everything up anew is as cheap or a gone
    segment's tables were evicted."""
    assert base.segments is not None
    current = dict(zip(keys, leaves))
    added = [leaf for key, leaf in current.items() if key not in base.segments]
    removed = [key for key in base.segments if key not in current]
    if len(added) + len(removed) > max(1, len(current) // 2):
        return None
    gone = [stats.cached_counts(key, field, kind) for key in removed for field, kind in sources]
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
        for field, kind in sources:
            table = stats.counts(leaf, field, kind)
            for term, n in table.items():
                df[term] = df.get(term, 0) + n
            total += sum(table.values())
            changed.update(table)
    return TermTotals(frozenset(current), df, total), changed


def term_totals(leaves: Sequence, sources: Sources, stats: SegmentStats,
                base: TermTotals | None = None) -> tuple[TermTotals, set[str] | None]:
    """The totals of `leaves` (whoosh leaf readers) and the terms changed since `base`
    (None: added up anew, anything may have changed). Returns `base` itself, with no
    changed term, when the segments are the same."""
    keys = [segment_key(leaf) for leaf in leaves]
    if base is not None and base.segments is not None and None not in keys:
        if base.segments == frozenset(keys):
            return base, set()
        updated = _update(base, leaves, [k for k in keys if k is not None], sources, stats)
        if updated is not None:
            return updated
    return _full(leaves, keys, sources, stats), None


# --- syllables: accent restoration and did-you-mean -----------------------------------------

@dataclass(frozen=True)
class SyllableTotals:
    """Syllable document frequencies (title, summary and body, each counted) and every
    indexed accented form of each folded key, most frequent first."""

    counts: TermTotals
    by_fold: dict[str, list[tuple[str, int]]]

    @property
    def df(self) -> dict[str, int]:
        return self.counts.df

    @property
    def total(self) -> int:  # the bigram model's N
        return self.counts.total

    @property
    def segments(self) -> frozenset[str] | None:
        return self.counts.segments


def _ranked(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(items, key=lambda x: (-x[1], x[0]))


def syllable_totals(leaves: Sequence, stats: SegmentStats,
                    base: SyllableTotals | None = None) -> SyllableTotals:
    """The syllable totals of `leaves`, from `base` (the previous generation's) if it helps."""
    counts, changed = term_totals(leaves, SYLLABLE_SOURCES, stats, base.counts if base else None)
    if base is not None and counts is base.counts:
        return base
    df = counts.df
    if changed is None:
        grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for term, n in df.items():
            grouped[fold(term)].append((term, n))
        return SyllableTotals(counts, {k: _ranked(v) for k, v in grouped.items()})
    assert base is not None
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
    return SyllableTotals(counts, by_fold)


# --- title syllables and words: autocomplete -------------------------------------------------

@dataclass(frozen=True, slots=True)
class Completion:
    """An autocomplete entry: display text ("huyện ủy"), its folded key, document frequency."""

    key: str
    text: str
    df: int


def _completion(term: str, df: int) -> Completion:
    text = term.replace("_", " ")  # "huyện_ủy" (title_w) -> "huyện ủy"
    return Completion(fold(text), text, df)


@dataclass(frozen=True)
class TitleTable:
    """Every title syllable and word as a completion, sorted by folded key (then text), and
    the keys alone for bisecting."""

    counts: TermTotals
    entries: list[Completion]
    keys: list[str]


def title_table(leaves: Sequence, stats: SegmentStats, base: TitleTable | None = None) -> TitleTable:
    """The completions of `leaves`, from `base` (the previous generation's) if it helps:
    only the changed terms' entries are made again, and the sort merges nearly sorted runs."""
    counts, changed = term_totals(leaves, TITLE_SOURCES, stats, base.counts if base else None)
    if base is not None and counts is base.counts:
        return base
    df = counts.df
    if changed is None:
        entries = [_completion(term, n) for term, n in df.items()]
    else:
        assert base is not None
        texts = {term.replace("_", " ") for term in changed}
        entries = [c for c in base.entries if c.text not in texts]
        entries.extend(_completion(term, df[term]) for term in changed if term in df)
    entries.sort(key=lambda c: (c.key, c.text))
    return TitleTable(counts, entries, [c.key for c in entries])


@dataclass(frozen=True)
class VocabState:
    """What a generation's vocabulary hands the next one to start from (either may be None:
    not built yet)."""

    syllables: SyllableTotals | None = None
    titles: TitleTable | None = None
