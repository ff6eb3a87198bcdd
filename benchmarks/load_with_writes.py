#!/usr/bin/env python3
"""Bounded load test: a realistic query mix against the real server, with concurrent API writes.

Starts gunicorn with the project's config (search.api.wsgi, config/gunicorn.conf.py) on a
free port of 127.0.0.1 only, over an existing index (--index, served from a copy) or one
it builds from the shared corpus (--docs N articles), then for --seconds:

- readers (--readers threads, keep-alive connections, no think time) send a mix drawn from
  the indexed titles: plain queries of 1-3 words (55%), the same typed without accents
  (10%), quoted phrases (5%), filtered by category or date / sorted newest (10%), pages 2-3
  (5%), /suggest prefixes (10%), GET /documents/{id} (3%), the HTML page (2%);
- with --reader-tool wrk, wrk (apt: wrk) sends the read mix instead (a Lua script cycling
  through the same requests), which costs the 2-core machine less client CPU;
- one writer sends PUT /documents/{id} (and every 10th time a bulk POST of 20) at
  --write-rate per second, real articles with a changed title.

Reports throughput, latency percentiles and errors (any 5xx, any connection error, any
unexpected status) for reads and writes, waits until every acknowledged write is applied
(GET /operations/{op}), and exits 1 if there was any error. --json writes the figures.

    .venv/bin/python benchmarks/load_with_writes.py --docs 3000 --seconds 60
    .venv/bin/python benchmarks/load_with_writes.py --index var/index --seconds 60 --reader-tool wrk
"""
from __future__ import annotations

import argparse
import http.client
import json
import lzma
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPUS = SHARED / "vntc-news" / "corpus.jsonl.xz"
TOKEN = "load-test-token"
OP_RE = re.compile(r"[0-9]{20}-[0-9a-f]{8}")


# -- setup -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_corpus(path: Path, n: int) -> list[dict]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in islice(f, n)]


