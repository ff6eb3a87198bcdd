"""HTTP throughput and latency of GET /search under gunicorn, and RSS per worker.

The server is the production one: `python -m gunicorn -c config/gunicorn.conf.py
search.api.wsgi:application` (2 workers, gthread, 4 threads each, as configured), on the
84k VNTC benchmark index, bound to 127.0.0.1 on a free port. The load comes from `wrk`
(a second process, same machine) with a Lua script that walks the query mix, each wrk
thread from a different offset: 120 s of warm-up (each worker decodes the posting lists
of the mix on first use: one cold pass over the mix took 47.7 s in one process on the
2026-12-06 machine, and with 45 s of warm-up the timed window was still partly cold),
then 60 s timed.
Errors = connect/read/write/timeout errors + non-2xx responses (must be 0).

Variants:
    default   GET /search?q=... with the API defaults (highlights and facets on: what the
              search page asks for), the server exactly as configured (4 threads/worker,
              reads taking turns: `search.api.app.OneReadAtATime`)
    plain     &highlight=0&facets=0
    default, threads=1   VNSEARCH_THREADS=1 (the config's own knob): one request at a
              time per worker, writes included
Memory: VmRSS and VmHWM of the master and each worker from /proc/<pid>/status after the
load, and the worker pids before and after (a recycled worker has a new pid).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common as c  # noqa: E402
from benchmarks import latency  # noqa: E402
from benchmarks.querymix import Query  # noqa: E402

TARGET_RPS = 300.0
CONNECTIONS = 8  # 2 workers x 4 threads
WRK_THREADS = 2

_LUA = r"""
local paths = %s
local counter = 0
local nthreads = 0
setup = function(thread)
  thread:set("offset", nthreads * %d)
  nthreads = nthreads + 1
end
init = function(args)
  counter = offset or 0
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "mean_us": %%f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_path(q: Query, params: dict[str, str]) -> str:
    return "/search?" + urllib.parse.urlencode({"q": q.q, **params})


