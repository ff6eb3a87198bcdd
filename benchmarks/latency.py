"""Query latency through `search.engine.Engine.search` (the path GET /search takes).

Index: the whole VNTC corpus (84,132 articles) with synthetic dates (see
`common.synthetic_date`: VNTC has none, and an undated index would make the date filter
match nothing and the year facet free). Queries: `querymix` built from the indexed
titles. Modes (each a SearchRequest field combination, page 1, 10 per page):
    plain      highlight=False, facets=False
    facets     + category and year facet counts
    highlight  + title marks and body snippets
    date       + date_from/date_to window (7-365 days around an indexed article's date)
    all        facets + highlights + date window
Warm-up: the whole mix once in `all` (measured too: the cold first pass, empty posting
cache) and once in `plain` (facet and date caches, CRF model, OS page cache, decoded
posting lists), then one timed pass per mode,
single-threaded, wall time per call (perf_counter). The date modes also run on the Dân
trí corpus (2,653 articles with real dates), labelled `dantri-*`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402
from benchmarks.querymix import Query, load_or_build  # noqa: E402

MODES: dict[str, dict[str, bool]] = {
    "plain": {"highlight": False, "facets": False, "dates": False},
    "facets": {"highlight": False, "facets": True, "dates": False},
    "highlight": {"highlight": True, "facets": False, "dates": False},
    "date": {"highlight": False, "facets": False, "dates": True},
    "all": {"highlight": True, "facets": True, "dates": True},
}
MIX_SIZE = 500
QUICK_MIX_SIZE = 120
SEED = 20240611


def search_request(q: Query, mode: str):
    from search.engine import SearchRequest

    m = MODES[mode]
    return SearchRequest(
        q=q.q,
        date_from=dt.date.fromisoformat(q.date_from) if m["dates"] and q.date_from else None,
        date_to=dt.date.fromisoformat(q.date_to) if m["dates"] and q.date_to else None,
        highlight=m["highlight"], facets=m["facets"],
    )


def _records(ix: c.BenchIndex):
    """(title, date) of every document of a benchmark index, synthetic dates included."""
    for r in c.iter_records(ix.corpus, ix.docs):
        if r.get("date"):
            d = dt.date.fromisoformat(r["date"][:10])
        else:
            d = c.synthetic_date(r["id"]) if ix.dates else None
        yield r.get("title") or "", d


def _mix(ix: c.BenchIndex, quick: bool, n: int, name: str) -> list[Query]:
    path = (c.CACHE / "quick-results" if quick else c.RESULTS_DIR) / f"querymix-{name}.json"
    return load_or_build(path, lambda: _records(ix), QUICK_MIX_SIZE if quick else n, SEED, ix.name)


def vntc_mix(quick: bool) -> list[Query]:
    return _mix(c.vntc_index(quick), quick, MIX_SIZE, "vntc")


def dantri_mix(quick: bool) -> list[Query]:
    return _mix(c.dantri_index(quick), quick, 300, "dantri")


def measure(engine, mix: list[Query], mode: str) -> list[dict[str, Any]]:
    out = []
    for q in mix:
        req = search_request(q, mode)
        t0 = time.perf_counter()
        res = engine.search(req)
        ms = (time.perf_counter() - t0) * 1000.0
        out.append({"q": q.q, "kind": q.kind, "ms": ms, "total": res.total})
    return out


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_kind[s["kind"]].append(s["ms"])
    slow = sorted(samples, key=lambda s: -s["ms"])[:8]
    totals = sorted(s["total"] for s in samples)
    return {
        **c.latency_summary(s["ms"] for s in samples),
        "qps_single_thread": round(len(samples) / (sum(s["ms"] for s in samples) / 1000.0), 1),
        "median_hits": totals[len(totals) // 2] if totals else 0,
        "zero_hit_queries": sum(1 for t in totals if t == 0),
        "by_kind": {k: c.latency_summary(v) for k, v in sorted(by_kind.items())},
        "slowest": [{"q": s["q"], "ms": round(s["ms"], 1), "total": s["total"]} for s in slow],
    }


def run_index(name: str, path: Path, mix: list[Query], modes: list[str], log=print) -> dict[str, Any]:
    from config.settings import load_settings
    from search.engine import Engine

    engine = Engine(path, load_settings().search)
    t0 = time.perf_counter()
    docs = engine.doc_count()
    log(f"{name}: {docs} documents, opened in {(time.perf_counter() - t0) * 1000:.0f} ms; warming up")
    t0 = time.perf_counter()
    with c.LoadMonitor() as load:
        cold = summarise(measure(engine, mix, "all"))
    cold["load"] = load.summary()
    log(f"  {name} all, cold (first pass) p50 {cold['p50']:7.1f}  p95 {cold['p95']:7.1f}  "
        f"p99 {cold['p99']:7.1f} ms")
    measure(engine, mix, "plain")
    warm_s = time.perf_counter() - t0
    with engine._use() as gen:  # noqa: SLF001 - report the posting cache it warmed
        cache = {"terms": len(gen.postings.cache), "mb": round(gen.postings.cache.nbytes / 2**20, 1)}
    results: dict[str, Any] = {"docs": docs, "queries": len(mix), "warmup_s": round(warm_s, 1),
                               "cold_all": cold, "posting_cache": cache, "modes": {}}
    for mode in modes:
        gc.collect()
        with c.LoadMonitor() as load:
            samples = measure(engine, mix, mode)
        s = summarise(samples)
        s["load"] = load.summary()
        results["modes"][mode] = s
        log(f"  {name} {mode:9s} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f} ms  "
            f"(load {c.load_text(s['load'])})")
    engine.close()
    return results


def run(quick: bool = False, rebuild: bool = False, log=print) -> dict[str, Any]:
    vntc = c.ensure_index(c.vntc_index(quick), rebuild, log)
    dantri = c.ensure_index(c.dantri_index(quick), rebuild, log)
    data = {
        "benchmark": "latency", "quick": quick, "machine": c.machine(),
        "vntc": run_index("vntc", vntc, vntc_mix(quick), list(MODES), log),
        "dantri": run_index("dantri", dantri, dantri_mix(quick), ["plain", "date", "all"], log),
    }
    return data


def markdown(data: dict[str, Any]) -> str:
    v = data["vntc"]
    rows = []
    for mode, s in v["modes"].items():
        rows.append([f"`{mode}`", f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['p99']:.1f}", f"{s['max']:.0f}",
                     f"{s['mean']:.1f}", f"{s['qps_single_thread']:.0f}", f"{s['median_hits']:,}",
                     c.load_text(s["load"])])
    cold = v.get("cold_all")
    if cold:
        rows.append(["`all`, cold (first pass)", f"{cold['p50']:.1f}", f"{cold['p95']:.1f}",
                     f"{cold['p99']:.1f}", f"{cold['max']:.0f}", f"{cold['mean']:.1f}",
                     f"{cold['qps_single_thread']:.0f}", f"{cold['median_hits']:,}",
                     c.load_text(cold["load"])])
    d = data["dantri"]
    for mode, s in d["modes"].items():
        rows.append([f"`dantri {mode}`", f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['p99']:.1f}",
                     f"{s['max']:.0f}", f"{s['mean']:.1f}", f"{s['qps_single_thread']:.0f}",
                     f"{s['median_hits']:,}", c.load_text(s["load"])])
    table = c.md_table(["mode", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms", "queries/s (1 thread)",
                        "median hits", "load average"], rows, "lrrrrrrrl")
    kinds = v["modes"]["all"]["by_kind"]
    kind_rows = [[k, s["n"], f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['p99']:.1f}"] for k, s in kinds.items()]
    plain_kinds = v["modes"]["plain"]["by_kind"]
    for row in kind_rows:
        p = plain_kinds.get(row[0])
        row.insert(2, f"{p['p50']:.1f} / {p['p95']:.1f}" if p else "")
    kind_table = c.md_table(["query kind", "n", "`plain` p50 / p95 ms", "`all` p50 ms", "`all` p95 ms",
                             "`all` p99 ms"], kind_rows)
    slow = "\n".join(f"- `{s['q']}`: {s['ms']} ms, {s['total']:,} hits" for s in v["modes"]["all"]["slowest"][:6])
    return f"""`.venv/bin/python benchmarks/run.py --only latency` (machine: {c.machine_line(data['machine'])}).

