"""Cutting the input into batches for the worker pool, with a balanced end.

Each worker takes a whole batch (4,000 articles by default) and writes it as a segment.
With equal batches the workers run in step, so the run ends when the last batch is done,
and with a partial batch at the end, or an odd number of batches on two workers, one
worker goes on alone: on Báo Mới (35,440 articles: 8 batches and 3,440 left over) the
last 3,440 articles ran on one core of two, about a tenth of the run. So the last full
batch is held back until the input ends, and the tail (that batch and the rest) is cut
into pieces, given out in order, so that the workers should finish together
(`tail_sizes`). No piece is larger than a batch, and none but the last is smaller than
an eighth of one (each piece is a segment); an input smaller than two such pieces stays
one batch.
"""
from __future__ import annotations

import itertools
import math
from typing import Iterable, Iterator, TypeVar

__all__ = ["batches", "tail_sizes"]

T = TypeVar("T")


def batches(items: Iterable[T], size: int, workers: int = 1) -> Iterator[list[T]]:
    """`items` in lists of `size`; for several workers, the end cut by `tail_sizes`."""
    it = iter(items)
    if workers <= 1:
        while chunk := list(itertools.islice(it, size)):
            yield chunk
        return
    held: list[T] = []
    full = 0  # full batches given out before the tail
    while len(chunk := list(itertools.islice(it, size))) == size:
        if held:
            yield held
            full += 1
        held = chunk
    tail = held + chunk
    start = 0
    for piece in tail_sizes(len(tail), size, workers, full):
        yield tail[start:start + piece]
        start += piece


def tail_sizes(tail: int, size: int, workers: int, full_before: int) -> list[int]:
    """Sizes of the pieces the last `tail` items are cut into, in order.

    The workers are taken to run in step: after `full_before` full batches, that number
    modulo `workers` of them still hold one. Each piece goes to the worker that is free
    first, as the pool hands out jobs, and is cut so that every worker ends near the
    level where the tail's work, spread evenly, would bring them all."""
    if tail <= 0:
        return []
    loads = [size if i < full_before % workers else 0 for i in range(workers)]
    level = (sum(loads) + tail) / workers
    smallest = max(1, size // 8)
    out: list[int] = []
    while tail > 0:
        k = loads.index(min(loads))
        piece = min(tail, size, max(smallest, math.ceil(level - loads[k])))
        if tail - piece < smallest and tail <= size:
            piece = tail  # rather one piece than a small one after it
        out.append(piece)
        loads[k] += piece
        tail -= piece
    return out
