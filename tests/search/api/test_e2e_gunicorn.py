"""End to end: `vnsearch index` real articles, `vnsearch serve` (gunicorn, 2 workers) on a
free loopback port, search over HTTP, write through the API and find the write."""
from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from itertools import islice
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DANTRI = ROOT.parent / "shared" / "data" / "unc-dantri-news" / "corpus.jsonl.gz"
SEED = ROOT.parent / "shared" / "seeds" / "portal-article-an-giang-2014.txt"
TOKEN = "e2e-secret"
REFRESH_INTERVAL = 1.0  # config/defaults.toml [search] refresh_interval, which serve uses here

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not DANTRI.exists() or not SEED.exists(),
                                                   reason="shared data absent")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _search(port: int, q: str, **params: str) -> dict:
    status, body = _call(port, "GET", "/search?" + urllib.parse.urlencode({"q": q, **params}))
    assert status == 200, body
    return body


def test_index_serve_search_write(tmp_path: Path) -> None:
    corpus = tmp_path / "news.jsonl"
    with gzip.open(DANTRI, "rt", encoding="utf-8") as f:
        corpus.write_text("".join(islice(f, 150)), encoding="utf-8")
    index = tmp_path / "index"
    vnsearch = [sys.executable, "-m", "search.cli"]
    done = subprocess.run([*vnsearch, "index", "--index", str(index), "--quiet", str(corpus), str(SEED)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "added 151" in done.stdout

    port = _free_port()
    env = {**os.environ, "VNSEARCH_API_TOKEN": TOKEN, "VNSEARCH_INDEX_SPOOL": str(tmp_path / "spool"),
           "VNSEARCH_WORKERS": "2"}
    server = subprocess.Popen([*vnsearch, "serve", "--index", str(index), "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"),
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = _call(port, "GET", "/health")
                if status == 200:
                    break
            except (ConnectionError, urllib.error.URLError):
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        assert health["documents"] == 151

        hits = _search(port, "huyen uy an phu")["hits"]
        assert hits[0]["title"].startswith("Huyện ủy An Phú")
        assert "<mark>" in hits[0]["title_html"]
        body = _search(port, "học tập", per_page="5")
        assert body["total"] >= 1 and body["facets"]["category"]

        status, _ = _call(port, "PUT", "/documents/e2e-1", {"title": "Tin thử nghiệm", "body": "x"})
        assert status == 401  # no token
        doc = {"title": "Hội nghị tổng kết công tác phòng chống lụt bão xã Vĩnh Trường",
               "body": "Ủy ban nhân dân xã Vĩnh Trường tổ chức hội nghị tổng kết.", "date": "2024-05-02",
               "category": "Thời sự"}
        status, accepted = _call(port, "PUT", "/documents/e2e-1?wait=1", doc, token=TOKEN)
        assert status == 200 and accepted["status"] == "applied"
        # the documented guarantee: an applied write is visible to every request on every
        # worker once refresh_interval (1 s by default) has passed; 8 requests reach both workers
        time.sleep(REFRESH_INTERVAL + 0.3)
        found = [(_search(port, "lut bao vinh truong")["hits"] or [{}])[0].get("id") for _ in range(8)]
        assert found == ["e2e-1"] * 8
        assert _search(port, "UBND xã Vĩnh Trường")["hits"][0]["id"] == "e2e-1"  # synonym UBND
        for _ in range(8):
            status, stored = _call(port, "GET", "/documents/e2e-1")
            assert status == 200 and stored["title"] == doc["title"]

        status, _ = _call(port, "DELETE", "/documents/e2e-1?wait=1", token=TOKEN)
        assert status == 200
        time.sleep(REFRESH_INTERVAL + 0.3)
        assert [_call(port, "GET", "/documents/e2e-1")[0] for _ in range(8)] == [404] * 8
        assert all(h["id"] != "e2e-1" for h in _search(port, "lut bao vinh truong")["hits"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
