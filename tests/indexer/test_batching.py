"""Batches for the worker pool: order kept, the tail cut so that the workers end together."""
from __future__ import annotations

import pytest

from indexer.batching import batches, tail_sizes


def _finish(sizes: list[int], workers: int) -> list[int]:
    """When each worker ends if the pool hands each batch to the worker free first and
    an item costs one unit (what `tail_sizes` assumes)."""
    loads = [0] * workers
    for size in sizes:
        k = loads.index(min(loads))
        loads[k] += size
    return loads


@pytest.mark.parametrize("n, size, workers", [
    (0, 4, 2), (3, 4, 2), (4, 4, 2), (8, 4, 2), (9, 4, 2), (35_440, 4000, 2),
    (84_132, 4000, 2), (12_000, 4000, 2), (10, 4000, 2), (1200, 4000, 2), (50, 7, 3), (50, 7, 1),
])
def test_every_item_once_in_order_and_no_batch_too_large(n: int, size: int, workers: int) -> None:
    got = list(batches(range(n), size, workers))
    assert [x for b in got for x in b] == list(range(n))
    assert all(0 < len(b) <= size for b in got)


def test_one_worker_gets_plain_batches() -> None:
    assert [len(b) for b in batches(range(10), 4, 1)] == [4, 4, 2]


def test_bao_moi_no_longer_ends_on_one_worker() -> None:
    # 8 full batches and 3,440 left: before, the last 3,440 ran alone
    sizes = [len(b) for b in batches(range(35_440), 4000, 2)]
    assert sizes == [4000] * 8 + [1720, 1720]
    assert _finish(sizes, 2) == [17_720, 17_720]
    assert _finish([4000] * 8 + [3440], 2) == [19_440, 16_000]


def test_vntc_tail_is_split_in_two() -> None:
    sizes = [len(b) for b in batches(range(84_132), 4000, 2)]
    assert sizes == [4000] * 20 + [2066, 2066]
    assert _finish(sizes, 2) == [42_066, 42_066]


@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("full", [0, 1, 2, 5])
@pytest.mark.parametrize("tail", [1, 499, 600, 3999, 4000, 4001, 6500, 7999])
def test_tail_pieces_balance_the_workers(workers: int, full: int, tail: int) -> None:
    size = 4000
    sizes = tail_sizes(tail, size, workers, full)
    assert sum(sizes) == tail and all(0 < s <= size for s in sizes)
    assert all(s >= size // 8 for s in sizes[:-1])
    ends = _finish([size] * full + sizes, workers)
    naive = _finish([size] * full + [size] * (tail // size) + ([tail % size] if tail % size else []), workers)
    assert max(ends) <= max(naive)  # never later than plain batches
    if tail >= workers * (size // 8):  # enough to share: the spread is at most the smallest piece
        busy = [e for e in ends if e > 0]
        assert max(busy) - min(ends) <= size // 8 or max(ends) == max(naive)


def test_tiny_inputs_stay_one_batch() -> None:
    assert [len(b) for b in batches(range(10), 4000, 2)] == [10]
    assert [len(b) for b in batches(range(900), 4000, 2)] == [900]
    assert tail_sizes(0, 4000, 2, 3) == []
