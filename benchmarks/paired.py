"""The evaluation page's paired comparison: is each gain over the baseline real, and is
each target inside what these queries can tell apart?

Input per set and variant: each query's nDCG@10 for ours and for the reference BM25 (see
`benchmarks/baseline_runs.py`). Output: markdown lines for docs/evaluation.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from search.significance import Comparison, compare

# Query fields that name a subset of a set's questions (origin split, question type).
SUBSET_FIELDS = ("split", "orig_split", "question_type")


@dataclass
class PerQuery:
    """One set and variant: nDCG@10 in percent per qid, ours and the baseline's."""

    set_name: str
    variant: str
    ours: dict[str, float]
    baseline: dict[str, float]
    queries: list[dict]  # the set's queries with their extra fields

    def comparison(self, qids: list[str] | None = None) -> Comparison:
        qids = list(self.ours) if qids is None else qids
        return compare([self.ours[q] for q in qids], [self.baseline[q] for q in qids])


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _row(label: str, c: Comparison) -> str:
    return (f"| {label} | {c.queries} | {c.baseline:.2f} | **{c.ours:.2f}** "
            f"[{c.ours_ci[0]:.2f}, {c.ours_ci[1]:.2f}] | {c.delta:+.2f} [{c.delta_ci[0]:+.2f}, "
            f"{c.delta_ci[1]:+.2f}] | {_p(c.p_value)} | {c.wins} / {c.ties} / {c.losses} |")


_HEAD = ["| {what} | queries | baseline | ours [95% CI] | ours - baseline [95% CI] | p | wins / ties / losses |",
         "|---|---:|---:|---|---|---:|---|"]


def paired_lines(runs: list[PerQuery], targets: dict[str, float]) -> list[str]:
    """The section: one row per set and variant, the targets against the intervals, and
    each set's subsets (accented)."""
    lines = [
        "## Are the differences real? Paired tests per query",
        "",
        "Per-query nDCG@10 of ours against the baseline on the same queries "
        "(`search/significance.py`): 95% percentile bootstrap intervals (10,000 resamples of "
        "the queries) of our mean and of the mean difference, and the two-sided p-value of a "
        "paired randomization test (10,000 sign flips). Wins / ties / losses count queries "
        "where ours scores higher / the same / lower. The per-query baseline "
        "(`benchmarks/baseline_runs.py`) is checked on every run to average to exactly what "
        "`bm25_reference.py` reports.",
        "",
        *(line.format(what="set, variant") for line in _HEAD),
    ]
    for run in runs:
        lines.append(_row(f"{run.set_name}, {run.variant}", run.comparison()))
    lines.append("")
    for run in runs:
        target = targets.get(run.set_name)
        if target is None or run.variant != "accented":
            continue
        c = run.comparison()
        low, high = c.ours_ci
        where = ("below the interval: met with room to spare" if target < low else
                 "above the interval: missed by more than these queries' sampling error" if target > high else
                 "inside the interval: these queries cannot tell it apart from our score")
        lines.append(f"- {run.set_name}: target {target:.1f}, ours {c.ours:.2f} "
                     f"[{low:.2f}, {high:.2f}]; the target is {where}.")
    subsets = _subset_lines(r for r in runs if r.variant == "accented")
    if subsets:
        lines += ["", "Accented queries by subset (the fields the sets carry: origin split, question "
                  "type). A gain that held only on some subsets would be a sign of tuning to them.",
                  "", *(line.format(what="set, subset") for line in _HEAD), *subsets]
    return lines


def component_lines(runs: list[PerQuery], title: str, what: str) -> list[str]:
    """A paired table of ours against one of its own parts (`baseline` holds the part's
    per-query scores), e.g. the ranking without semantic re-ranking."""
    head = [line.replace("| baseline |", f"| {what} |").replace("ours - baseline", f"ours - {what}")
            for line in _HEAD]
    return [f"## {title}", "", *(line.format(what="set, variant") for line in head),
            *(_row(f"{r.set_name}, {r.variant}", r.comparison()) for r in runs)]


def _subset_lines(runs) -> list[str]:
    out = []
    for run in runs:
        for key in SUBSET_FIELDS:
            groups: dict[str, list[str]] = {}
            for q in run.queries:
                if q.get(key) is not None and q["qid"] in run.ours:
                    groups.setdefault(str(q[key]), []).append(q["qid"])
            if len(groups) < 2:
                continue
            for value, qids in sorted(groups.items()):
                out.append(_row(f"{run.set_name}, {key} = {value}", run.comparison(qids)))
    return out
