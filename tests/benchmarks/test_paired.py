"""The evaluation page's paired-comparison section."""
from __future__ import annotations

from benchmarks.paired import PerQuery, component_lines, paired_lines


def _run(name: str, variant: str, ours: list[float], base: list[float], extra: list[dict] | None = None) -> PerQuery:
    qids = [f"q{i}" for i in range(len(ours))]
    queries = [{"qid": q, "query": "x", **(extra[i] if extra else {})} for i, q in enumerate(qids)]
    return PerQuery(name, variant, dict(zip(qids, ours)), dict(zip(qids, base)), queries)


def test_rows_give_means_intervals_p_and_counts() -> None:
    run = _run("setA", "accented", [100.0, 50.0, 0.0, 100.0], [50.0, 50.0, 100.0, 0.0])
    lines = paired_lines([run], {})
    row = next(line for line in lines if line.startswith("| setA, accented |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "4"
    assert cells[2] == "50.00" and cells[3].startswith("**62.50** [")
    assert cells[4].startswith("+12.50 [")
    assert cells[6] == "2 / 1 / 1"
    assert 0.0 < float(cells[5]) <= 1.0


def test_targets_are_placed_against_our_interval() -> None:
    ours = [80.0 + (i % 5) for i in range(200)]  # mean 82, a tight interval
    base = [70.0] * 200
    lines = "\n".join(paired_lines([_run("low", "accented", ours, base), _run("mid", "accented", ours, base),
                                    _run("high", "accented", ours, base)],
                                   {"low": 75.0, "mid": 82.0, "high": 88.0}))
    assert "low: target 75.0, ours 82.00" in lines and "below the interval" in lines
    assert "mid: target 82.0" in lines and "inside the interval" in lines
    assert "high: target 88.0" in lines and "above the interval" in lines
    assert "p | wins" in lines and "< 0.001" in lines  # a constant gain of 10-14 points


def test_unaccented_rows_are_listed_but_not_held_to_targets() -> None:
    run = _run("setA", "unaccented", [90.0] * 10, [10.0] * 10)
    text = "\n".join(paired_lines([run], {"setA": 80.0}))
    assert "| setA, unaccented |" in text and "target" not in text.split("| setA, unaccented |")[1]


def test_subsets_are_broken_down_when_a_field_has_two_values() -> None:
    extra = [{"split": "verified" if i < 3 else "unverified", "question_type": "Tự luận"} for i in range(6)]
    run = _run("legal", "accented", [100.0] * 6, [50.0] * 6, extra)
    text = "\n".join(paired_lines([run], {}))
    assert "| legal, split = unverified | 3 |" in text
    assert "| legal, split = verified | 3 |" in text
    assert "question_type" not in text  # one value: no breakdown
    assert "by subset" in text
    assert "by subset" not in "\n".join(paired_lines([_run("s", "accented", [1.0], [0.0])], {}))


def test_component_table_names_the_part_compared() -> None:
    run = _run("setA", "accented", [100.0, 100.0, 50.0], [50.0, 100.0, 50.0])
    lines = component_lines([run], "What X adds", "terms only")
    assert lines[0] == "## What X adds"
    assert "| set, variant | queries | terms only | ours [95% CI] | ours - terms only [95% CI] |" in lines[2]
    assert lines[-1].startswith("| setA, accented | 3 | 66.67 | **83.33** [")
    assert lines[-1].endswith("| 1 / 2 / 0 |")