def lua_script(paths: list[str], out: Path) -> Path:
    table = "{\n" + ",\n".join(json.dumps(p) for p in paths) + "\n}"  # ASCII: URL-encoded
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_LUA % (table, max(1, len(paths) // WRK_THREADS)), encoding="utf-8")
    return out


class Server:
    """gunicorn with the project's config on a free port; stopped by pid (SIGTERM)."""

    def __init__(self, index: Path, workers: int = 2, extra: list[str] | None = None,
                 env_extra: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        work = c.CACHE / "http"
        work.mkdir(parents=True, exist_ok=True)
        spool = work / f"spool-{self.port}"
        env = dict(os.environ)
        env.update({
            "VNSEARCH_INDEX_PATH": str(index), "VNSEARCH_INDEX_SPOOL": str(spool),
            "VNSEARCH_SERVER_HOST": "127.0.0.1", "VNSEARCH_SERVER_PORT": str(self.port),
            "VNSEARCH_WORKERS": str(workers), "VNSEARCH_LOGLEVEL": "warning",
        })
        env.pop("VNSEARCH_BIND", None)
        env.pop("VNSEARCH_THREADS", None)
        env.update(env_extra or {})
        self.log_path = work / f"gunicorn-{self.port}.log"
        self.spool = spool
        self.log = open(self.log_path, "w")
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(c.ROOT / "config" / "gunicorn.conf.py"),
               *(extra or []), "search.api.wsgi:application"]
        self.proc = subprocess.Popen(cmd, cwd=str(c.ROOT), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=30) as r:
                    r.read()
                return
            except urllib.error.HTTPError:
                return  # answering (503 = degraded is still up)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def workers(self) -> list[int]:
        return sorted(c.children_of(self.proc.pid))

    def memory(self) -> dict[str, Any]:
        def one(pid: int) -> dict[str, Any]:
            return {"pid": pid, "rss_mb": round(c.proc_status_kb(pid, "VmRSS") / 1024, 1),
                    "hwm_mb": round(c.proc_status_kb(pid, "VmHWM") / 1024, 1),
                    # private heap vs pages of the memory-mapped index (shared by the workers)
                    "anon_mb": round(c.proc_status_kb(pid, "RssAnon") / 1024, 1),
                    "file_mb": round(c.proc_status_kb(pid, "RssFile") / 1024, 1)}

        return {"master": one(self.proc.pid), "workers": [one(p) for p in self.workers()]}

    def errors_logged(self) -> int:
        self.log.flush()
        text = self.log_path.read_text(errors="replace")
        return text.count("Traceback") + text.count("[ERROR]")

    def error_kinds(self) -> dict[str, int]:
        """Exception lines of the logged tracebacks, counted (e.g. the CRF tagger's
        UnicodeDecodeError, Whoosh's UnpicklingError)."""
        from collections import Counter

        self.log.flush()
        kinds: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            head = line.split(":", 1)[0]
            if head and not line.startswith((" ", "[", "Traceback")) and head.replace(".", "").replace("_", "").isalnum() \
                    and (head.endswith("Error") or head.endswith("Exception")):
                kinds[line[:120]] += 1
        return dict(kinds.most_common(10))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.spool, ignore_errors=True)


def require_wrk() -> None:
    """Fail before any index build or server start when the load generator is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with `apt-get install wrk` (the HTTP and "
                         "memory benchmarks use it to generate load)")


def wrk(base: str, script: Path, seconds: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    r = json.loads(line[len("WRKJSON "):])
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {
        "requests": r["requests"], "seconds": round(secs, 2), "rps": round(r["requests"] / secs, 1),
        "errors": errors, "error_detail": {k: r[k] for k in ("connect", "read", "write", "status", "timeout")},
        "p50_ms": round(r["p50_us"] / 1000, 1), "p90_ms": round(r["p90_us"] / 1000, 1),
        "p95_ms": round(r["p95_us"] / 1000, 1), "p99_ms": round(r["p99_us"] / 1000, 1),
        "max_ms": round(r["max_us"] / 1000, 1), "mean_ms": round(r["mean_us"] / 1000, 1),
        "connections": connections, "kb_per_response": round(r["bytes"] / max(1, r["requests"]) / 1024, 1),
    }


PLAIN = {"highlight": "0", "facets": "0"}
# name -> (query parameters, extra gunicorn arguments, extra environment)
VARIANTS: dict[str, tuple[dict[str, str], list[str], dict[str, str]]] = {
    "default": ({}, [], {}),
    "plain": (PLAIN, [], {}),
    "default, threads=1": ({}, [], {"VNSEARCH_THREADS": "1"}),
}


def run_variant(name: str, index: Path, mix: list[Query], seconds: int, warmup: int,
                log=print) -> dict[str, Any]:
    params, extra, env_extra = VARIANTS[name]
    script = lua_script([query_path(q, params) for q in mix], c.CACHE / "http" / "mix.lua")
    server = Server(index, 2, extra, env_extra)
    try:
        idle = server.memory()
        before = server.workers()
        warm = wrk(server.base, script, warmup)  # both workers open their engine, caches fill
        workers = server.workers()
        cpu_before = [c.cpu_seconds(p) for p in workers]
        with c.LoadMonitor() as load:
            res = wrk(server.base, script, seconds)
        res["load"] = load.summary()
        # how the load spread over the workers (keep-alive connections stay with the
        # worker that accepted them)
        res["worker_cpu_seconds"] = [round(c.cpu_seconds(p) - b, 1) for p, b in zip(workers, cpu_before)]
        res["warmup"] = {k: warm[k] for k in ("rps", "requests", "errors", "p50_ms", "p99_ms")}
        res["memory_after_load"] = server.memory()
        res["memory_idle_before_first_request"] = idle
        after = server.workers()
        res["workers_before"], res["workers_after"] = before, after
        res["workers_recycled"] = len(set(before) - set(after))
        res["server_errors_logged"] = server.errors_logged()
        res["gunicorn_args"] = extra
        res["env"] = env_extra
        res["error_kinds"] = server.error_kinds()
        res["params"] = params
    finally:
        server.stop()
    rss = ", ".join(f"{w['rss_mb']:.0f}" for w in res["memory_after_load"]["workers"])
    log(f"  http {name:24s} {res['rps']:6.1f} req/s  p50 {res['p50_ms']:.0f}  p95 {res['p95_ms']:.0f}  "
        f"p99 {res['p99_ms']:.0f} ms  errors {res['errors']}  worker RSS {rss} MB  "
        f"recycled {res['workers_recycled']}  worker CPU {res['worker_cpu_seconds']} s  (load {c.load_text(res['load'])})")
    return res


def run(quick: bool = False, rebuild: bool = False, log=print,
        variants: tuple[str, ...] = tuple(VARIANTS)) -> dict[str, Any]:
    require_wrk()
    index = c.ensure_index(c.vntc_index(quick), rebuild, log)
    mix = latency.vntc_mix(quick)
    seconds, warmup = (8, 4) if quick else (60, 120)
    results = {name: run_variant(name, index, mix, seconds, warmup, log) for name in variants}
    return {"benchmark": "http", "quick": quick, "machine": c.machine(), "queries": len(mix),
            "seconds": seconds, "warmup_seconds": warmup, "connections": CONNECTIONS,
            "wrk_threads": WRK_THREADS, "target_rps": TARGET_RPS, "results": results}


def markdown(data: dict[str, Any]) -> str:
    rows = []
    for name, r in data["results"].items():
        ok = "met" if r["rps"] >= data["target_rps"] and r["errors"] == 0 else "**missed**"
        rows.append([name, f"**{r['rps']:.0f}**", ok, f"{r['requests']:,}", r["errors"],
                     f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} / {r['p99_ms']:.0f}", f"{r['max_ms']:.0f}",
                     r["workers_recycled"],
                     " / ".join(f"{x:.0f}" for x in r.get("worker_cpu_seconds", [])),
                     f"{r['kb_per_response']:.1f}",
                     (f"{r['warmup']['rps']:.0f} req/s, p50 {r['warmup']['p50_ms']:.0f} ms"
                      if r.get("warmup") else ""), c.load_text(r["load"])])
    table = c.md_table(["variant", "requests/s", "target 300", "requests", "errors", "p50 / p95 / p99 ms",
                        "max ms", "workers recycled", "CPU s per worker", "kB/response",
                        "warm-up (cold caches)", "load average"], rows, "lrlrrrrrrrll")
    return f"""`.venv/bin/python benchmarks/run.py --only http` (machine: {c.machine_line(data['machine'])}).

Server: `python -m gunicorn -c config/gunicorn.conf.py search.api.wsgi:application` with
VNSEARCH_WORKERS=2 (gthread, 4 threads per worker with reads taking turns, a SO_REUSEPORT socket per worker, as configured) on the 84k VNTC index,
127.0.0.1. Load: `wrk -t{data['wrk_threads']} -c{data['connections']} -d{data['seconds']}s` on the same
machine (so wrk's own CPU comes out of the same 2 cores), a Lua script cycling through the
{data['queries']} queries of the mix (each wrk thread from a different offset), after {data['warmup_seconds']} s of
the same load as warm-up (its own rate is the "warm-up" column: fresh workers, every posting
list decoded on first use; the measured window is the steady state with warm caches). `default` = `GET /search?q=...` with the API defaults (highlights and
facets on, what the search page requests); `plain` = `&highlight=0&facets=0`; the
`threads=1` row sets VNSEARCH_THREADS=1 (one request at a time per worker).
Errors = socket errors + timeouts + non-2xx responses. "CPU s per worker" is each worker's
CPU time during the measured window: wrk's keep-alive connections stay with the worker that
accepted them. With one shared listening socket, one worker took all 8 in 3 of 8 runs on
2026-11-29 while the other idled (`plain` 100 req/s, CPU 0.6 s / 60.3 s; 281-289 req/s with
both busy); the config now gives each worker its own SO_REUSEPORT socket, and the kernel
spreads the connections.

{table}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    data = run(args.quick)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
