"""Writes need the token (compared in constant time), the server binds to loopback by
default, request bodies and request lines are capped."""
from __future__ import annotations

import ast
import hmac
import inspect
import json
import socket
import subprocess
import textwrap
import time

import falcon.testing
import pytest

from config.settings import ApiSettings, IndexSettings, ServerSettings, Settings
from indexer.spool import Spool
from search.api import resources
from search.api.app import create_app
from tests.reliability.conftest import (
    AUTH, GUNICORN_CONF, PYTHON, ROOT, TOKEN, child_env, listening_addresses, raw_request,
    request,
)

DOC = {"title": "Tiêu đề", "body": "Nội dung bài viết"}


class _NoEngine:
    def get_document(self, doc_id):
        return None


def _client(tmp_path, token: str = TOKEN, max_body: int = 4096):
    settings = Settings(index=IndexSettings(path=tmp_path / "index", spool=tmp_path / "spool"),
                        server=ServerSettings(max_body_bytes=max_body), api=ApiSettings(token=token))
    spool = Spool(tmp_path / "spool", fsync=False)
    return falcon.testing.TestClient(create_app(settings, engine=_NoEngine(), spool=spool)), spool


# -- the token -------------------------------------------------------------------------------
def test_token_is_compared_with_hmac_compare_digest_only() -> None:
    source = textwrap.dedent(inspect.getsource(resources.require_token))
    assert "hmac.compare_digest(" in source
    # No other comparison ever touches the token or the credentials (== / != / in / startswith).
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & {"token", "given", "credentials"}, ast.unparse(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith", "find", "index"):
                names = {n.id for n in ast.walk(node.func.value) if isinstance(n, ast.Name)}
                assert not names & {"token", "given", "credentials"}, ast.unparse(node)


def test_every_write_goes_through_compare_digest(tmp_path, monkeypatch) -> None:
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(resources.hmac, "compare_digest", spy)
    client, spool = _client(tmp_path)
    r = client.simulate_put("/documents/a", json=DOC, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.simulate_put("/documents/a", json=DOC, headers=AUTH)
    assert r.status_code == 202
    r = client.simulate_delete("/documents/a", headers=AUTH)
    assert r.status_code == 202
    r = client.simulate_post("/documents", json=[{"id": "b", **DOC}], headers=AUTH)
    assert r.status_code == 202
    assert calls == [(b"nope", TOKEN.encode())] + [(TOKEN.encode(), TOKEN.encode())] * 3


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic " + TOKEN, TOKEN,
    "Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", "Bearer x" + TOKEN,
    "Bearer " + TOKEN.upper(), "Bearer " + TOKEN.encode("utf-8").decode("latin-1")[:-1],
    "Bearer\t\x00" + TOKEN,
])
def test_missing_or_wrong_token_is_401_and_enqueues_nothing(tmp_path, header) -> None:
    client, spool = _client(tmp_path)
    headers = {} if header is None else {"Authorization": header}
    for method, path, body in (("PUT", "/documents/x", DOC), ("DELETE", "/documents/x", None),
                               ("POST", "/documents", [{"id": "x", **DOC}])):
        r = client.simulate_request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (method, header, r.text)
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="vnsearch"')
        assert "title" in r.json and TOKEN not in r.text
    assert spool.pending_ops() == []


def test_no_configured_token_disables_writes_with_403(tmp_path) -> None:
    client, spool = _client(tmp_path, token="")
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
        r = client.simulate_put("/documents/x", json=DOC, headers=headers)
        assert r.status_code == 403, r.text
    assert spool.pending_ops() == []


def test_auth_over_http_on_the_live_server(live_server) -> None:
    pending = live_server.spool / "pending"
    before = set(pending.glob("*.json"))
    r = live_server.call("PUT", "/documents/auth-1", DOC)
    assert r.status == 401 and "bearer" in r.headers["www-authenticate"].lower()
    r = live_server.call("PUT", "/documents/auth-1", DOC, headers={"Authorization": "Bearer wrong"})
    assert r.status == 401
    r = live_server.call("DELETE", "/documents/auth-1", headers={"Authorization": "Bearer "})
    assert r.status == 401
    assert set(pending.glob("*.json")) == before
    r = live_server.call("PUT", "/documents/auth-1?wait=1", DOC, headers=AUTH)
    assert r.status == 200 and r.json()["status"] == "applied", r.text
    # Reads need no token. wait=1 guarantees visibility on the worker that answered; the
    # other worker sees the commit within [search] refresh_interval (1 s), at its next
    # request after that. (Polling until a few reads succeed is not enough: they may all
    # reach the same worker, and the next one the other, within the second.)
    time.sleep(2.5)
    for _ in range(8):
        r = live_server.get("/documents/auth-1")
        assert r.status == 200 and r.json()["title"] == DOC["title"], r.text


