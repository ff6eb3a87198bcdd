"""The per-query copy of the reference BM25 must rank exactly as the reference does."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.baseline_runs import check_parity, load_reference, reference_rankings
from search.evaluate import VARIANTS, load_qrels, load_queries

SET = Path(__file__).resolve().parents[3] / "shared" / "data" / "vire-qa-retrieval" / "alqac-qa"


@pytest.fixture(scope="module")
def ref():
    return load_reference()


@pytest.mark.parametrize("variant", ["accented", "unaccented"])
def test_rankings_average_to_the_reference_figures(ref, tmp_path: Path, variant: str) -> None:
    qrels = load_qrels(SET / "qrels.txt")
    queries = [{**q, "query": VARIANTS[variant](q["query"])} for q in load_queries(SET / "queries.jsonl")]
    work = tmp_path / variant
    work.mkdir()
    (work / "corpus.jsonl").symlink_to(SET / "corpus.jsonl")
    (work / "qrels.txt").symlink_to(SET / "qrels.txt")
    (work / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                        encoding="utf-8")
    published = ref.evaluate(str(work))
    rankings = reference_rankings(SET, [q for q in queries if q["qid"] in qrels], ref=ref)
    assert len(rankings) == published["queries"] == 530
    assert all(len(r) <= 100 for r in rankings.values())
    check_parity(rankings, qrels, published)  # raises on any metric off by 0.01


def test_a_changed_ranking_fails_the_parity_check(ref) -> None:
    qrels = load_qrels(SET / "qrels.txt")
    queries = [q for q in load_queries(SET / "queries.jsonl") if q["qid"] in qrels]
    published = ref.evaluate(str(SET))
    rankings = reference_rankings(SET, queries, ref=ref)
    # one query whose relevant article is ranked first now finds it second
    qid = next(q for q, r in rankings.items() if r and r[0] in qrels[q] and len(r) > 1 and r[1] not in qrels[q])
    broken = {**rankings, qid: [rankings[qid][1], rankings[qid][0], *rankings[qid][2:]]}
    with pytest.raises(AssertionError, match="differs from bm25_reference"):
        check_parity(broken, qrels, published)
    with pytest.raises(AssertionError):
        check_parity({q: r for q, r in rankings.items() if q != qid}, qrels, published)  # a query lost


def test_the_feedback_probe_ranks_with_the_same_copy(ref) -> None:
    from benchmarks import feedback_probe

    got = feedback_probe.probe(SET)
    assert round(got["baseline"], 2) == ref.evaluate(str(SET))["nDCG@10"]
    assert set(got) == {"baseline", *(f"{d}/{t}/{a}" for d, t, a in feedback_probe.SETTINGS)}
