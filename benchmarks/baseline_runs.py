"""Per-query rankings of the reference BM25, for paired significance tests.

../shared/tools/bm25_reference.py prints only averages over a set. A paired test needs each
query's score, so `reference_rankings` runs the same scoring over the same tokens (the
reference's own `tokens`, k1 = 1.2, b = 0.75, its idf and its tie order) and keeps each
query's top 100. `check_parity` proves the copy faithful on every run: the averages of its
rankings must equal what the reference itself reports, metric by metric. The probes of
methods tried on the baseline (`feedback_probe`, `embedding_probe`) rank with the same copy.
"""
from __future__ import annotations

import importlib.util
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

from search.evaluate import METRICS, metrics

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "bm25_reference.py"
K1, B = 1.2, 0.75  # the reference's defaults


def load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bm25_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class ReferenceBM25:
    """A set's passages as the reference's BM25 statistics (its tokens unless `tokens` is
    given, its idf, k1 and b), ranking weighted queries the way its loop does."""

    ids: list[str]
    tfs: list[Counter]
    lengths: list[int]
    postings: dict[str, list[tuple[int, int]]]
    idf: dict[str, float]
    norm: list[float]

    @classmethod
    def load(cls, set_dir: Path, tokens: Callable[[str], list[str]] | None = None,
             ref: ModuleType | None = None) -> "ReferenceBM25":
        ref = ref or load_reference()
        tokens = tokens or ref.tokens
        ids, tfs, lengths = [], [], []
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        with ref.open_any(str(set_dir / "corpus.jsonl")) as f:
            for line in f:
                doc = json.loads(line)
                tf = Counter(tokens(doc.get("title", "") + "\n" + doc.get("body", "")))
                for t, c in tf.items():
                    postings[t].append((len(ids), c))
                ids.append(doc["id"])
                tfs.append(tf)
                lengths.append(sum(tf.values()))
        n, avgdl = len(ids), sum(lengths) / max(1, len(lengths))
        idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        norm = [K1 * (1 - B + B * x / avgdl) for x in lengths]
        return cls(ids, tfs, lengths, postings, idf, norm)

    def rank(self, weights: dict[str, float]) -> list[tuple[int, float]]:
        """(passage index, score), best first; the reference's query is every distinct
        token with weight 1, in order of first occurrence."""
        scores: dict[int, float] = defaultdict(float)
        for t, w in weights.items():
            wi = self.idf.get(t, 0.0) * w
            for i, c in self.postings.get(t, ()):
                scores[i] += wi * c * (K1 + 1) / (c + self.norm[i])
        return sorted(scores.items(), key=lambda x: -x[1])


def reference_rankings(set_dir: Path, queries: list[dict], ref: ModuleType | None = None) -> dict[str, list[str]]:
    """qid -> the reference BM25's top 100 ids over `set_dir`'s corpus, for each of `queries`."""
    ref = ref or load_reference()
    bm25 = ReferenceBM25.load(set_dir, ref=ref)
    return {q["qid"]: [bm25.ids[i] for i, _ in bm25.rank(dict.fromkeys(ref.tokens(q["query"]), 1.0))[:100]]
            for q in queries}


def check_parity(rankings: dict[str, list[str]], qrels: dict[str, set[str]], published: dict) -> None:
    """Raise unless `rankings` average to the reference's own figures (`published`)."""
    ours = metrics((rankings[qid], qrels[qid]) for qid in rankings)
    wrong = {m: (ours[m], published[m]) for m in METRICS if abs(ours[m] - published[m]) > 0.005}
    if wrong or ours["queries"] != published["queries"]:
        raise AssertionError(f"per-query baseline differs from bm25_reference.py: {wrong or ours['queries']}")
