"""Memory of the serving processes: VmRSS / VmHWM of the gunicorn master and of each of
the 2 workers with the 84k VNTC index open, before the first request and after load.

The server runs as configured (config/gunicorn.conf.py, 2 workers), `--max-requests 0` so
that the workers measured are the ones that served the load, VNSEARCH_THREADS=1 (see
http_load.py: the threaded default poisons workers under concurrency). Load: the whole
query mix with the API defaults (highlights, facets) through wrk for 20 s, so both
workers have opened the engine, built the facet and date caches and touched the postings
of every query. /proc/<pid>/status is read right after the load.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402
from benchmarks import http_load, latency  # noqa: E402


def _dir_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return round(total / 1024 / 1024, 1)


def run(quick: bool = False, rebuild: bool = False, log=print) -> dict[str, Any]:
    http_load.require_wrk()
    index = c.ensure_index(c.vntc_index(quick), rebuild, log)
    mix = latency.vntc_mix(quick)
    script = http_load.lua_script([http_load.query_path(q, {}) for q in mix], c.CACHE / "http" / "mem.lua")
    server = http_load.Server(index, 2, ["--max-requests", "0"], {"VNSEARCH_THREADS": "1"})
    try:
        idle = server.memory()
        with c.LoadMonitor() as load:
            res = http_load.wrk(server.base, script, 5 if quick else 60)
        after = server.memory()
    finally:
        server.stop()
    rss = [w["rss_mb"] for w in after["workers"]]
    log(f"  memory: worker RSS after load {', '.join(f'{x:.0f}' for x in rss)} MB "
        f"(idle {', '.join(str(w['rss_mb']) for w in idle['workers'])} MB), master {after['master']['rss_mb']} MB")
    return {"benchmark": "memory", "quick": quick, "machine": c.machine(), "index_mb": _dir_mb(index.resolve()),
            "idle": idle, "after_load": after, "load_requests": res["requests"], "load_errors": res["errors"],
            "load": load.summary()}


def markdown(data: dict[str, Any]) -> str:
    rows = [["master", f"{data['idle']['master']['rss_mb']:.0f}", f"{data['after_load']['master']['rss_mb']:.0f}",
             f"{data['after_load']['master']['hwm_mb']:.0f}"]]
    idle = {w["pid"]: w for w in data["idle"]["workers"]}
    for i, w in enumerate(data["after_load"]["workers"], 1):
        before = idle.get(w["pid"])
        rows.append([f"worker {i}", f"{before['rss_mb']:.0f}" if before else "(new pid)",
                     f"**{w['rss_mb']:.0f}**", f"{w.get('anon_mb', 0):.0f}", f"{w.get('file_mb', 0):.0f}",
                     f"{w['hwm_mb']:.0f}"])
    rows[0][3:3] = [f"{data['after_load']['master'].get('anon_mb', 0):.0f}",
                    f"{data['after_load']['master'].get('file_mb', 0):.0f}"]
    table = c.md_table(["process", "VmRSS before first request MB", "VmRSS after load MB",
                        "of which private (RssAnon) MB", "of which mapped index files (RssFile) MB",
                        "VmHWM MB"], rows)
    return f"""`.venv/bin/python benchmarks/run.py --only memory` (machine: {c.machine_line(data['machine'])}).

gunicorn as configured (2 workers) with `--max-requests 0` and VNSEARCH_THREADS=1, on the 84k
VNTC index ({data['index_mb']:,.0f} MB on disk); {data['load_requests']:,} requests of the query mix (API
defaults: highlights and facets) through wrk, {data['load_errors']} errors; then VmRSS / VmHWM of each
process from /proc/<pid>/status. RssFile is pages of the memory-mapped index files: the
page cache, shared between the workers and reclaimable; RssAnon is each worker's own
memory (heap, the decoded posting cache bounded by `posting_cache_mb`). Load average
{c.load_text(data['load'])}.

{table}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(markdown(run(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
