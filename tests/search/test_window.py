"""The snippet window: the sliding pass and the numpy pass both equal scoring each window
from scratch."""
from __future__ import annotations

import random

import numpy as np
import pytest

from search.window import Match, best_window, best_window_of_hits, units_of

BIGRAMS = {("hoc", "tap"), ("lam", "theo")}
KEYS = ["hoc", "tap", "lam", "theo", "va"]


def window_from_scratch(matches: list[Match], width: int,
                        bigrams: set[tuple[str, str]]) -> tuple[int, int, float]:
    """The documented score, recomputed for the window of every first match."""
    best = (0, 0, -1.0)
    for i, first in enumerate(matches):
        j = i
        while j + 1 < len(matches) and matches[j + 1].end - first.start <= width:
            j += 1
        window = matches[i:j + 1]
        seen: dict[str, float] = {}
        bonus = 0.0
        prev = None
        for m in window:
            if m.phrase:
                bonus += 0.75 * m.weight
                continue
            seen[m.key] = max(seen.get(m.key, 0.0), m.weight)
            if prev is not None and m.start - prev.end <= 2 and (prev.key, m.key) in bigrams:
                bonus += 0.5
            prev = m
        end = max(m.end for m in window)
        score = sum(seen.values()) + min(bonus, 3.0) - (end - first.start) / (width * 100.0)
        if score > best[2] + 1e-9:
            best = (first.start, end, score)
    return best


def _random_matches(rng: random.Random, phrases: bool) -> list[Match]:
    pos, matches = 0, []
    for _ in range(rng.randint(1, 60)):
        pos += rng.choice([1, 2, 3, 5, 8, 20, 40])
        length = rng.randint(2, 6)
        if phrases and rng.random() < 0.15:
            matches.append(Match(pos, pos + length + 5, "hoc tap", 1.0, True))
        matches.append(Match(pos, pos + length, rng.choice(KEYS), rng.choice([1.0, 0.6])))
        if not phrases:
            pos += length  # hits of one pattern never overlap
    matches.sort(key=lambda m: (m.start, -m.end))
    return matches


def test_sliding_window_equals_scoring_each_window_from_scratch() -> None:
    rng = random.Random(11)
    for _ in range(400):
        matches = _random_matches(rng, phrases=True)
        got = best_window(matches, 60, BIGRAMS)
        want = window_from_scratch(matches, 60, BIGRAMS)
        assert got[:2] == want[:2] and got[2] == pytest.approx(want[2]), (matches, got, want)


def _as_arrays(matches: list[Match]) -> tuple[np.ndarray, ...]:
    number = {k: i for i, k in enumerate(KEYS)}
    pairs = np.zeros((len(KEYS), len(KEYS)), dtype=bool)
    for a, b in BIGRAMS:
        pairs[number[a], number[b]] = True
    return (np.array([m.start for m in matches], dtype=np.int64),
            np.array([m.end for m in matches], dtype=np.int64),
            np.array([number[m.key] for m in matches], dtype=np.int64),
            np.array([units_of(m.weight) for m in matches], dtype=np.int64), pairs)


@pytest.mark.parametrize("width", [20, 60, 240])
def test_numpy_pass_equals_the_sliding_pass_on_pattern_hits(width: int) -> None:
    rng = random.Random(width)
    for _ in range(400):
        matches = _random_matches(rng, phrases=False)
        got = best_window_of_hits(*_as_arrays(matches), width)
        want = best_window(matches, width, BIGRAMS)
        assert got == want, (matches, got, want)  # the same floats, not just close
        scratch = window_from_scratch(matches, width, BIGRAMS)
        assert got[:2] == scratch[:2] and got[2] == pytest.approx(scratch[2])


def test_pair_bonus_is_capped_and_needs_adjacency() -> None:
    # ten "học tập" pairs side by side: 2 terms + bonus capped at 3.0 (six pairs), so the
    # tightest window with six pairs wins
    matches = []
    for k in range(10):
        s = k * 10
        matches += [Match(s, s + 3, "hoc", 1.0), Match(s + 4, s + 7, "tap", 1.0)]
    start, end, score = best_window_of_hits(*_as_arrays(matches), 240)
    assert (start, end) == (40, 97)
    assert score == pytest.approx(2 + 3.0 - 57 / 24000)
    # the same two terms too far apart: no pair
    far = [Match(0, 3, "hoc", 1.0), Match(10, 13, "tap", 1.0)]
    assert best_window_of_hits(*_as_arrays(far), 240)[2] == pytest.approx(2 - 13 / 24000)


def test_exact_accent_outweighs_folded_and_ties_go_to_the_tighter_span() -> None:
    matches = [Match(0, 3, "hoc", 0.6), Match(500, 503, "hoc", 1.0), Match(900, 903, "hoc", 1.0)]
    assert best_window_of_hits(*_as_arrays(matches), 60) == (500, 503, 1.0 - 3 / 6000)


def test_no_hits() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert best_window_of_hits(empty, empty, empty, empty, np.zeros((0, 0), bool), 60) == (0, 0, -1.0)
    assert best_window([], 60, BIGRAMS) == (0, 0, -1.0)
