"""Index while serving: API writes and `vnsearch index` runs against a live gunicorn (2
workers) under steady query load, then a worker is killed with SIGKILL mid-writes.

Versioned documents make "broken" visible: document k at version v has "phiên bản v<v>" in
its title and its body, and a marker word only it contains. Every answer must show one
consistent version (title and body agree), the document exactly once (never missing,
never twice), no 5xx, no failed query. Every write the API acknowledged (202) must end up
applied, also across the worker kill; the final version of each document must be the last
acknowledged one (or a later write whose answer was lost in the kill).
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.reliability.conftest import (
    AUTH, PYTHON, ROOT, child_env, clone_index, request, requires_corpus, running_server,
    wait_until,
)

pytestmark = [pytest.mark.slow, requires_corpus]

RUN_SECONDS = 30.0
KILL_AT = 19.0  # seconds into the run
API_DOCS = 12
CLI_DOCS = 12
READERS = 3
_VERSION = re.compile(r"phiên bản v(\d+)")
OP_RE = re.compile(r"[0-9]{20}-[0-9a-f]{8}")
_QUERIES = ["hà nội", "kinh tế", "giáo dục", "bóng đá", "thành phố hồ chí minh", "giá vàng",
            "chính phủ", "quoc hoi", "nguoi dan", "việt nam"]
FILLER = ("Ủy ban nhân dân thành phố cho biết kế hoạch sẽ được triển khai trong quý tới, "
          "với sự tham gia của các sở ngành và người dân địa phương.")


def marker(kind: str, k: int) -> str:
    return f"zq{kind}{k}x"


def doc(kind: str, k: int, v: int) -> dict:
    m = marker(kind, k)
    return {"id": f"live-{kind}-{k}", "title": f"Bản tin kiểm thử {m} phiên bản v{v}",
            "body": f"Nội dung {m} phiên bản v{v}. {FILLER}", "category": "Kiểm thử",
            "date": "2016-05-01"}


@dataclass
class Log:
    lock: threading.Lock = field(default_factory=threading.Lock)
    queries: int = 0
    failures: list[str] = field(default_factory=list)
    errors_in_flight_at_kill: int = 0
    server_errors: list[str] = field(default_factory=list)
    kill_time: float | None = None
    writes: list[tuple[str, int, str, float, float]] = field(default_factory=list)  # id, v, outcome/op, start, end
    cli_rounds: int = 0

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def _in_flight_at_kill(log: Log, started: float, ended: float) -> bool:
    return log.kill_time is not None and started <= log.kill_time + 0.2 and ended >= log.kill_time - 0.2


def _version_of(text: str) -> set[int]:
    return {int(v) for v in _VERSION.findall(text.replace("<mark>", "").replace("</mark>", ""))}


def reader(port: int, log: Log, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        kind = rng.choice(("api", "cli"))
        k = rng.randrange(API_DOCS if kind == "api" else CLI_DOCS)
        choice = rng.random()
        if choice < 0.4:
            target = f"/search?q={marker(kind, k)}"
        elif choice < 0.7:
            target = f"/documents/live-{kind}-{k}"
        elif choice < 0.95:
            target = "/search?q=" + quote(rng.choice(_QUERIES)) + f"&page={rng.randint(1, 3)}"
        else:
            target = "/?q=" + quote(marker(kind, k))
        started = time.monotonic()
        try:
            r = request(port, "GET", target, timeout=30)
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead: worker killed mid-body
            ended = time.monotonic()
            if _in_flight_at_kill(log, started, ended):
                with log.lock:
                    log.errors_in_flight_at_kill += 1
            else:
                log.fail(f"{target}: {type(exc).__name__}: {exc}")
            continue
        with log.lock:
            log.queries += 1
        if r.status >= 500:
            with log.lock:
                log.server_errors.append(f"{target} -> {r.status} {r.text[:200]}")
            continue
        if r.status != 200:
            log.fail(f"{target} -> {r.status} {r.text[:200]}")
            continue
        if target.startswith("/search?q=zq"):
            body = r.json()
            hits = [h for h in body["hits"] if h["id"] == f"live-{kind}-{k}"]
            if body["total"] != 1 or len(hits) != 1:
                log.fail(f"{target}: total {body['total']}, {len(hits)} hits of the document")
                continue
            versions = _version_of(hits[0]["title"]) | _version_of(hits[0]["title_html"])
            snippet = _version_of(hits[0]["snippet"])
            if len(versions) != 1 or (snippet and snippet != versions):
                log.fail(f"{target}: mixed versions title {versions} snippet {snippet}")
        elif target.startswith("/documents/"):
            d = r.json()
            if _version_of(d["title"]) != _version_of(d["body"]) or len(_version_of(d["title"])) != 1:
                log.fail(f"{target}: title {d['title']!r} body {d['body'][:60]!r}")


def api_writer(port: int, log: Log, stop: threading.Event, versions: dict[str, int], ks: list[int],
               seed: int) -> None:
    """Writes the documents `ks` (each writer its own, so per-document order is this thread's)."""
    rng = random.Random(seed)
    while not stop.is_set():
        started = time.monotonic()
        wait = "?wait=1&timeout=5" if rng.random() < 0.3 else ""  # holds the request in the worker
        if rng.random() < 0.2:  # a bulk write of three documents, one op
            ks_now = rng.sample(ks, 3)
            items = []
            for k in ks_now:
                versions[f"live-api-{k}"] += 1
                items.append(doc("api", k, versions[f"live-api-{k}"]))
            method, target, body = "POST", "/documents" + wait, json.dumps(items, ensure_ascii=False)
            written = [(it["id"], versions[it["id"]]) for it in items]
        else:
            k = rng.choice(ks)
            versions[f"live-api-{k}"] += 1
            d = doc("api", k, versions[f"live-api-{k}"])
            method, target = "PUT", f"/documents/live-api-{k}" + wait
            body = json.dumps({key: val for key, val in d.items() if key != "id"}, ensure_ascii=False)
            written = [(d["id"], versions[d["id"]])]
        try:
            r = request(port, method, target, body, {"Content-Type": "application/json", **AUTH}, timeout=30)
            outcome = r.json()["op"] if r.status in (200, 202) else f"status {r.status}"
            if r.status >= 500:
                with log.lock:
                    log.server_errors.append(f"{method} {target} -> {r.status} {r.text[:200]}")
            elif r.status not in (200, 202):
                log.fail(f"{method} {target} -> {r.status} {r.text[:200]}")
        except (OSError, http.client.HTTPException) as exc:
            outcome = "lost"  # no answer: maybe accepted, maybe not
            if not _in_flight_at_kill(log, started, time.monotonic()):
                log.fail(f"{method} {target}: {type(exc).__name__}: {exc}")
        ended = time.monotonic()
        with log.lock:
            for doc_id, v in written:
                log.writes.append((doc_id, v, outcome, started, ended))
        time.sleep(rng.uniform(0.02, 0.12))


def applier_holder(spool: Path, pids: list[int]) -> int | None:
    """The pid among `pids` holding the flock on spool/applier.lock (from /proc/locks)."""
    try:
        ino = os.stat(spool / "applier.lock").st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if "FLOCK" in parts and "->" not in parts:
            pid, dev_ino = int(parts[4]), parts[5]
            if dev_ino.rsplit(":", 1)[-1] == str(ino) and pid in pids:
                return pid
    return None


def cli_indexer(index: Path, tmp: Path, log: Log, stop: threading.Event) -> None:
    """`vnsearch index` rounds: each round rewrites the CLI documents at the next version."""
    rnd = 0
    while not stop.is_set():
        rnd += 1
        path = tmp / f"cli-{rnd}.jsonl"
        path.write_text("".join(json.dumps(doc("cli", k, rnd), ensure_ascii=False) + "\n"
                                for k in range(CLI_DOCS)), encoding="utf-8")
        done = subprocess.run(
            [PYTHON, "-c", "import sys; from search.cli import main; sys.exit(main(sys.argv[1:]))",
             "index", "--index", str(index), "--workers", "1", "--quiet", "--batch-size", "6", str(path)],
            cwd=ROOT, env=child_env(VNSEARCH_INDEX_LOCK_TIMEOUT="60"), capture_output=True, text=True,
            timeout=120)
        if done.returncode != 0:
            log.fail(f"vnsearch index round {rnd}: exit {done.returncode}: {done.stderr[-500:]}")
            return
        log.cli_rounds = rnd


def test_index_while_serving_and_kill_a_worker_mid_writes(base_index, tmp_path: Path) -> None:
    index = clone_index(base_index.path, tmp_path / "srv")
    log = Log()
    versions = {f"live-api-{k}": 0 for k in range(API_DOCS)}
    with running_server(index, tmp_path) as server:
        # Version 0 (API) and round 0 (CLI) of every versioned document, applied before the load.
        r = server.call("POST", "/documents?wait=1&timeout=20",
                        [doc("api", k, 0) for k in range(API_DOCS)] +
                        [doc("cli", k, 0) for k in range(CLI_DOCS)], headers=AUTH)
        assert r.status == 200, r.text
        time.sleep(1.5)  # both workers' readers refreshed
        stop = threading.Event()
        threads = [threading.Thread(target=reader, args=(server.port, log, stop, s)) for s in range(READERS)]
        half = API_DOCS // 2
        threads.append(threading.Thread(target=api_writer, args=(
            server.port, log, stop, versions, list(range(half)), 1)))
        threads.append(threading.Thread(target=api_writer, args=(
            server.port, log, stop, versions, list(range(half, API_DOCS)), 2)))
        threads.append(threading.Thread(target=cli_indexer, args=(index, tmp_path, log, stop)))
        started = time.monotonic()
        for t in threads:
            t.start()
        killed, killed_what = None, ""
        try:
            time.sleep(KILL_AT)
            workers_before = server.worker_pids()
            assert len(workers_before) == 2, workers_before
            # The worker that is applying the spool right now, if one is within 3 s (the
            # hardest case: mid-commit, holding the applier and index locks), else the first.
            holder, deadline = None, time.monotonic() + 3
            while holder is None and time.monotonic() < deadline:
                holder = applier_holder(server.spool, workers_before)
                if holder is None:
                    time.sleep(0.005)
            killed = holder or workers_before[0]
            killed_what = "the worker applying the spool" if holder else "a worker"
            log.kill_time = time.monotonic()
            os.kill(killed, signal.SIGKILL)
            time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - started)))
        finally:
            stop.set()
            for t in threads:
                t.join(150)
        assert all(not t.is_alive() for t in threads), "a load thread hung"
        wait_until(lambda: len(server.worker_pids()) == 2 and killed not in server.worker_pids(),
                   30, 0.2, "gunicorn to replace the killed worker")

        # Every acknowledged write is applied; none failed.
        server.wait_drained(90)
        assert not list((server.spool / "failed").glob("*.json")), "writes moved to failed/"
        acked = [(d, v, op) for d, v, op, _, _ in log.writes if OP_RE.fullmatch(op)]
        for op in {op for _, _, op in acked}:
            state = server.get(f"/operations/{op}").json()["status"]
            assert state == "applied", (op, state)
        time.sleep(2.5)  # every worker's reader past the last commit (refresh_interval 1 s)
        # Final versions: the last acknowledged write, or a later one whose answer was lost.
        for k in range(API_DOCS):
            doc_id = f"live-api-{k}"
            entries = [(v, op) for d, v, op, _, _ in log.writes if d == doc_id]  # in order
            acked_at = [i for i, (_, op) in enumerate(entries) if OP_RE.fullmatch(op)]
            last = acked_at[-1] if acked_at else -1
            allowed = {entries[last][0]} if acked_at else {0}
            allowed |= {v for v, op in entries[last + 1:] if op == "lost"}
            for _ in range(2):  # both workers (round robin is not guaranteed, so ask twice)
                got = _version_of(server.get(f"/documents/{doc_id}").json()["title"])
                assert got and got <= allowed, (doc_id, got, allowed)
            body = server.get(f"/search?q={marker('api', k)}").json()
            assert body["total"] == 1
        for k in range(CLI_DOCS):
            got = _version_of(server.get(f"/documents/live-cli-{k}").json()["title"])
            assert got == {log.cli_rounds}, (k, got, log.cli_rounds)
        assert server.get("/health").json()["status"] == "ok"

    n_writes = len({(op, s) for _, _, op, s, _ in log.writes})
    print(f"\nserve-while-indexing: {log.queries} queries, {n_writes} API write requests "
          f"({len({op for _, _, op in acked})} acknowledged ops), {log.cli_rounds} CLI index rounds, "
          f"{killed_what} ({killed}) killed at {KILL_AT:.0f}s, {log.errors_in_flight_at_kill} requests "
          f"in flight on it lost their connection")
    assert not log.server_errors, log.server_errors[:5]
    assert not log.failures, log.failures[:10]
    assert log.queries > 50 and len(acked) > 20 and log.cli_rounds >= 2
