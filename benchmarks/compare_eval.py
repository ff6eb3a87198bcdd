"""Ours vs the plain syllable BM25 baseline, on every retrieval set and query variant.

    .venv/bin/python benchmarks/compare_eval.py [--out docs/evaluation.md] [SET_DIR ...]

Writes a markdown table (nDCG@10 and the other metrics) to --out and prints it. The
baseline is ../shared/tools/bm25_reference.py, run on the same query variants.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baseline_runs import check_parity, load_reference, reference_rankings  # noqa: E402
from benchmarks.paired import PerQuery, component_lines, paired_lines  # noqa: E402
from benchmarks.published import context_lines  # noqa: E402
from search.evaluate import VARIANTS, ensure_index, evaluate, load_qrels, load_queries, ndcg_at_10  # noqa: E402

SHARED = ROOT.parent / "shared"
# passage vectors by content, kept between runs (encoding ALQAC's 2,249 articles takes minutes)
VECTOR_CACHE = Path(os.environ.get("VNSEARCH_BENCH_CACHE", "/tmp/vnsearch-bench")) / "eval-vectors"
DEFAULT_SETS = [
    SHARED / "data" / "alqac-legal-retrieval",
    SHARED / "data" / "vire-qa-retrieval" / "vimedaqa",
    SHARED / "data" / "vire-qa-retrieval" / "virhe4qa",
    SHARED / "data" / "vire-qa-retrieval" / "alqac-qa",
]
TARGETS = {"alqac-legal-retrieval": 89.0, "vimedaqa": 88.0, "virhe4qa": 85.0}
PAIRED_VARIANTS = ("accented", "unaccented")  # tones and nfd rank exactly as accented (checked below)


def _terms_only(index_path: Path):  # noqa: ANN202 - an Engine
    """The `/search` engine with semantic re-ranking off."""
    from dataclasses import replace

    from config.settings import SearchSettings
    from search.engine import Engine

    return Engine(index_path, replace(SearchSettings(), semantic=False))


def reference_scores(set_dir: Path, variant: str, tmp: Path) -> tuple[dict, dict[str, float]]:
    """Run the baseline on `set_dir` with its queries rewritten to `variant`: the reference's
    own averages, and each query's nDCG@10 (percent) from the per-query copy, checked
    against those averages."""
    ref = load_reference()
    work = tmp / f"{set_dir.name}-{variant}"
    work.mkdir()
    for f in set_dir.iterdir():
        if f.name.startswith("corpus") or f.name == "qrels.txt":
            os.symlink(f, work / f.name)
    transform = VARIANTS[variant]
    qrels = load_qrels(set_dir / "qrels.txt")
    queries = [{**q, "query": transform(q["query"])} for q in load_queries(set_dir / "queries.jsonl")]
    with open(work / "queries.jsonl", "w", encoding="utf-8") as out:
        for q in queries:
            out.write(json.dumps(q, ensure_ascii=False) + "\n")
    published = ref.evaluate(str(work))
    rankings = reference_rankings(set_dir, [q for q in queries if q["qid"] in qrels], ref=ref)
    check_parity(rankings, qrels, published)
    return published, {qid: 100 * ndcg_at_10(ranked, qrels[qid]) for qid, ranked in rankings.items()}


def write_report(path: Path, lines: list[str]) -> None:
    """Write a generated markdown page and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "evaluation.md")
    args = p.parse_args(argv)

    rows = []
    paired: list[PerQuery] = []
    semantic: list[PerQuery] = []  # ours against its own term ranking alone
    with tempfile.TemporaryDirectory(prefix="vnsearch-compare-") as tmpdir:
        tmp = Path(tmpdir)
        for set_dir in args.sets:
            index_path = tmp / f"{set_dir.name}-index" / "index"
            ensure_index(set_dir, index_path, vector_cache=VECTOR_CACHE)
            ours = {r.variant: r for r in evaluate(set_dir, index_path, list(VARIANTS))}
            terms = {r.variant: r for r in evaluate(set_dir, index_path, list(VARIANTS), engine_factory=_terms_only)}
            queries = load_queries(set_dir / "queries.jsonl")
            for variant in VARIANTS:
                base, base_per_query = reference_scores(set_dir, variant, tmp)
                if variant in PAIRED_VARIANTS:
                    paired.append(PerQuery(set_dir.name, variant, ours[variant].per_query, base_per_query, queries))
                    semantic.append(PerQuery(set_dir.name, variant, ours[variant].per_query,
                                             terms[variant].per_query, queries))
                rows.append((set_dir.name, variant, base, ours[variant].scores, ours[variant].ms_per_query,
                             terms[variant].scores))
                print(set_dir.name, variant, "baseline", base["nDCG@10"], "ours", ours[variant].scores["nDCG@10"],
                      flush=True)

    lines = [
        "# Relevance evaluation",
        "",
        f"Generated {dt.date.today().isoformat()} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}) by:",
        "",
        "    .venv/bin/python benchmarks/compare_eval.py",
        "",
        "Baseline: `../shared/tools/bm25_reference.py` (NFC, lowercase `\\w+` syllables, BM25 k1=1.2 "
        "b=0.75 over title+body), run on the same query variants. Ours: `vnsearch eval` (the "
        "`/search` path with its defaults: the term ranking, and for questions and other wordy "
        "queries its top 100 re-ranked with multilingual-e5-small passage vectors, "
        "`search/semantic.py`). `terms only` is the same with `semantic = false`: what term matching "
        "makes alone. Variants: `accented` as given; `unaccented` diacritics "
        "stripped (đ→d); `tones` the other tone placement (hòa↔hoà); `nfd` decomposed Unicode.",
        "",
        "| set | variant | baseline nDCG@10 | terms only nDCG@10 | ours nDCG@10 | ours P@1 | ours MRR@10 | ours R@10 | ours R@100 | queries | ms/query |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, variant, base, ours, ms, alone in rows:
        lines.append(f"| {name} | {variant} | {base['nDCG@10']:.2f} | {alone['nDCG@10']:.2f} | "
                     f"**{ours['nDCG@10']:.2f}** | "
                     f"{ours['P@1']:.2f} | {ours['MRR@10']:.2f} | {ours['R@10']:.2f} | {ours['R@100']:.2f} | "
                     f"{ours['queries']} | {ms:.1f} |")
    lines += ["", "Targets (nDCG@10, accented): " + ", ".join(f"{k} ≥ {v}" for k, v in TARGETS.items())
              + "; unaccented ≥ 95% of accented; tones and nfd identical to accented.", ""]
    summary = []
    for name in dict.fromkeys(r[0] for r in rows):
        acc = next(r[3] for r in rows if r[0] == name and r[1] == "accented")
        una = next(r[3] for r in rows if r[0] == name and r[1] == "unaccented")
        same = all(next(r[3] for r in rows if r[0] == name and r[1] == v) == acc for v in ("tones", "nfd"))
        summary.append(f"- {name}: unaccented = {100 * una['nDCG@10'] / max(acc['nDCG@10'], 1e-9):.1f}% "
                       f"of accented; tones/nfd identical: {'yes' if same else 'NO'}")
    lines += summary + ["", "How much better term matching alone could still gain on each set, at best: "
                        "[lexical-gap.md](lexical-gap.md), `benchmarks/lexical_gap.py`. "
                        "Methods that add words the question does not contain, tried on the baseline and "
                        "not used: [feedback-probe.md](feedback-probe.md) (pseudo-relevance feedback), "
                        "[embedding-probe-syllables.md](embedding-probe-syllables.md) and "
                        "[embedding-probe-words.md](embedding-probe-words.md) (word2vec trained on our "
                        "corpora).", ""]
    accented = {r[0]: r[3]["nDCG@10"] for r in rows if r[1] == "accented"}
    lines += paired_lines(paired, TARGETS) + [""]
    lines += component_lines(semantic, "What semantic re-ranking adds: ours against terms only",
                             "terms only") + [
        "", "The same paired tests, ours against its own term ranking (`semantic = false`) on the "
        "same queries: the part of the gain that the passage vectors make.", ""]
    lines += context_lines(accented, TARGETS) + [""]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
