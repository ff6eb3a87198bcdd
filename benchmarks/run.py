"""Run the benchmark suite and write the results.

    .venv/bin/python benchmarks/run.py [--only indexing|latency|tantivy|http|memory|semantic ...]
                                       [--quick] [--rebuild] [--max-load 1.0] [--wait 900]

    indexing  docs/s and peak memory indexing VNTC (84k) and Báo Mới (35k) end to end
    latency   Engine.search p50/p95/p99 on the 84k VNTC index, five request modes
    tantivy   the same documents and query strings through tantivy, ratio of p95s
    http      GET /search requests/s and latency under gunicorn (2 workers), wrk load
    memory    VmRSS per gunicorn worker with the 84k index open, after load
    semantic  passage encoding rate (`vnsearch embed`) and wordy-query latency with re-ranking

Full runs write docs/benchmarks/<name>.json (raw) and their sections of
docs/benchmarks.md (other sections, e.g. "Segmentation throughput", are left as they
are). --quick indexes the first 3,000 documents of each corpus and runs shorter loads
(about a minute per benchmark once the small indexes exist), for smoke-testing; its
output goes to /tmp/vnsearch-bench/quick-results/, never to docs/.

The 84k VNTC index (and Dân trí, and the tantivy twin) are built once into
/tmp/vnsearch-bench (VNSEARCH_BENCH_CACHE) and reused; --rebuild rebuilds them. Before
each benchmark the run waits up to --wait seconds for the 1-minute load average to drop
below --max-load (other people's jobs share the machine) and records the load average
during every measurement.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402

BENCHMARKS = {
    # name: (module, markdown section title)
    "indexing": ("benchmarks.indexing", "Indexing throughput"),
    "latency": ("benchmarks.latency", "Query latency"),
    "tantivy": ("benchmarks.vs_tantivy", "Ours vs tantivy"),
    "http": ("benchmarks.http_load", "HTTP throughput"),
    "memory": ("benchmarks.memory", "Serving memory"),
    "semantic": ("benchmarks.semantic", "Semantic re-ranking"),
}
SUMMARY_TITLE = "Benchmark targets"


def summary_markdown(results_dir: Path) -> str:
    """The target table, from whatever JSON results exist."""
    def load(name: str):
        p = results_dir / f"{name}.json"
        return json.loads(p.read_text()) if p.exists() else None

    rows = []
    ix = load("indexing")
    if ix:
        for key, label in (("vntc", "VNTC"), ("baomoi", "Báo Mới")):
            r = ix["results"].get(key)
            if r:
                rows.append([f"indexing {label}", "≥ 300 docs/s", f"{r['docs_per_s']:.0f} docs/s",
                             "met" if r["docs_per_s"] >= 300 else "**missed**", ix["machine"]["date"][:16],
                             c.load_text(r["load"])])
    tv = load("tantivy")
    if tv:
        a = tv["modes"]["all"]
        rows.append(["`all` p95 vs tantivy", "≤ 10x", f"{a['ratio_p95']:.1f}x ({a['ours']['p95']:.0f} vs "
                     f"{a['tantivy']['p95']:.1f} ms)", "met" if a["ratio_p95"] <= 10 else "**missed**",
                     tv["machine"]["date"][:16], c.load_text(a["load"])])
    lat = load("latency")
    if lat:
        a = lat["vntc"]["modes"]["all"]
        rows.append(["query latency `all` (no target)", "-", f"p50 {a['p50']:.0f} / p95 {a['p95']:.0f} / "
                     f"p99 {a['p99']:.0f} ms", "-", lat["machine"]["date"][:16], c.load_text(a["load"])])
    http = load("http")
    if http:
        for name, r in http["results"].items():
            ok = "met" if r["rps"] >= 300 and r["errors"] == 0 else "**missed**"
            rows.append([f"HTTP `{name}`", "≥ 300 req/s, 0 errors", f"{r['rps']:.0f} req/s, {r['errors']} errors",
                         ok, http["machine"]["date"][:16], c.load_text(r["load"])])
    mem = load("memory")
    if mem:
        rss = ", ".join(f"{w['rss_mb']:.0f}" + (f" (private {w['anon_mb']:.0f})" if "anon_mb" in w else "")
                        for w in mem["after_load"]["workers"])
        rows.append(["RSS per worker (no target; private = RssAnon, the rest is the shared "
                     "page cache of the mapped index)", "-", f"{rss} MB", "-", mem["machine"]["date"][:16],
                     c.load_text(mem["load"])])
    sem = load("semantic")
    if sem:
        e, lat = sem["encoding"], sem["latency"]
        rows.append(["`vnsearch embed` (no target; a pass of its own)", "-",
                     f"{e['dantri']['per_s']:.1f} news passages/s, {e['vimedaqa']['per_s']:.1f} vimedaqa passages/s",
                     "-", sem["machine"]["date"][:16], c.load_text(sem["encoding_load"])])
        rows.append(["wordy query latency (no target), terms only / semantic", "-",
                     f"p50 {lat['terms only']['p50']:.0f} / {lat['semantic']['p50']:.0f}, p95 "
                     f"{lat['terms only']['p95']:.0f} / {lat['semantic']['p95']:.0f} ms", "-",
                     sem["machine"]["date"][:16], c.load_text(sem["latency_load"])])
    if not rows:
        return "No results yet: run `.venv/bin/python benchmarks/run.py`."
    table = c.md_table(["what", "target", "measured", "", "when", "load average"], rows, "llllll")
    return f"""Run everything with `.venv/bin/python benchmarks/run.py` (or `--only NAME`; `--quick` for a
one-minute smoke test that writes nothing here). Raw numbers: `docs/benchmarks/*.json`. Machine:
{c.machine_line(ix['machine'] if ix else (lat or tv or http or mem)['machine'])}.
tantivy is a benchmark-only dependency (`pip install tantivy==0.27.0`, the `bench` extra);
`wrk` comes from apt.

