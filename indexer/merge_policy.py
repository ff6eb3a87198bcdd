"""Which segments a commit merges: a size-tiered policy for an index that grows by bulk
builds of large batches and by small API writes (`merge_tiered`, every commit's policy:
`store._Writer.commit`)."""
from __future__ import annotations

from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

__all__ = ["MERGE_FACTOR", "LARGE_SEGMENT_DOCS", "LARGE_MERGE_FACTOR", "merge_tiered", "segments_to_merge"]

MERGE_FACTOR = 8
# A segment of at least a bulk build's batch (`BuildOptions.batch_size`) is "large".
LARGE_SEGMENT_DOCS = 4000
LARGE_MERGE_FACTOR = 32


def merge_tiered(writer: SegmentWriter, segments: list) -> list:
    """Merge policy of every commit: merge segments of the same size tier, like Lucene's
    tiered policy, where a tier is how many times the factor the tier's base they are.

    Small segments (API writes, small batches: fewer than `LARGE_SEGMENT_DOCS` documents)
    merge `MERGE_FACTOR` at a time from the smallest one's size, so they never pile up.
    Large ones (a bulk build's batches) merge only `LARGE_MERGE_FACTOR` at a time: on 84k
    VNTC articles a build that merged 8 of its 4,000-document segments at a time decoded
    and encoded 64k articles again, 317 s of CPU on a core the analysis workers needed
    (the build: 644 s, 501 s without those merges), for a search 2-4% faster on 7
    segments than on 22 (benchmarks/latency.py's mix, A/B; docs/benchmarks.md).
    Whoosh's own default (MERGE_SMALL) must not be used on such an index: with 22 equal
    segments its Fibonacci rule merges all of them (84k articles) in the next commit."""
    merging = segments_to_merge(segments)
    for seg in merging:
        writer.add_reader(SegmentReader(writer.storage, writer.schema, seg))
    return [s for s in segments if s not in merging]


def segments_to_merge(segments: list) -> list:
    """What `merge_tiered` merges in a commit (segments: anything with `doc_count_all`)."""
    live = [s for s in segments if s.doc_count_all() > 0]
    small = [s for s in live if s.doc_count_all() < LARGE_SEGMENT_DOCS]
    large = [s for s in live if s.doc_count_all() >= LARGE_SEGMENT_DOCS]
    return (_full_tier(small, MERGE_FACTOR, min((s.doc_count_all() for s in small), default=1))
            or _full_tier(large, LARGE_MERGE_FACTOR, LARGE_SEGMENT_DOCS))


def _full_tier(segments: list, factor: int, base: int) -> list:
    """The `factor` smallest segments of the lowest tier holding at least `factor`
    (tier t: sizes in [base * factor**t, base * factor**(t+1))), or []."""
    if len(segments) < factor:
        return []
    base = max(1, base)
    tiers: dict[int, list] = {}
    for seg in segments:
        tier, size = 0, seg.doc_count_all()
        while size >= base * factor ** (tier + 1):
            tier += 1
        tiers.setdefault(tier, []).append(seg)
    full = [t for t, segs in tiers.items() if len(segs) >= factor]
    if not full:
        return []
    return sorted(tiers[min(full)], key=lambda s: s.doc_count_all())[:factor]
