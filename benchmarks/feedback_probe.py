"""Would pseudo-relevance feedback close the lexical gap? A probe on the baseline BM25.

    .venv/bin/python benchmarks/feedback_probe.py [--out docs/feedback-probe.md] [SET_DIR ...]

Most of vimedaqa's misses are vocabulary mismatches (docs/lexical-gap.md): the relevant
passage words the question differently. The textbook lexical remedy is query expansion
from the top-ranked passages (RM3-style pseudo-relevance feedback): take the first `docs`
passages of the baseline's ranking, weight each by its score (softmax over the BM25
scores), add their `terms` heaviest syllables (in-passage frequency x idf) to the query
with a share `alpha` of the query's weight, and rank again.

This runs it on the reference syllable BM25 itself (tokens, idf and k1/b of
../shared/tools/bm25_reference.py), so the baseline column is that tool's run and any gain
would be the method's alone. If feedback does not help the baseline, it is not worth
building into `/search` (a second query per search, and results that contain none of the
words the reader typed).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baseline_runs import ReferenceBM25, load_reference  # noqa: E402
from benchmarks.compare_eval import DEFAULT_SETS, write_report  # noqa: E402
from search.evaluate import load_qrels, load_queries, ndcg_at_10  # noqa: E402

# (feedback passages, expansion terms, alpha): small to large expansions
SETTINGS = [(1, 10, 0.2), (3, 10, 0.3), (3, 20, 0.2), (5, 20, 0.3), (10, 30, 0.3)]


def expanded(corpus: ReferenceBM25, query: Counter, ranked: list[tuple[int, float]], docs: int,
             terms: int, alpha: float) -> dict[str, float]:
    """The query with the feedback terms of its `docs` best passages added (a share `alpha`)."""
    top = ranked[:docs]
    if not top:
        return dict(query)
    best = top[0][1]
    feedback: Counter = Counter()
    for i, score in top:
        w = math.exp(score - best)
        for t, c in corpus.tfs[i].items():
            feedback[t] += w * c / corpus.lengths[i] * corpus.idf[t]
    chosen = dict(feedback.most_common(terms))
    total_q, total_f = sum(query.values()), sum(chosen.values()) or 1.0
    out: dict[str, float] = defaultdict(float)
    for t, c in query.items():
        out[t] += (1 - alpha) * c / total_q
    for t, v in chosen.items():
        out[t] += alpha * v / total_f
    return out


def probe(set_dir: Path) -> dict[str, float]:
    """nDCG@10 of the baseline and of each feedback setting."""
    ref = load_reference()
    corpus = ReferenceBM25.load(set_dir, ref=ref)
    qrels = load_qrels(set_dir / "qrels.txt")
    queries = [q for q in load_queries(set_dir / "queries.jsonl") if q["qid"] in qrels]
    sums = Counter()
    for q in queries:
        terms = Counter(set(ref.tokens(q["query"])))  # as the reference: each distinct syllable once
        ranked = corpus.rank(terms)
        rel = qrels[q["qid"]]
        sums["baseline"] += ndcg_at_10([corpus.ids[i] for i, _ in ranked[:10]], rel)
        for docs, n_terms, alpha in SETTINGS:
            again = corpus.rank(expanded(corpus, terms, ranked, docs, n_terms, alpha))
            sums[f"{docs}/{n_terms}/{alpha}"] += ndcg_at_10([corpus.ids[i] for i, _ in again[:10]], rel)
    return {k: 100 * v / max(1, len(queries)) for k, v in sums.items()}


def gain_table(lines: list[str], columns: list[str], sets: list[Path],
               probe: Callable[[Path], dict[str, float]]) -> dict[str, float]:
    """Append to `lines` a table of each set's scores per column (the first is the
    baseline) and the best gain line; returns each set's best gain over the baseline."""
    lines += ["| set | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    best_gain: dict[str, float] = {}
    for set_dir in sets:
        scores = probe(set_dir)
        lines.append(f"| {set_dir.name} | " + " | ".join(f"{scores[c]:.2f}" for c in columns) + " |")
        print(lines[-1], flush=True)
        best_gain[set_dir.name] = max(scores[c] - scores[columns[0]] for c in columns[1:])
    lines += ["", "Best setting against the baseline, per set: " + ", ".join(
        f"{name} {gain:+.2f}" for name, gain in best_gain.items()) + " nDCG@10 points."]
    return best_gain


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "feedback-probe.md")
    args = p.parse_args(argv)
    columns = ["baseline"] + [f"{d}/{t}/{a}" for d, t, a in SETTINGS]
    lines = [
        "# Pseudo-relevance feedback on the baseline BM25: a probe",
        "",
        f"Generated {dt.date.today().isoformat()} by:",
        "",
        "    .venv/bin/python benchmarks/feedback_probe.py",
        "",
        "nDCG@10 of `../shared/tools/bm25_reference.py`'s ranking, and of the same ranking run",
        "again with the query expanded from its own top passages (RM3-style; a column is",
        "passages / expansion syllables / share of the expansion in the query's weight; see",
        "the script's docstring).",
        "",
    ]
    best_gain = gain_table(lines, columns, args.sets, probe)
    if all(g <= 0 for g in best_gain.values()):
        lines.append("Feedback lowers every set in every setting, so `/search` does not use it.")
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
