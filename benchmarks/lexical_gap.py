"""How far better term matching alone could take each retrieval set: the lexical gap.

    .venv/bin/python benchmarks/lexical_gap.py [--out docs/lexical-gap.md] [SET_DIR ...]

Runs every (accented) query through the `/search` path with its defaults (as `vnsearch
eval`), and sorts each query our ranking gets wrong (relevant passage not first) by how
much of the query the relevant passage contains against the passage ranked first. Coverage
is the idf mass of the query's distinct syllables found in a passage (tokens and idf as the
reference BM25 has them: NFC, lowercase `\\w+`, ln(1 + (N - df + 0.5) / (df + 0.5)) over
title + body).

A failure where the passage ranked first covers more of the query than the relevant one
is a vocabulary mismatch: the answer words its question differently, so a ranking that
sums plain idf over matched query terms has no reason to prefer it. (A ranking that weighs
rare terms more can still fix a few: RankingParams.idf_power put 12 of vimedaqa's 168
mismatches of the plain-idf ranking first.) The "lexical ceiling" is the nDCG@10 this run
would reach if every *other* failure were ranked perfectly and nothing else changed: an
optimistic estimate of what term matching could still gain, not a proof.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import iter_records  # noqa: E402
from benchmarks.compare_eval import DEFAULT_SETS, write_report  # noqa: E402
from search.evaluate import corpus_file, ensure_index, load_queries, load_qrels, ndcg_at_10, ranked_ids  # noqa: E402

_TOKEN = re.compile(r"\w+")


def syllables(text: str) -> set[str]:
    """The distinct syllables of `text`, as the reference BM25 tokenizes."""
    return set(_TOKEN.findall(unicodedata.normalize("NFC", text or "").lower()))


@dataclass
class Gap:
    queries: int
    ndcg: float  # percent
    failures: int  # relevant passage not ranked first
    mismatch: int  # ... and the first-ranked passage covers more of the query
    under_half: int  # ... and the relevant passage covers under half the query's idf mass
    ceiling: float  # percent: nDCG@10 if every failure but the mismatches were ranked perfectly


def lexical_gap(runs: list[tuple[set[str], list[str], set[str]]],
                doc_syllables: dict[str, set[str]], idf: dict[str, float]) -> Gap:
    """`runs`: (query syllables, our ranked ids, relevant ids) per query."""
    total = ceiling = 0.0
    failures = mismatch = under_half = 0
    for query, ranked, relevant in runs:
        score = ndcg_at_10(ranked, relevant)
        total += score
        if ranked and ranked[0] in relevant:
            ceiling += score
            continue
        failures += 1
        mass = sum(idf.get(t, 0.0) for t in query) or 1.0
        rel = max(sum(idf.get(t, 0.0) for t in query & doc_syllables[d]) for d in relevant)
        top = sum(idf.get(t, 0.0) for t in query & doc_syllables[ranked[0]]) if ranked else 0.0
        under_half += rel < 0.5 * mass
        if top > rel:
            mismatch += 1
            ceiling += score
        else:
            ceiling += 1.0
    n = max(1, len(runs))
    return Gap(len(runs), 100 * total / n, failures, mismatch, under_half, 100 * ceiling / n)


def measure(set_dir: Path, index_path: Path) -> Gap:
    from search.engine import Engine

    docs = {doc["id"]: syllables((doc.get("title") or "") + "\n" + (doc.get("body") or ""))
            for doc in iter_records(corpus_file(set_dir))}
    df = Counter(t for s in docs.values() for t in s)
    n = len(docs)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    qrels = load_qrels(set_dir / "qrels.txt")
    queries = [q for q in load_queries(set_dir / "queries.jsonl") if q["qid"] in qrels]
    ensure_index(set_dir, index_path, embed=False)  # term matching alone: no passage vectors
    engine = Engine(index_path)
    try:
        runs = [(syllables(q["query"]), ranked_ids(engine, q["query"], depth=50), qrels[q["qid"]])
                for q in queries]
    finally:
        engine.close()
    return lexical_gap(runs, docs, idf)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "lexical-gap.md")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vnsearch-gap-") as tmp:
        for set_dir in args.sets:
            gap = measure(set_dir, Path(tmp) / set_dir.name / "index")
            rows.append((set_dir.name, gap))
            print(set_dir.name, gap, flush=True)
    lines = [
        "# The lexical gap of each retrieval set",
        "",
        f"Generated {dt.date.today().isoformat()} by:",
        "",
        "    .venv/bin/python benchmarks/lexical_gap.py",
        "",
        "Accented queries through the `/search` path with its defaults. A *failure* is a query",
        "whose relevant passage is not ranked first. *Coverage* of a passage is the idf mass of",
        "the query's distinct syllables it contains (reference BM25 tokens and idf). A",
        "*vocabulary mismatch* is a failure where the passage ranked first covers more of the",
        "query than the relevant one. *Lexical ceiling*: the nDCG@10 of this run if",
        "every failure that is not a mismatch were ranked perfectly (an optimistic estimate of what",
        "better term matching could still gain; mismatches stay where they are, though a",
        "sharper term weighting can fix a few of them, as `RankingParams.idf_power` does).",
        "",
        "| set | queries | nDCG@10 | failures | vocabulary mismatches | relevant covers < 50% of the query | lexical ceiling nDCG@10 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, g in rows:
        lines.append(f"| {name} | {g.queries} | {g.ndcg:.2f} | {g.failures} | {g.mismatch} "
                     f"({100 * g.mismatch / max(1, g.failures):.0f}%) | {g.under_half} | {g.ceiling:.2f} |")
    lines.append("")
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