# -- where the server listens ------------------------------------------------------------------
def _gunicorn_bind(**env: str) -> str:
    code = (f"import runpy; ns = runpy.run_path({str(GUNICORN_CONF)!r}); print(ns['bind'])")
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=child_env(**env), check=True,
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def test_gunicorn_binds_to_loopback_unless_told_otherwise() -> None:
    assert _gunicorn_bind() == "127.0.0.1:8000"
    assert _gunicorn_bind(VNSEARCH_SERVER_PORT="9001") == "127.0.0.1:9001"
    assert _gunicorn_bind(VNSEARCH_SERVER_HOST="0.0.0.0") == "0.0.0.0:8000"  # told otherwise
    assert _gunicorn_bind(VNSEARCH_BIND="127.0.0.2:7000") == "127.0.0.2:7000"


def test_started_server_listens_on_loopback_only(live_server) -> None:
    assert listening_addresses(live_server.port) == {"127.0.0.1"}
    with pytest.raises(OSError):  # not reachable on another local address of the machine
        addr = next((a for a in _non_loopback_addresses()), None)
        if addr is None:
            raise OSError("no other address to try")
        socket.create_connection((addr, live_server.port), timeout=2).close()


def _non_loopback_addresses() -> list[str]:
    out = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            if not info[4][0].startswith("127."):
                out.append(info[4][0])
    except OSError:
        pass
    return out


# -- size caps -------------------------------------------------------------------------------
def test_request_bodies_are_capped_with_413(live_server) -> None:
    limit = 5_000_000  # [server] max_body_bytes default
    pending = live_server.spool / "pending"
    before = set(pending.glob("*.json"))
    # Announced too large: refused before reading.
    status, data, seconds = raw_request(live_server.port, (
        "PUT /documents/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Length: 999999999\r\n\r\n{{"
    ).encode("latin-1"), timeout=10)
    assert status == 413, data[:300]
    assert seconds < 5
    # Really sent, one byte over the limit, as one document and as a bulk body.
    big = json.dumps({"title": "t", "body": "x" * (limit - 25)}).encode()
    assert len(big) == limit + 1
    head = ("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {AUTH['Authorization']}\r\nContent-Length: {{length}}\r\n\r\n")
    status, data, _ = raw_request(live_server.port, head.format(
        method="PUT", path="/documents/big", length=len(big)).encode("latin-1") + big, timeout=20)
    assert status == 413, data[:300]
    bulk = b'[{"id":"b","title":"t","body":"' + b"x" * (limit - 30) + b'"}]'
    status, data, _ = raw_request(live_server.port, head.format(
        method="POST", path="/documents", length=len(bulk)).encode("latin-1") + bulk, timeout=20)
    assert status == 413, data[:300]
    # Chunked, no length: still cut at the limit.
    chunk = b"x" * 1_000_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    status, data, _ = raw_request(live_server.port, (
        "POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode("latin-1") + body, timeout=20)
    assert status == 413, data[:300]
    assert set(pending.glob("*.json")) == before
    # Exactly at the limit is accepted.
    ok = json.dumps({"title": "t", "body": "x" * (limit - 26)}).encode()
    assert len(ok) == limit
    r = request(live_server.port, "PUT", "/documents/at-limit", ok,
                {"Content-Type": "application/json", **AUTH})
    assert r.status == 202, r.text


def test_unauthenticated_large_body_is_refused_before_it_is_read(live_server) -> None:
    status, data, seconds = raw_request(live_server.port, (
        "POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 4000000\r\n\r\n[").encode(), timeout=10)
    assert status == 401 and seconds < 5


def test_request_line_and_headers_are_capped(live_server) -> None:
    status, _, _ = raw_request(live_server.port,
                               b"GET /search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status in (400, 414)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    status, _, _ = raw_request(live_server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status in (400, 431)
    huge = b"X-Big: " + b"v" * 9000 + b"\r\n"
    status, _, _ = raw_request(live_server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + huge + b"\r\n")
    assert status in (400, 431)
    # The server is still fine afterwards.
    assert live_server.get("/health").status == 200