{table}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--only", action="append", choices=list(BENCHMARKS),
                    help="run only this benchmark (repeatable); default: all")
    ap.add_argument("--quick", action="store_true", help="small subsets, short loads, nothing written to docs/")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached benchmark indexes")
    ap.add_argument("--max-load", type=float, default=1.0, help="wait for a 1-minute load average below this")
    ap.add_argument("--wait", type=float, default=900.0, help="seconds to wait for it (0: do not wait)")
    args = ap.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    md_path = (c.CACHE / "quick-results" / "benchmarks.md") if args.quick else c.RESULTS_MD
    results_dir = (c.CACHE / "quick-results") if args.quick else c.RESULTS_DIR
    m = c.machine()
    log(f"machine: {c.machine_line(m)}; load average {m['loadavg']}")
    c.update_markdown_section(SUMMARY_TITLE, summary_markdown(results_dir), md_path)  # first of ours
    rebuild = args.rebuild
    for name in names:
        module_name, title = BENCHMARKS[name]
        mod = importlib.import_module(module_name)
        if name in ("latency", "tantivy", "http", "memory"):
            c.ensure_index(c.vntc_index(args.quick), rebuild, log)  # before waiting for quiet
            if rebuild:
                c.ensure_index(c.dantri_index(args.quick), rebuild, log)
                from benchmarks import vs_tantivy

                vs_tantivy.ensure_index(c.vntc_index(args.quick), rebuild, log)
            rebuild = False
        load = c.wait_for_load(args.max_load, 0 if args.quick else args.wait, log)
        log(f"== {name} (load average {load:.2f})")
        t0 = time.monotonic()
        data = mod.run(quick=args.quick, log=log)
        data["wall_seconds"] = round(time.monotonic() - t0, 1)
        path = c.write_json(name, data, args.quick)
        md = mod.markdown(data)
        c.update_markdown_section(title, md, md_path)
        log(md)
        log(f"raw results: {path}")
    c.update_markdown_section(SUMMARY_TITLE, summary_markdown(results_dir), md_path)
    log(f"markdown: {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
