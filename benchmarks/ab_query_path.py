"""Old code against new code on the query path, measured in turns (this VM's speed drifts).

    .venv/bin/python benchmarks/ab_query_path.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 8] [--http 0]

In-process (always): one long-lived process per checkout serves the 500-query VNTC mix
through its own Falcon app (`create_app`, `falcon.testing.TestClient`), warmed by one
pass. The processes then take turns, one pass each, in alternating order, for `plain`
(`highlight=0&facets=0`) and `default`. Printed: CPU ms per request, min and median per
checkout and variant. Back to back runs of one checkout differed by up to 50% on
2026-12-06, and turns within the same minutes by a few percent.

With ``--http N``: N rounds of the HTTP benchmark's `default` variant
(`benchmarks.http_load.run_variant`: gunicorn with 2 workers, 120 s of warm-up, 60 s timed),
one server per checkout in alternating order.

A checkout is a directory with this repository's layout whose parent holds `shared/`
(e.g. `git worktree add /tmp/ab/old REV` and a `shared` link beside it); both use this
interpreter and the cached benchmark index (`benchmarks.common.CACHE`).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

VARIANTS = {"plain": {"highlight": "0", "facets": "0"}, "default": {}}

_SERVE = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from falcon import testing
from benchmarks import common as c, latency
from benchmarks.http_load import query_path
from config.settings import load_settings
from search.api.app import create_app
VARIANTS = %r
index = c.ensure_index(c.vntc_index(False), False, lambda *a: None)
client = testing.TestClient(create_app(load_settings(None, index={"path": index})))
mix = latency.vntc_mix(False)
paths = {k: [query_path(q, v) for q in mix] for k, v in VARIANTS.items()}
for p in paths["default"]:
    client.simulate_get(p)
print("ready", flush=True)
for line in sys.stdin:
    todo = paths[line.strip()]
    t = time.process_time()
    for p in todo:
        client.simulate_get(p)
    print(1000 * (time.process_time() - t) / len(todo), flush=True)
""" % (VARIANTS,)

_HTTP = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from benchmarks import common as c, http_load as h, latency
index = c.ensure_index(c.vntc_index(False), False, lambda *a: None)
r = h.run_variant("default", index, latency.vntc_mix(False), 60, 120, log=lambda *a: None)
print("RESULT " + json.dumps({k: r[k] for k in ("rps", "p50_ms", "p95_ms", "errors")}))
"""


def in_process(roots: list[Path], rounds: int) -> dict[tuple[str, str], list[float]]:
    procs = [subprocess.Popen([sys.executable, "-c", _SERVE, str(r)], cwd=r, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for r in roots]
    try:
        for r, p in zip(roots, procs):
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"{r}: the query process did not start")
        out: dict[tuple[str, str], list[float]] = {(str(r), v): [] for r in roots for v in VARIANTS}
        for i in range(rounds):
            for variant in VARIANTS:
                turn = list(zip(roots, procs))
                for r, p in (turn if i % 2 == 0 else turn[::-1]):
                    p.stdin.write(variant + "\n")
                    p.stdin.flush()
                    out[(str(r), variant)].append(float(p.stdout.readline()))
        return out
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()


def http(roots: list[Path], rounds: int) -> list[tuple[int, str, dict]]:
    rows = []
    for i in range(rounds):
        for r in (roots if i % 2 == 0 else roots[::-1]):
            done = subprocess.run([sys.executable, "-c", _HTTP, str(r)], cwd=r, text=True,
                                  capture_output=True, check=True)
            line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
            rows.append((i + 1, str(r), json.loads(line[len("RESULT "):])))
            print(f"  http round {i + 1} {r}: {rows[-1][2]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rounds", type=int, default=8, help="in-process turns per checkout and variant")
    ap.add_argument("--http", type=int, default=0, help="HTTP rounds per checkout (3 minutes each)")
    args = ap.parse_args(argv)
    roots = [args.old.resolve(), args.new.resolve()]
    times = in_process(roots, args.rounds)
    print("| checkout | variant | min ms | median ms |\n| --- | --- | ---: | ---: |")
    for (root, variant), xs in times.items():
        print(f"| {root} | `{variant}` | {min(xs):.2f} | {statistics.median(xs):.2f} |")
    if args.http:
        http(roots, args.http)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