Index: all {v['docs']:,} VNTC articles, with a synthetic date per article (2006-2007, from a
hash of the id: VNTC has no dates, and without them the date filter would match nothing and
the year facet would be free; the Dân trí rows use its real dates). {v['queries']} queries from
`benchmarks/querymix.py` (seeded; the strings are in `docs/benchmarks/querymix-vntc.json`):
35% 1-4 title words with diacritics, 25% without, 20% codes and numbers from titles, 20%
"quoted phrases". One thread calls `Engine.search` (what `GET /search` calls) after a warm-up
pass; page 1, 10 hits. The warm-up pass itself is the `all, cold` row: each query's first
run on a freshly opened index, every posting list decoded from disk (the per-process
posting cache, `search.postings`, then held {v.get('posting_cache', {}).get('terms', '?')}
terms in {v.get('posting_cache', {}).get('mb', '?')} MB). `plain` = no highlights, no facets; `facets` = category and year counts;
`highlight` = marked titles and snippets; `date` = a 7/30/90/365-day `date_from`/`date_to`
window around the date of a random indexed article; `all` = facets + highlights + date window. Dân trí: {d['docs']:,} articles, {d['queries']}
queries from its own titles, real dates.

{table}

By query kind (VNTC):

{kind_table}

Slowest `all` queries:

{slow}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    data = run(args.quick, args.rebuild)
    print(json.dumps({k: v for k, v in data.items() if k != "machine"}, indent=1)[:4000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
