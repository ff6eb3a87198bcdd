"""Relevance evaluation: `vnsearch eval DIR` over a corpus, queries and TREC qrels.

Every query goes through `Engine.search`, the path `/search` uses, with its defaults
(highlighting and facets off: they do not change the ranking). The top 100 come from two
pages of 50, the API's largest page. Query variants test what users type:
    accented    the query as given
    unaccented  diacritics stripped (đ -> d)
    tones       the other tone placement for oa/oe/uy (hòa <-> hoà)
    nfd         decomposed Unicode
Metrics match ../shared/tools/bm25_reference.py (binary relevance, values in percent).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from indexer.normalize import fold
from indexer.record import RecordError

__all__ = ["VARIANTS", "corpus_file", "load_queries", "load_qrels", "ndcg_at_10", "metrics", "evaluate", "main"]

METRICS = ("P@1", "MRR@10", "nDCG@10", "R@10", "R@100")


_TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"


def _split_tone(ch: str) -> tuple[str, str]:
    """'à' -> ('a', grave); 'ê' -> ('ê', '')."""
    nfd = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in nfd if c in _TONE_MARKS)
    rest = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONE_MARKS))
    return rest, tone


def _swap_syllable(m: re.Match[str]) -> str:
    syl = m.group()
    base = fold(syl).lower()
    if len(base) < 2 or base[-2:] not in ("oa", "oe", "uy") or base[-3:-2] == "q":
        return syl
    (a, ta), (b, tb) = _split_tone(syl[-2]), _split_tone(syl[-1])
    if bool(ta) == bool(tb):
        return syl
    if ta:
        a, b = a, unicodedata.normalize("NFC", b + ta)
    else:
        a, b = unicodedata.normalize("NFC", a + tb), b
    return syl[:-2] + a + b


def _swap_tones(text: str) -> str:
    """hòa -> hoà, thủy -> thuỷ and back: the other tone placement of open oa/oe/uy."""
    return re.sub(r"\w+", _swap_syllable, unicodedata.normalize("NFC", text))


VARIANTS: dict[str, Callable[[str], str]] = {
    "accented": lambda q: q,
    "unaccented": fold,
    "tones": _swap_tones,
    "nfd": lambda q: unicodedata.normalize("NFD", q),
}


def load_queries(path: Path) -> list[dict]:
    """{"qid": ..., "query": ...} per line; a RecordError (file:line) for a bad one."""
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(f"{path}:{lineno}", f"not JSON ({exc.msg})") from None
            if not (isinstance(q, dict) and isinstance(q.get("qid"), str) and isinstance(q.get("query"), str)):
                raise RecordError(f"{path}:{lineno}", "a query needs a string \"qid\" and \"query\"")
            out.append(q)
    return out


def load_qrels(path: Path) -> dict[str, set[str]]:
    """TREC qrels (qid 0 docid relevance); the pairs with relevance > 0. A RecordError
    (file:line) for a line of another shape: skipping it would change the scores."""
    qrels: dict[str, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
                raise RecordError(f"{path}:{lineno}", "expected 'qid 0 docid relevance'")
            if int(parts[3]) > 0:
                qrels[parts[0]].add(parts[2])
    return qrels


def ndcg_at_10(ranked: list[str], rel: set[str]) -> float:
    """Binary nDCG@10 of one query (a fraction)."""
    dcg = sum(1 / math.log2(r + 2) for r, d in enumerate(ranked[:10]) if d in rel)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), 10)))
    return dcg / idcg if idcg else 0.0


def metrics(runs: Iterable[tuple[list[str], set[str]]]) -> dict[str, float]:
    """P@1, MRR@10, nDCG@10, R@10, R@100 in percent, plus the query count."""
    total: dict[str, float] = defaultdict(float)
    n = 0
    for ranked, rel in runs:
        n += 1
        hits = [1 if d in rel else 0 for d in ranked[:100]]
        total["P@1"] += hits[0] if hits else 0
        total["MRR@10"] += next((1 / (r + 1) for r, h in enumerate(hits[:10]) if h), 0.0)
        total["nDCG@10"] += ndcg_at_10(ranked, rel)
        total["R@10"] += sum(hits[:10]) / len(rel)
        total["R@100"] += sum(hits) / len(rel)
    out = {k: round(100 * total[k] / max(1, n), 2) for k in METRICS}
    out["queries"] = n
    return out


def corpus_file(directory: Path) -> Path:
    """The corpus of a retrieval set directory (plain, gzip or xz JSONL)."""
    for name in ("corpus.jsonl", "corpus.jsonl.gz", "corpus.jsonl.xz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"no corpus.jsonl[.gz|.xz] in {directory}")


def ensure_index(directory: Path, index_path: Path, workers: int = 0, embed: bool = True,
                 vector_cache: Path | None = None, encoder=None) -> None:  # noqa: ANN001 - an Encoder
    """Build the corpus index at `index_path` unless one is already there, and give every
    passage its vector (semantic re-ranking is part of `/search`'s defaults). A
    `vector_cache` directory keeps vectors by content across runs."""
    from indexer.build import BuildOptions, index_articles
    from indexer.embedding import E5Encoder, VectorStore, embed_index
    from indexer.sources.jsonl import read_jsonl
    from indexer.store import live_dir

    if live_dir(index_path) is None:
        corpus = corpus_file(directory)
        stats = index_articles(read_jsonl(corpus), index_path,
                               BuildOptions(workers=workers, progress="quiet", rebuild=True))
        if stats.rejected:
            raise RecordError(str(corpus), f"{stats.rejected} corpus records rejected, first: {stats.rejects[0]}")
    if embed:
        seed = VectorStore(vector_cache) if vector_cache is not None else None
        live = live_dir(index_path)
        assert live is not None
        embed_index(live, encoder or E5Encoder(), seed=seed)


@dataclass
class EvalRun:
    variant: str
    scores: dict[str, float]
    ms_per_query: float
    per_query: dict[str, float] = field(default_factory=dict)  # qid -> nDCG@10 in percent, for paired tests


def ranked_ids(engine, q: str, depth: int = 100, per_page: int = 50) -> list[str]:
    from search.engine import SearchRequest

    ids: list[str] = []
    for page in range(1, depth // per_page + 1):
        result = engine.search(SearchRequest(q=q, page=page, per_page=per_page,
                                             highlight=False, facets=False))
        ids.extend(h.id for h in result.hits)
        if len(result.hits) < per_page:
            break
    return ids


def evaluate(directory: Path, index_path: Path, variants: Iterable[str] = ("accented",),
             engine_factory=None) -> list[EvalRun]:
    from search.engine import Engine

    queries = load_queries(directory / "queries.jsonl")
    qrels = load_qrels(directory / "qrels.txt")
    queries = [q for q in queries if q["qid"] in qrels]
    engine = engine_factory(index_path) if engine_factory else Engine(index_path)
    runs = []
    try:
        for variant in variants:
            transform = VARIANTS[variant]
            started = time.perf_counter()
            scored = [(ranked_ids(engine, transform(q["query"])), qrels[q["qid"]]) for q in queries]
            elapsed = time.perf_counter() - started
            per_query = {q["qid"]: 100 * ndcg_at_10(ranked, rel) for q, (ranked, rel) in zip(queries, scored)}
            runs.append(EvalRun(variant, metrics(scored), 1000 * elapsed / max(1, len(queries)), per_query))
    finally:
        engine.close()
    return runs


def main(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        print(f"vnsearch eval: unknown variant {unknown[0]!r}; one of {', '.join(VARIANTS)}, all",
              file=sys.stderr)
        return 1
    missing = [name for name in ("queries.jsonl", "qrels.txt") if not (directory / name).is_file()]
    try:
        corpus_file(directory)
    except FileNotFoundError:
        missing.insert(0, "corpus.jsonl[.gz|.xz]")
    if missing:
        print(f"vnsearch eval: {directory} has no {', '.join(missing)}", file=sys.stderr)
        return 1
    from indexer.build import AnalysisWorkerDied

    try:
        with tempfile.TemporaryDirectory(prefix="vnsearch-eval-") as tmp:
            index_path = args.index or Path(tmp) / "index"
            ensure_index(directory, index_path)
            runs = evaluate(directory, index_path, variants)
    except (RecordError, UnicodeDecodeError, OSError, AnalysisWorkerDied) as exc:
        print(f"vnsearch eval: {exc}", file=sys.stderr)
        return 1
    if args.json:
        if len(runs) == 1:
            print(json.dumps(runs[0].scores))
        else:
            print(json.dumps({r.variant: r.scores for r in runs}))
        return 0
    print(f"{directory}")
    print(f"{'variant':<11} " + " ".join(f"{m:>8}" for m in METRICS) + f" {'queries':>8} {'ms/q':>7}")
    for r in runs:
        print(f"{r.variant:<11} " + " ".join(f"{r.scores[m]:>8.2f}" for m in METRICS)
              + f" {r.scores['queries']:>8} {r.ms_per_query:>7.1f}")
    return 0
