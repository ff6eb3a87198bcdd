"""The snippet window: the span of at most `width` characters whose matches score best.

A window's score: each distinct term once at its best weight, plus (at most 3.0) 0.75 per
phrase and 0.5 per adjacent pair of a query phrase's terms, minus a hair for its length
(a tighter span wins a tie). Weights count in twentieths (1.0 -> 20, 0.6 -> 12) so that
sums are exact.

Two implementations of the one score:
- `best_window`: any matches (overlapping, phrases), one pass in Python with a sliding
  window; used on the matches of a text matched exactly and on the scan of a long text
  with few hits.
- `best_window_of_hits` (`best_window_of_matches` for `Match` lists): the hits of the term
  pattern over a long text with many of them (a law: up to `MAX_REGEX_HITS`), which never
  overlap and are not phrases; the same windows scored with numpy prefix sums instead of
  a Python step per hit. tests/search/test_window.py checks it equals `best_window`,
  which is checked against scoring every window from scratch.
"""
from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

__all__ = ["Match", "best_window", "best_window_of_hits", "best_window_of_matches", "units_of"]

PHRASE_UNITS = 15  # 0.75 per phrase
PAIR_UNITS = 10  # 0.5 per adjacent pair of a query phrase
MAX_BONUS_UNITS = 60  # 3.0
PAIR_GAP = 2  # at most this many characters between the two terms of a pair

NO_WINDOW = (0, 0, -1.0)


class Match(NamedTuple):  # a tuple: made tens of times per hit
    start: int
    end: int
    key: str  # folded term: distinct query terms count once
    weight: float  # exact-accent match 1.0, folded-only less
    phrase: bool = False


def units_of(weight: float) -> int:
    return round(weight * 20)


def best_window(matches: list[Match], width: int,
                bigrams: set[tuple[str, str]]) -> tuple[int, int, float]:
    """[start, end) of at most `width` covering the best-scoring `matches` (sorted by start,
    then longest first), and its score; the window of each first match, as if scored from
    scratch, in one pass."""
    n = len(matches)
    if not n:
        return NO_WINDOW
    units = [units_of(m.weight) for m in matches]
    # the pair bonus of each non-phrase match with the non-phrase match before it
    prev_np = [-1] * n
    next_np = [n] * n
    pair = [0] * n
    last = -1
    for k, m in enumerate(matches):
        if m.phrase:
            continue
        if last >= 0:
            p = matches[last]
            prev_np[k] = last
            next_np[last] = k
            if m.start - p.end <= PAIR_GAP and (p.key, m.key) in bigrams:
                pair[k] = PAIR_UNITS
        last = k
    tie = width * 100.0  # a window's length counts for less than any weight
    per_key: dict[str, dict[int, int]] = {}  # key -> weight units -> count in window
    best_of: dict[str, int] = {}
    terms = 0  # sum of each key's best units in the window
    bonus = 0  # phrase and pair units in the window
    ends: deque[int] = deque()  # indexes of decreasing ends: the window's max end first
    best = NO_WINDOW
    j = -1
    for i in range(n):
        # the window of i: i .. the last match ending within `width` of i's start
        while j + 1 < n and (j + 1 == i or matches[j + 1].end - matches[i].start <= width):
            j += 1
            m = matches[j]
            if m.phrase:
                bonus += round(PHRASE_UNITS * m.weight)
            else:
                counts = per_key.setdefault(m.key, {})
                counts[units[j]] = counts.get(units[j], 0) + 1
                if units[j] > best_of.get(m.key, 0):
                    terms += units[j] - best_of.get(m.key, 0)
                    best_of[m.key] = units[j]
                if prev_np[j] >= i:
                    bonus += pair[j]
            while ends and matches[ends[-1]].end <= m.end:
                ends.pop()
            ends.append(j)
        first = matches[i]
        span_end = matches[ends[0]].end
        score = (terms + min(bonus, MAX_BONUS_UNITS)) / 20 - (span_end - first.start) / tie
        if score > best[2]:
            best = (first.start, span_end, score)
        # drop i before the next window
        if first.phrase:
            bonus -= round(PHRASE_UNITS * first.weight)
        else:
            counts = per_key[first.key]
            counts[units[i]] -= 1
            if not counts[units[i]]:
                del counts[units[i]]
            top = max(counts) if counts else 0
            terms += top - best_of[first.key]
            best_of[first.key] = top
            k = next_np[i]
            if k <= j:  # its pair with i leaves the window
                bonus -= pair[k]
        if ends and ends[0] == i:
            ends.popleft()
    return best


def best_window_of_hits(starts: np.ndarray, ends: np.ndarray, keys: np.ndarray,
                        units: np.ndarray, pairs: np.ndarray,
                        width: int) -> tuple[int, int, float]:
    """`best_window` of non-overlapping, non-phrase matches in text order: match i is
    [starts[i], ends[i]), its term is keys[i] (0 .. K-1) with weight units[i] (> 0), and
    pairs[a, b] says whether terms a, b next to each other form a pair of a query phrase."""
    n = len(starts)
    if not n:
        return NO_WINDOW
    starts = starts.astype(np.int64, copy=False)
    ends = ends.astype(np.int64, copy=False)
    first = np.arange(n)
    # the window of i: i .. the last match ending within `width` of i's start (ends grow)
    last = np.maximum(first, np.searchsorted(ends, starts + width, side="right") - 1)
    terms = np.zeros(n, dtype=np.int64)
    for key in np.unique(keys).tolist():
        best = np.zeros(n, dtype=np.int64)
        of_key = keys == key
        for level in np.unique(units[of_key]).tolist():
            seen = np.concatenate(([0], np.cumsum(of_key & (units == level))))
            best = np.maximum(best, np.where(seen[last + 1] > seen[first], level, 0))
        terms += best
    # a pair counts where both matches are in the window: the second one's index is in (i, last]
    pair = np.zeros(n, dtype=np.int64)
    if n > 1:
        near = (starts[1:] - ends[:-1] <= PAIR_GAP) & pairs[keys[:-1], keys[1:]]
        pair[1:] = np.where(near, PAIR_UNITS, 0)
    paired = np.concatenate(([0], np.cumsum(pair)))
    bonus = np.minimum(paired[last + 1] - paired[first + 1], MAX_BONUS_UNITS)
    span = ends[last] - starts
    score = (terms + bonus) / 20 - span / (width * 100.0)
    i = int(np.argmax(score))
    return int(starts[i]), int(ends[last[i]]), float(score[i])


def best_window_of_matches(matches: list[Match], width: int,
                           bigrams: set[tuple[str, str]]) -> tuple[int, int, float]:
    """`best_window_of_hits` of pattern hits given as `Match`es (in text order, no
    phrases): their terms numbered, and the query's bigrams as a matrix of those numbers."""
    number: dict[str, int] = {}
    keys = np.array([number.setdefault(m.key, len(number)) for m in matches], dtype=np.int64)
    pairs = np.zeros((len(number), len(number)), dtype=bool)
    for a, b in bigrams:
        if a in number and b in number:
            pairs[number[a], number[b]] = True
    return best_window_of_hits(np.array([m.start for m in matches], dtype=np.int64),
                               np.array([m.end for m in matches], dtype=np.int64), keys,
                               np.array([units_of(m.weight) for m in matches], dtype=np.int64),
                               pairs, width)
