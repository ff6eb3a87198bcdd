"""The merge policy of every commit (`merge_policy.merge_tiered`): small segments merge early,
a bulk build's large segments late, and never all at once on an API write."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer import merge_policy as policy
from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from indexer.spool import Applier, Spool
from indexer.store import open_index


@dataclass(eq=False)
class Seg:
    docs: int

    def doc_count_all(self) -> int:
        return self.docs


def sizes(segs: list[Seg]) -> list[int]:
    return sorted(s.docs for s in segs)


def test_small_segments_merge_by_eight_from_the_smallest_size() -> None:
    segs = [Seg(1) for _ in range(7)] + [Seg(4000)]
    assert policy.segments_to_merge(segs) == []
    segs.append(Seg(3))
    assert sizes(policy.segments_to_merge(segs)) == [1] * 7 + [3]
    # eight of a higher tier wait while the lowest tier is not full
    tier1 = [Seg(9) for _ in range(8)]
    assert sizes(policy.segments_to_merge(tier1 + [Seg(1)] * 3)) == [9] * 8


def test_large_segments_wait_for_a_full_tier_of_32() -> None:
    build = [Seg(policy.LARGE_SEGMENT_DOCS) for _ in range(21)] + [Seg(132)]
    assert policy.segments_to_merge(build) == []  # an 84k-article build: 22 segments stay
    full = [Seg(policy.LARGE_SEGMENT_DOCS + i) for i in range(policy.LARGE_MERGE_FACTOR)]
    merged = policy.segments_to_merge(full + [Seg(40 * policy.LARGE_SEGMENT_DOCS)])
    assert sizes(merged) == sizes(full)
    # a merged large segment is a tier up and merges only with 31 more of its size
    big = [Seg(policy.LARGE_SEGMENT_DOCS * policy.LARGE_MERGE_FACTOR) for _ in range(31)]
    assert policy.segments_to_merge(big + full[:5]) == []


def test_empty_segments_are_ignored() -> None:
    assert policy.segments_to_merge([Seg(0)] * 10 + [Seg(5)]) == []


def _segment_sizes(index_path: Path) -> list[int]:
    ix = open_index(index_path)
    try:
        return sorted(s.doc_count_all() for s in ix._segments())  # noqa: SLF001
    finally:
        ix.close()


def test_an_api_write_does_not_merge_a_builds_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Whoosh's default policy (MERGE_SMALL) would merge all 22 segments of this index in
    # the applier's commit: its Fibonacci rule sees 22 segments holding fewer documents
    # than fib(26). Scaled down: "large" is 2 documents here.
    monkeypatch.setattr(policy, "LARGE_SEGMENT_DOCS", 2)
    index_path = tmp_path / "index"
    articles = [Article(id=f"d{i}", title=f"Tin {i}", body="Quốc hội thông qua luật") for i in range(44)]
    index_articles(articles, index_path, BuildOptions(batch_size=2, workers=1, progress="quiet"))
    assert _segment_sizes(index_path) == [2] * 22
    spool = Spool(tmp_path / "spool")
    spool.upsert([Article(id="new", title="Tin mới", body="Hội đồng nhân dân tỉnh")])
    assert Applier(index_path, spool, lock_timeout=5).run_once() == 1
    assert _segment_sizes(index_path) == [1] + [2] * 22
