"""Paired significance tests: exact on small cases, sensible on clear ones, deterministic."""
from __future__ import annotations

import itertools
from statistics import fmean

import pytest

from search.significance import bootstrap_ci, compare, paired_randomization


def _exact_p(a: list[float], b: list[float]) -> float:
    """Every sign assignment enumerated: the exact two-sided randomization p-value."""
    diffs = [x - y for x, y in zip(a, b)]
    observed = abs(sum(diffs))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed - 1e-12
               for signs in itertools.product((1, -1), repeat=len(diffs)))
    return hits / 2 ** len(diffs)


def test_randomization_matches_exact_enumeration() -> None:
    a = [0.9, 0.4, 1.0, 0.6, 0.3, 0.8, 0.7, 0.2, 1.0, 0.5]
    b = [0.5, 0.5, 0.6, 0.2, 0.4, 0.3, 0.7, 0.1, 0.6, 0.6]
    exact = _exact_p(a, b)
    assert 0.01 < exact < 0.2  # a case where the estimate has something to get right
    assert paired_randomization(a, b, trials=40_000) == pytest.approx(exact, abs=0.01)


def test_identical_runs_are_not_different() -> None:
    a = [0.1, 0.5, 1.0, 0.0]
    assert paired_randomization(a, a) == 1.0
    assert compare(a, a).p_value == 1.0 and compare(a, a).delta == 0.0


def test_a_consistent_gain_is_significant_and_noise_is_not() -> None:
    base = [i % 7 / 7 for i in range(200)]
    better = [x + 0.05 for x in base]
    assert paired_randomization(better, base, trials=2000) == 1 / 2001  # no flip reaches it
    noisy = [x + (0.05 if i % 2 else -0.05) for i, x in enumerate(base)]
    assert paired_randomization(noisy, base, trials=2000) > 0.5


def test_the_test_is_two_sided() -> None:
    a = [0.9, 0.4, 1.0, 0.6, 0.3, 0.8]
    b = [0.5, 0.5, 0.6, 0.2, 0.4, 0.3]
    assert paired_randomization(a, b) == paired_randomization(b, a)


def test_bootstrap_interval_holds_the_mean_and_tracks_spread() -> None:
    tight = [50.0 + (i % 3) for i in range(300)]
    wide = [0.0 if i % 2 else 100.0 for i in range(300)]
    lo_t, hi_t = bootstrap_ci(tight, trials=2000)
    lo_w, hi_w = bootstrap_ci(wide, trials=2000)
    assert lo_t <= fmean(tight) <= hi_t and lo_w <= fmean(wide) <= hi_w
    assert hi_t - lo_t < 0.5 < hi_w - lo_w
    # about +-1.96 standard errors: sd 50 over 300 queries -> 2.89 each side
    assert hi_w - lo_w == pytest.approx(2 * 1.96 * 50 / 300 ** 0.5, rel=0.15)
    assert bootstrap_ci([7.0] * 20) == (7.0, 7.0)


def test_same_seed_same_answer() -> None:
    a = [i % 5 / 5 for i in range(100)]
    b = [i % 3 / 3 for i in range(100)]
    assert compare(a, b, trials=500) == compare(a, b, trials=500)
    assert bootstrap_ci(a, trials=500, seed=1) == bootstrap_ci(a, trials=500, seed=1)


def test_compare_counts_wins_ties_losses() -> None:
    c = compare([1.0, 0.5, 0.0, 0.3], [0.5, 0.5, 0.5, 0.0], trials=100)
    assert (c.wins, c.ties, c.losses) == (2, 1, 1)
    assert c.queries == 4
    assert c.delta == pytest.approx((0.5 + 0 - 0.5 + 0.3) / 4)
    assert c.ours == pytest.approx(0.45) and c.baseline == pytest.approx(0.375)


@pytest.mark.parametrize("a, b", [([1.0], [1.0, 2.0]), ([], [])])
def test_unpaired_or_empty_input_is_refused(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError):
        compare(a, b)


def test_bad_confidence_is_refused() -> None:
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(ValueError):
        bootstrap_ci([])