def build_index(records: list[dict], root: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from indexer.build import BuildOptions, build

    root.mkdir(parents=True, exist_ok=True)
    src = root / "corpus.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    stats = build([src], root / "index", BuildOptions(batch_size=1000, progress="quiet"))
    print(f"built index: {stats.summary()}", file=sys.stderr)
    return root / "index"


def copy_index(src: Path, dst_dir: Path) -> Path:
    src = src.absolute()
    if src.is_symlink():
        shutil.copytree(src.with_name(src.name + ".generations"), dst_dir / "index.generations", symlinks=True)
        os.symlink(Path("index.generations") / Path(os.readlink(src)).name, dst_dir / "index")
    else:
        shutil.copytree(src, dst_dir / "index")
    return dst_dir / "index"


def stored_documents(index: Path, n: int) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from indexer.store import open_index

    ix = open_index(index)
    try:
        with ix.searcher() as s:
            return [dict(f) for f in islice(s.all_stored_fields(), n)]
    finally:
        ix.close()


class Server:
    def __init__(self, index: Path, spool: Path, log: Path, workers: int) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VNSEARCH_")}
        env.update(VNSEARCH_INDEX_PATH=str(index), VNSEARCH_INDEX_SPOOL=str(spool),
                   VNSEARCH_API_TOKEN=TOKEN, VNSEARCH_SERVER_HOST="127.0.0.1",
                   VNSEARCH_SERVER_PORT=str(self.port), VNSEARCH_WORKERS=str(workers),
                   VNSEARCH_LOGLEVEL="warning",
                   PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
             "search.api.wsgi:application"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if get(self.port, "/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server did not start (see {log})")
            time.sleep(0.2)
        for _ in range(8):  # open the engine in every worker before measuring
            get(self.port, "/search?q=h%C3%A0+n%E1%BB%99i", timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.log.close()


def get(port: int, target: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


# -- the query mix -----------------------------------------------------------------------------
def strip_accents(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def query_mix(docs: list[dict], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [re.findall(r"\w+", d.get("title") or "") for d in docs]
    words = [w for w in words if len(w) >= 3]
    categories = sorted({c.strip() for d in docs for c in str(d.get("category") or "").split(",") if c.strip()})
    ids = [d["id"] for d in docs]

    def phrase() -> str:
        w = rng.choice(words)
        k = rng.choice((1, 2, 2, 3))
        i = rng.randrange(0, max(1, len(w) - k))
        return " ".join(w[i:i + k]).lower()

    out = []
    for _ in range(n):
        x = rng.random()
        if x < 0.55:
            t = "/search?q=" + quote(phrase())
        elif x < 0.65:
            t = "/search?q=" + quote(strip_accents(phrase()))
        elif x < 0.70:
            t = "/search?q=" + quote(f'"{phrase()}"')
        elif x < 0.80:
            extra = (f"&category={quote(rng.choice(categories))}" if categories and rng.random() < 0.5
                     else rng.choice(["&sort=newest", "&date_from=2000-01-01&date_to=2015-12-31"]))
            t = "/search?q=" + quote(phrase()) + extra
        elif x < 0.85:
            t = "/search?q=" + quote(phrase()) + f"&page={rng.choice((2, 3))}"
        elif x < 0.95:
            p = phrase()
            t = "/suggest?q=" + quote(p[:rng.randint(2, max(2, min(len(p), 8)))])
        elif x < 0.98:
            t = "/documents/" + quote(rng.choice(ids), safe="")
        else:
            t = "/?q=" + quote(phrase())
        out.append(t)
    return out


# -- measurement -------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int | None, error: str | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if error is not None and len(self.errors) < 1000:
                self.errors.append(error)

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else 0.0

        return {"requests": len(lat), "per_second": round(len(lat) / seconds, 1) if seconds else 0.0,
                "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
                "max_ms": round(1000 * lat[-1], 1) if lat else 0.0,
                "statuses": dict(sorted(self.statuses.items())), "errors": len(self.errors),
                "first_errors": self.errors[:5]}


def python_readers(port: int, mix: list[str], n: int, stop: threading.Event, stats: Stats) -> list[threading.Thread]:
    def run(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = offset
        while not stop.is_set():
            target = mix[i % len(mix)]
            i += n
            started = time.perf_counter()
            try:
                conn.request("GET", target)
                r = conn.getresponse()
                r.read()
                elapsed = time.perf_counter() - started
                ok = r.status == 200 or (r.status == 404 and target.startswith("/documents/"))
                stats.add(elapsed, r.status, None if ok else f"{target} -> {r.status}")
            except (OSError, http.client.HTTPException) as exc:
                stats.add(time.perf_counter() - started, None, f"{target}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    return [threading.Thread(target=run, args=(k,), daemon=True) for k in range(n)]


WRK_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def run_wrk(port: int, mix: list[str], seconds: float, connections: int, tmp: Path) -> dict:
    script = tmp / "mix.lua"
    script.write_text(WRK_LUA % ",".join(json.dumps(t) for t in mix), "utf-8")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
                          "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout

    def ms(value: str) -> float:
        num = float(re.match(r"[0-9.]+", value).group())
        return round(num * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[re.sub(r"[0-9.]", "", value)], 1)

    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1])
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    sock_errors = sum(int(x) for x in sock.groups()) if sock else 0
    # GET /documents/{id} of an id that a concurrent write replaced is still 200; any
    # non-2xx in this mix is an error.
    return {"tool": "wrk", "requests": requests, "per_second": float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)),
            "p50_ms": ms(pct["50"]), "p90_ms": ms(pct["90"]), "p99_ms": ms(pct["99"]),
            "errors": non2xx + sock_errors, "non_2xx": non2xx, "socket_errors": sock_errors,
            "wrk_output": text}


def writer(port: int, docs: list[dict], rate: float, stop: threading.Event, stats: Stats,
           ops: list[str]) -> threading.Thread:
    def run() -> None:
        rng = random.Random(5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        n = 0
        while not stop.is_set():
            n += 1
            tick = time.perf_counter()
            if n % 10 == 0:
                batch = [_doc(rng.choice(docs), n) for _ in range(20)]
                method, target, body = "POST", "/documents", json.dumps(batch, ensure_ascii=False)
            else:
                d = _doc(rng.choice(docs), n)
                method, target = "PUT", "/documents/" + quote(d.pop("id"), safe="")
                body = json.dumps(d, ensure_ascii=False)
            try:
                conn.request(method, target, body=body.encode("utf-8"), headers=headers)
                r = conn.getresponse()
                data = r.read()
                elapsed = time.perf_counter() - tick
                if r.status == 202:
                    ops.append(json.loads(data)["op"])
                    stats.add(elapsed, r.status)
                else:
                    stats.add(elapsed, r.status, f"{method} {target} -> {r.status} {data[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                stats.add(time.perf_counter() - tick, None, f"{method} {target}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - tick)))
        conn.close()

    return threading.Thread(target=run, daemon=True)


def _doc(d: dict, n: int) -> dict:
    out = {"id": d["id"], "title": f"{d.get('title') or ''} (cập nhật {n})", "body": d.get("body") or "x",
           "category": [c for c in str(d.get("category") or "").split(",") if c]}
    if d.get("date"):
        out["date"] = str(d["date"])[:10]
    return out


def run_load(index: Path, seconds: float = 60, readers: int = 8, write_rate: float = 5,
             workers: int = 2, reader_tool: str = "python", workdir: Path | None = None) -> dict:
    """Serve a copy of `index`, load it, return the figures (see the module docstring)."""
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="vnsearch-load-")) if own else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        served = copy_index(index, workdir)
        docs = stored_documents(served, 5000)
        mix = query_mix(docs, 4000, seed=1)
        server = Server(served, workdir / "spool", workdir / "gunicorn.log", workers)
        reads, writes, ops = Stats(), Stats(), []
        stop = threading.Event()
        try:
            threads = [writer(server.port, docs, write_rate, stop, writes, ops)]
            if reader_tool == "python":
                threads += python_readers(server.port, mix, readers, stop, reads)
            started = time.monotonic()
            for t in threads:
                t.start()
            if reader_tool == "wrk":
                read_summary = run_wrk(server.port, mix, seconds, readers, workdir)
            else:
                time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join(60)
            elapsed = time.monotonic() - started
            if reader_tool == "python":
                read_summary = {"tool": "python", **reads.summary(elapsed)}
            # Every acknowledged write applied (the queue drains within a minute).
            deadline = time.monotonic() + 120
            pending = set(ops)
            applied = 0
            while pending and time.monotonic() < deadline:
                for op in list(pending):
                    status, body = get(server.port, f"/operations/{op}")
                    got = json.loads(body) if status == 200 else {"status": f"HTTP {status}"}
                    state = got.get("status")
                    if state == "applied":
                        pending.discard(op)
                        applied += 1
                    elif state != "pending":
                        reason = f" ({got['reason']})" if got.get("reason") else ""
                        writes.add(0.0, None, f"op {op}: {state}{reason}")
                        pending.discard(op)
                if pending:
                    time.sleep(0.5)
            for op in pending:
                writes.add(0.0, None, f"op {op} still pending after 120 s")
            listening = _listening(server.port)
        finally:
            server.stop()
        write_summary = writes.summary(elapsed)
        write_summary.update(acknowledged=len(ops), applied=applied)
        return {"seconds": round(elapsed, 1), "readers": readers, "workers": workers,
                "write_rate": write_rate, "documents": len(docs), "listening": sorted(listening),
                "reads": read_summary, "writes": write_summary,
                "errors": read_summary["errors"] + write_summary["errors"]}
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def _listening(port: int) -> set[str]:
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(name).read_text().splitlines()[1:]:
                parts = line.split()
                addr, _, hexport = parts[1].partition(":")
                if parts[3] == "0A" and int(hexport, 16) == port:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1])
                              if len(addr) == 8 else addr)
        except OSError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, help="index to serve (a copy is served); else one is built")
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--docs", type=int, default=3000, help="articles to index when building")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--readers", type=int, default=8, help="reader threads (or wrk connections)")
    p.add_argument("--write-rate", type=float, default=5, help="write requests per second")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reader-tool", choices=("python", "wrk"), default="python")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    if args.seconds > 120:
        p.error("--seconds is capped at 120 (a bounded test)")
    if args.reader_tool == "wrk" and shutil.which("wrk") is None:
        p.error("wrk is not installed (apt-get install -y wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="vnsearch-load-"))
    try:
        index = args.index or build_index(read_corpus(args.corpus, args.docs), tmp / "built")
        result = run_load(index, args.seconds, args.readers, args.write_rate, args.workers,
                          args.reader_tool, tmp / "run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps({k: v for k, v in result.items()}, ensure_ascii=False, indent=2)
    if args.json:
        args.json.write_text(text, "utf-8")
    r, w = result["reads"], result["writes"]
    print(f"reads ({r['tool']}): {r['requests']} in {result['seconds']} s = {r['per_second']} req/s, "
          f"p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}")
    print(f"writes: {w['requests']} requests = {w['per_second']}/s, p99 {w['p99_ms']} ms, "
          f"{w['acknowledged']} acknowledged, {w['applied']} applied, errors {w['errors']}")
    print(f"listening on: {', '.join(result['listening'])}")
    if result["errors"]:
        for line in (r.get("first_errors") or []) + (w.get("first_errors") or []):
            print(f"error: {line}", file=sys.stderr)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
