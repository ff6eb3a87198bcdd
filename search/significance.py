"""Is a difference in a retrieval metric real? Paired tests over per-query scores.

Two rankings of the same queries give two scores per query (nDCG@10, say). The mean
difference says which ranking is better on these queries; these tests say how much of it
could be luck of the sample, which matters when a few hundred questions decide a target:
- `paired_randomization`: Fisher's randomization test (Smucker, Allan and Carterette,
  CIKM 2007, found it the most reliable of the usual IR tests). Under the null hypothesis
  the two systems are exchangeable on each query, so each per-query difference is equally
  likely with either sign; the p-value is the share of random sign flips whose mean is at
  least as far from zero as the observed one (two-sided).
- `bootstrap_ci`: the percentile bootstrap interval of a mean (queries resampled with
  replacement), for one system's score or for the paired difference.
Pure functions of their inputs and a seed: the same call gives the same answer.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from statistics import fmean
from typing import Sequence

__all__ = ["Comparison", "bootstrap_ci", "compare", "paired_randomization"]


def paired_randomization(a: Sequence[float], b: Sequence[float], trials: int = 10_000,
                         seed: int = 0) -> float:
    """Two-sided p-value that `a` and `b` (scores of the same queries, in the same order)
    come from the same system. Counts the observed assignment itself, so it is never 0."""
    diffs = _diffs(a, b)
    observed = abs(sum(diffs))
    if observed == 0.0:
        return 1.0
    rng = random.Random(seed)
    nonzero = [d for d in diffs if d != 0.0]  # a zero difference is the same either way
    tolerance = 1e-9 * max(1.0, observed)  # sums in another order differ in the last bits
    extreme = 0
    for _ in range(trials):
        total = 0.0
        for d in nonzero:
            total += d if rng.random() < 0.5 else -d
        if abs(total) >= observed - tolerance:
            extreme += 1
    return (extreme + 1) / (trials + 1)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, trials: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`."""
    if not values:
        raise ValueError("no values")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    rng = random.Random(seed)
    n = len(values)
    means = sorted(fmean(rng.choices(values, k=n)) for _ in range(trials))
    tail = (1.0 - confidence) / 2.0
    low = means[int(tail * (trials - 1))]
    high = means[int(round((1.0 - tail) * (trials - 1)))]
    return low, high


@dataclass(frozen=True)
class Comparison:
    """Ours against a baseline over the same queries (metric values as given, e.g. percent)."""

    queries: int
    ours: float  # mean
    baseline: float  # mean
    ours_ci: tuple[float, float]
    delta: float  # ours - baseline
    delta_ci: tuple[float, float]
    p_value: float  # paired randomization test, two-sided
    wins: int  # queries where ours scores higher
    ties: int
    losses: int


def compare(ours: Sequence[float], baseline: Sequence[float], trials: int = 10_000,
            seed: int = 0) -> Comparison:
    """All of the above for one metric: means, intervals, p-value, wins/ties/losses."""
    diffs = _diffs(ours, baseline)
    return Comparison(
        queries=len(diffs),
        ours=fmean(ours),
        baseline=fmean(baseline),
        ours_ci=bootstrap_ci(ours, trials=trials, seed=seed),
        delta=fmean(diffs),
        delta_ci=bootstrap_ci(diffs, trials=trials, seed=seed),
        p_value=paired_randomization(ours, baseline, trials=trials, seed=seed),
        wins=sum(d > 0 for d in diffs),
        ties=sum(d == 0 for d in diffs),
        losses=sum(d < 0 for d in diffs),
    )


def _diffs(a: Sequence[float], b: Sequence[float]) -> list[float]:
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same queries: {len(a)} against {len(b)}")
    if not a:
        raise ValueError("no queries")
    return [x - y for x, y in zip(a, b)]
