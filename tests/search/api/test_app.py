"""The HTTP API through falcon.testing, with a fake engine and a real spool in tmp_path."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import falcon
import falcon.testing
import pytest

from config.settings import ApiSettings, IndexSettings, SearchSettings, ServerSettings, Settings
from indexer.spool import Applier, Spool
from search.api import app as app_mod
from search.api.app import EngineHolder, create_app
from search.engine import FacetValue, Hit, SearchResult  # the real result types: the fake stays in shape

TOKEN = "s3cret-tôken"
AUTH = {"Authorization": f"Bearer {TOKEN}".encode("utf-8").decode("latin-1")}
JSON = {"Content-Type": "application/json"}


# -- fakes with the engine's interface ---------------------------------------------------
class InvalidRequest(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class IndexUnavailable(RuntimeError):
    pass


@dataclass
class FakeEngine:
    docs: dict[str, dict] = field(default_factory=dict)
    requests: list = field(default_factory=list)
    suggest_calls: list = field(default_factory=list)
    refreshes: int = 0
    fail: Exception | None = None

    def search(self, req):
        self.requests.append(req)
        if self.fail is not None:
            raise self.fail
        hit = Hit("a/1", "Quốc hội", "<mark>Quốc hội</mark>", "… <mark>luật</mark> …", "http://x/1",
                  "2014-12-30T07:42:00", ["Thời sự"], "PV", float("nan"))
        return SearchResult(req.q, 1, req.page, req.per_page, 1.5, [hit],
                            {"category": [FacetValue("Thời sự", 1)]}, None)

    def suggest(self, prefix, limit=8):
        self.suggest_calls.append((prefix, limit))
        if self.fail is not None:
            raise self.fail
        return [prefix + " hội", prefix + " gia"][:limit]

    def get_document(self, doc_id):
        if self.fail is not None:
            raise self.fail
        return self.docs.get(doc_id)

    def doc_count(self):
        if self.fail is not None:
            raise self.fail
        return len(self.docs)

    def version(self):
        return "gen-1:3"

    def refresh(self):
        self.refreshes += 1
        return True

    def close(self):
        pass


def make_settings(tmp_path: Path, token: str = TOKEN, **search) -> Settings:
    return Settings(
        index=IndexSettings(path=tmp_path / "index", spool=tmp_path / "spool"),
        search=SearchSettings(refresh_interval=3600, **search),
        server=ServerSettings(max_body_bytes=8000),
        api=ApiSettings(token=token),
    )


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(docs={
        "a/1:x": {"id": "a/1:x", "title": "Quốc hội", "body": "Thân bài", "date": dt.datetime(2014, 12, 30, 7, 42),
                  "category": "Thời sự,Pháp luật", "author": "PV", "extras": {"lang": "vi"}},
        "Bộ luật": {"id": "Bộ luật", "title": "Bộ luật", "body": "x"},
    })


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


@pytest.fixture
def client(tmp_path, engine, spool) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(make_settings(tmp_path), engine=engine, spool=spool))


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json
    assert isinstance(body["title"], str) and isinstance(body["description"], str) and body["description"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def pending_actions(spool: Spool) -> list[dict]:
    return [a for op in spool.pending_ops()
            for a in json.loads((spool.pending / f"{op}.json").read_text("utf-8"))["actions"]]


# -- /search -----------------------------------------------------------------------------
def test_search_passes_validated_parameters_and_returns_the_documented_shape(client, engine):
    resp = client.simulate_get("/search", query_string=(
        "q=qu%E1%BB%91c+h%E1%BB%99i&category=Th%E1%BB%9Di+s%E1%BB%B1&category=Kinh+t%E1%BA%BF"
        "&date_from=2014-01-01&date_to=2014-12-31&sort=newest&page=2&per_page=5&facets=false&unknown=1"))
    assert resp.status_code == 200
    req = engine.requests[-1]
    assert (req.q, req.categories, req.date_from, req.date_to, req.sort, req.page, req.per_page,
            req.highlight, req.facets) == ("quốc hội", ("Thời sự", "Kinh tế"), dt.date(2014, 1, 1),
                                           dt.date(2014, 12, 31), "newest", 2, 5, True, False)
    body = resp.json
    assert set(body) == {"query", "total", "page", "per_page", "took_ms", "hits", "facets", "suggestion"}
    assert body["hits"][0] == {"id": "a/1", "title": "Quốc hội", "title_html": "<mark>Quốc hội</mark>",
                               "snippet": "… <mark>luật</mark> …", "url": "http://x/1",
                               "date": "2014-12-30T07:42:00", "category": ["Thời sự"], "author": "PV",
                               "score": 0.0}  # NaN from the engine never reaches the JSON
    assert body["facets"] == {"category": [{"value": "Thời sự", "count": 1}], "year": []}
    assert body["suggestion"] is None and (body["page"], body["per_page"]) == (2, 5)
    assert "Quốc hội".encode() in resp.content  # UTF-8, not \\u escapes


def test_search_defaults_and_browsing_without_query(client, engine):
    assert client.simulate_get("/search", query_string="q=lu%E1%BA%ADt").status_code == 200
    assert (engine.requests[-1].sort, engine.requests[-1].page, engine.requests[-1].per_page) == ("relevance", 1, 10)
    assert client.simulate_get("/search", query_string="category=X").status_code == 200
    assert (engine.requests[-1].q, engine.requests[-1].sort) == ("", "newest")
    client.simulate_get("/search", query_string="q=a%00b%07c")  # control characters become spaces
    assert engine.requests[-1].q == "a b c"


@pytest.mark.parametrize("qs, field", [
    ("page=abc", "page"), ("page=0", "page"), ("page=-1", "page"), ("page=1.5", "page"),
    ("page=%D9%A1", "page"), ("per_page=0", "per_page"), ("per_page=51", "per_page"),
    ("date_from=2014-13-01", "date_from"), ("date_from=20140101", "date_from"),
    ("date_to=30/12/2014", "date_to"), ("date_from=2015-01-01&date_to=2014-01-01", "date_from"),
    ("sort=best", "sort"), ("q=" + "a" * 2001, "q"), ("page=21&per_page=50", "page"),
    ("q=a&q=b", "q"), ("page=1&page=2", "page"), ("facets=maybe", "facets"),
    ("page=", "page"), ("sort=", "sort"), ("date_from=", "date_from"), ("highlight=", "highlight"),
    ("category=" + "x" * 201, "category"), ("&".join(["category=c%d" % i for i in range(21)]), "category"),
])
def test_search_rejects_bad_parameters_with_400(client, engine, qs, field):
    assert_error(client.simulate_get("/search", query_string=qs), 400, field)
    assert engine.requests == []


def test_deepest_allowed_page_is_accepted(client, engine):
    assert client.simulate_get("/search", query_string="page=20&per_page=50").status_code == 200


def test_engine_errors_map_to_400_503_and_500(client, engine, caplog):
    engine.fail = InvalidRequest("q", "too many terms")
    body = assert_error(client.simulate_get("/search", query_string="q=x"), 400, "q")
    assert "too many terms" in body["description"]
    engine.fail = IndexUnavailable("index is being swapped")
    resp = client.simulate_get("/search", query_string="q=x")
    assert_error(resp, 503)
    assert resp.headers["retry-after"] == "5"
    engine.fail = KeyError("bug")
    with caplog.at_level(logging.ERROR, logger="search.api"):
        body = assert_error(client.simulate_get("/search", query_string="q=x"), 500)
    assert "bug" not in body["description"]  # no internals to the client...
    assert any("unexpected error" in r.message and r.exc_info for r in caplog.records)  # ...but logged


def test_a_read_that_fails_gives_the_next_read_its_turn(client, engine):
    turn = client.app.vnsearch.read_turn
    for fail, status in ((KeyError("bug"), 500), (InvalidRequest("q", "bad"), 400), (None, 200)):
        engine.fail = fail
        assert client.simulate_get("/search", query_string="q=x").status_code == status
        assert not turn.locked()
    assert client.simulate_get("/no/such/route").status_code == 404 and not turn.locked()
    assert client.simulate_head("/health").status_code == 405 and not turn.locked()


def test_reads_take_turns_while_writes_go_beside_them(client, engine, spool):
    # One read at a time per worker (`OneReadAtATime`); a write, or its ?wait polling,
    # never waits for the read in progress.
    turn = client.app.vnsearch.read_turn
    started, release = threading.Event(), threading.Event()
    search = engine.search

    def slow_search(req):
        started.set()
        assert release.wait(10)
        return search(req)

    engine.search = slow_search
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(
        client.simulate_get("/search", query_string="q=a").status_code))
    first.start()
    try:
        assert started.wait(10) and turn.locked()
        put = client.simulate_put("/documents/w1", json={"title": "t", "body": "b"}, headers=AUTH)
        assert put.status_code == 202  # while the read holds its turn
        second = threading.Thread(target=lambda: results.append(
            client.simulate_get("/suggest", query_string="q=qu").status_code))
        second.start()
        second.join(0.3)
        assert second.is_alive() and engine.suggest_calls == []  # waits for its turn
    finally:
        release.set()
    first.join(10)
    second.join(10)
    assert results == [200, 200] and not turn.locked()


def test_engine_that_cannot_be_opened_gives_503_and_is_retried(tmp_path, spool, monkeypatch):
    attempts = []

    def factory(settings):
        def open_engine():
            attempts.append(1)
            if len(attempts) == 1:
                raise FileNotFoundError("no index at var/index")
            return FakeEngine()
        return open_engine

    monkeypatch.setattr(app_mod, "_engine_factory", factory)
    client = falcon.testing.TestClient(create_app(make_settings(tmp_path), spool=spool))
    assert_error(client.simulate_get("/search", query_string="q=x"), 503)
    health = client.simulate_get("/health")
    assert health.status_code == 200 and health.json["status"] == "ok"  # second attempt opened it
    assert len(attempts) == 2


def test_engine_holder_refreshes_at_most_every_interval():
    engine = FakeEngine()
    holder = EngineHolder(None, 3600, engine)
    for _ in range(5):
        assert holder.get() is engine
    assert engine.refreshes == 0
    holder._last_refresh -= 3601
    holder.get()
    holder.get()
    assert engine.refreshes == 1
    holder.refresh()  # forced (after a waited-for write)
    assert engine.refreshes == 2


# -- /suggest ----------------------------------------------------------------------------
def test_suggest(client, engine):
    resp = client.simulate_get("/suggest", query_string="q=qu%E1%BB%91c&limit=1")
    assert resp.status_code == 200 and resp.json == {"suggestions": ["quốc hội"]}
    assert engine.suggest_calls == [("quốc", 1)]
    assert client.simulate_get("/suggest").json == {"suggestions": []}
    assert engine.suggest_calls == [("quốc", 1)]  # empty prefix: engine not asked
    assert_error(client.simulate_get("/suggest", query_string="q=" + "a" * 101), 400, "q")
    assert_error(client.simulate_get("/suggest", query_string="q=a&limit=21"), 400, "limit")


# -- GET /documents/{id} ----------------------------------------------------------------
def test_get_document_with_slash_colon_and_unicode_ids(client):
    resp = client.simulate_get("/documents/" + quote("a/1:x", safe=""))
    assert resp.status_code == 200
    assert resp.json == {"id": "a/1:x", "title": "Quốc hội", "summary": "", "body": "Thân bài", "url": "",
                         "author": "PV", "source": "", "doc_number": "", "date": "2014-12-30T07:42:00",
                         "category": ["Thời sự", "Pháp luật"], "extras": {"lang": "vi"}}
    assert client.simulate_get("/documents/a/1:x").json["id"] == "a/1:x"  # raw '/' works too
    assert client.simulate_get("/documents/" + quote("Bộ luật")).json["title"] == "Bộ luật"


@pytest.mark.parametrize("path", ["/documents/nope", "/documents/", "/documents/%20x", "/documents/a%0Ab"])
def test_get_missing_or_impossible_document_is_404(client, path):
    assert_error(client.simulate_get(path), 404)


# -- writes: auth ------------------------------------------------------------------------
def test_writes_need_the_bearer_token(client, spool):
    doc = {"title": "t", "body": "b"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + TOKEN},
                    {"Authorization": "Bearer"}, {"Authorization": TOKEN}):
        for resp in (client.simulate_put("/documents/x", json=doc, headers=headers),
                     client.simulate_delete("/documents/x", headers=headers),
                     client.simulate_post("/documents", json=[{"id": "x", **doc}], headers=headers)):
            assert_error(resp, 401)
            assert resp.headers["www-authenticate"].startswith('Bearer realm="vnsearch"')
    assert spool.pending_ops() == []


def test_writes_are_refused_with_403_when_no_token_is_configured(tmp_path, engine, spool):
    client = falcon.testing.TestClient(create_app(make_settings(tmp_path, token=""), engine=engine, spool=spool))
    for headers in ({}, {"Authorization": "Bearer "}, AUTH):
        assert_error(client.simulate_put("/documents/x", json={"title": "t", "body": "b"}, headers=headers), 403)
        assert_error(client.simulate_delete("/documents/x", headers=headers), 403)
        assert_error(client.simulate_post("/documents", json=[], headers=headers), 403)
    assert spool.pending_ops() == []


# -- PUT / DELETE ------------------------------------------------------------------------
def test_put_enqueues_the_document_and_answers_202(client, spool):
    body = {"title": "Luật đất đai", "body": "Nội dung", "date": "30/12/2014 07:42",
            "category": "Pháp luật", "url": "http://x", "doc_number": "45/2013/QH13",
            "extras": {"pages": 3}, "lang": "vi"}
    resp = client.simulate_put("/documents/" + quote("luật/45:2013", safe=""), json=body, headers=AUTH)
    assert resp.status_code == 202, resp.text
    op = resp.json["op"]
    assert resp.json == {"status": "accepted", "op": op, "documents": 1}
    assert resp.headers["location"] == f"/operations/{op}"
    assert spool.status(op) == "pending"
    [action] = pending_actions(spool)
    assert action["action"] == "upsert"
    doc = action["doc"]
    assert (doc["id"], doc["title"], doc["date"], doc["categories"], doc["doc_number"]) == \
        ("luật/45:2013", "Luật đất đai", "2014-12-30T07:42:00", ["Pháp luật"], "45/2013/QH13")
    assert doc["extras"] == {"pages": 3, "lang": "vi"}  # unknown keys go to extras


LAW_TEXT = ("QUỐC HỘI\n\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n\n"
            "Số: 52/2014/QH13\n\nHà Nội, ngày 19 tháng 06 năm 2014\n\nLUẬT\n\nHÔN NHÂN VÀ GIA ĐÌNH\n\n"
            "Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;")


def test_put_of_a_law_text_gets_its_doc_number_as_a_corpus_file_would(client, spool):
    """The same rules as the corpus reader: the number is found in the header, and a given
    number loses its "Số:" prefix."""
    resp = client.simulate_put("/documents/luat-hon-nhan", headers=AUTH,
                               json={"title": "Luật Hôn nhân và gia đình", "body": LAW_TEXT})
    assert resp.status_code == 202, resp.text
    resp = client.simulate_put("/documents/luat-2", headers=AUTH,
                               json={"title": "Luật", "body": "x", "doc_number": "Số: 52/2014/QH13"})
    assert resp.status_code == 202, resp.text
    resp = client.simulate_post("/documents", headers=AUTH,
                                json=[{"id": "luat-3", "title": "Luật Hôn nhân và gia đình", "body": LAW_TEXT}])
    assert resp.status_code == 202, resp.text
    numbers = {a["doc"]["id"]: a["doc"]["doc_number"] for a in pending_actions(spool)}
    assert numbers == {"luat-hon-nhan": "52/2014/QH13", "luat-2": "52/2014/QH13", "luat-3": "52/2014/QH13"}


@pytest.mark.parametrize("body, fragment", [
    ({"body": "b"}, "field 'title' is required"),
    ({"title": "t"}, "field 'body' is required"),
    ({"title": "", "body": "  "}, "fields 'title' and 'body' are both empty"),
    ({"title": 1, "body": "b"}, "field 'title' must be a string, not a number"),
    ({"title": "t", "body": "b", "date": "12/30/2014"}, "field 'date' cannot be read: impossible date"),
    ({"title": "t", "body": "b", "date": 20141230}, "field 'date' must be a string or null, not a number"),
    ({"title": "t", "body": "b", "date": " "}, "field 'date' is blank"),
    ({"title": "t", "body": "b", "category": [1]}, "field 'category' must be a string or an array of strings"),
    ({"title": "t", "body": "b", "category": ["c"] * 101}, "at most 100 categories per document"),
    ({"title": "t", "body": "b", "extras": []}, "field 'extras' must be an object or null, not an array"),
    ({"title": "t", "body": "b", "author": {"x": 1}}, "field 'author' must be a string or null, not an object"),
    ({"title": "t", "body": "b", "id": "other"}, "field 'id' differs from the id in the URL"),
    (["not", "an", "object"], "a document must be a JSON object, not an array"),
    ({"title": "t", "body": "b", "extras": {"deep": json.loads("[" * 40 + "]" * 40)}}, "nested"),
])
def test_put_rejects_invalid_documents(client, spool, body, fragment):
    resp = client.simulate_put("/documents/x", json=body, headers=AUTH)
    assert fragment in assert_error(resp, 400)["description"]
    assert spool.pending_ops() == []


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{}", b'{"title": NaN, "body": "b"}',
                                 b'{"title": "\\ud800", "body": "b"}', b"[" * 3000 + b"]" * 3000, b"[" * 1000, b"", b"   ",
                                 b'{"title": "t", "body": "b", "n": ' + b"9" * 5000 + b"}"])
def test_put_rejects_bodies_that_are_not_valid_json(client, spool, raw):
    assert_error(client.simulate_put("/documents/x", body=raw, headers={**AUTH, **JSON}), 400)
    assert spool.pending_ops() == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml", "application/x-ndjson",
                                          "application/json; charset=latin-1"])
def test_put_needs_a_json_content_type(client, content_type):
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    assert_error(client.simulate_put("/documents/x", body=b'{"title":"t","body":"b"}', headers=headers), 415)


def test_put_accepts_json_with_utf8_charset_and_bom(client):
    body = '\ufeff{"title": "Tiêu đề", "body": "b"}'.encode("utf-8")
    resp = client.simulate_put("/documents/x", body=body,
                               headers={**AUTH, "Content-Type": "application/json; charset=UTF-8"})
    assert resp.status_code == 202, resp.text


def test_oversize_bodies_are_413_without_reading_them_whole(client, spool):
    big = json.dumps({"title": "t", "body": "x" * 9000})
    assert_error(client.simulate_put("/documents/x", body=big, headers={**AUTH, **JSON}), 413)

    class CountingStream(io.BytesIO):
        taken = 0

        def read(self, n=-1):
            data = super().read(n)
            CountingStream.taken += len(data)
            return data

    stream = CountingStream(big.encode() * 100)  # no Content-Length: chunked upload
    resp = client.simulate_request("PUT", "/documents/x", headers={**AUTH, **JSON, "Transfer-Encoding": "chunked"},
                                   extras={"wsgi.input": stream, "CONTENT_LENGTH": ""})
    assert_error(resp, 413)
    assert CountingStream.taken <= 8001
    assert spool.pending_ops() == []


def test_delete_enqueues_a_delete(client, spool):
    resp = client.simulate_delete("/documents/" + quote("a/1:x", safe=""), headers=AUTH)
    assert resp.status_code == 202
    assert pending_actions(spool) == [{"action": "delete", "id": "a/1:x"}]
    for bad in ("/documents/", "/documents/%20lead", "/documents/a%00b", "/documents/" + "x" * 513):
        assert_error(client.simulate_delete(bad, headers=AUTH), 400, "id")
    assert len(spool.pending_ops()) == 1


def test_spool_disk_errors_are_503_not_500(client, spool, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool, "enqueue", full)
    resp = client.simulate_delete("/documents/x", headers=AUTH)
    assert_error(resp, 503)
    assert resp.headers["retry-after"] == "30"


# -- POST /documents ---------------------------------------------------------------------
def test_bulk_json_array_is_one_op(client, spool):
    docs = [{"id": f"d{i}", "title": f"Tin {i}", "body": "b", "category": ["A", "B"]} for i in range(3)]
    resp = client.simulate_post("/documents", json=docs, headers=AUTH)
    assert resp.status_code == 202 and resp.json["documents"] == 3
    assert len(spool.pending_ops()) == 1
    assert [a["doc"]["id"] for a in pending_actions(spool)] == ["d0", "d1", "d2"]


def test_bulk_ndjson(client, spool):
    body = "\n".join(json.dumps({"id": f"d{i}", "title": "t", "body": "b"}) for i in range(2)) + "\n\n"
    resp = client.simulate_post("/documents", body=body,
                                headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert resp.status_code == 202 and resp.json["documents"] == 2
    assert [a["doc"]["id"] for a in pending_actions(spool)] == ["d0", "d1"]


def test_bulk_reports_every_invalid_item_and_accepts_nothing(client, spool):
    docs = [{"id": "ok", "title": "t", "body": "b"}, {"title": "t", "body": "b"}, "x",
            {"id": "bad date", "title": "t", "body": "b", "date": "soon"}]
    body = assert_error(client.simulate_post("/documents", json=docs, headers=AUTH), 400)
    assert [e["index"] for e in body["errors"]] == [1, 2, 3]
    assert "3 of 4" in body["description"]
    ndjson = '{"id": "ok", "title": "t", "body": "b"}\n\n{broken\n{"id": "x", "title": 5, "body": "b"}\n'
    body = assert_error(client.simulate_post("/documents", body=ndjson, headers={
        **AUTH, "Content-Type": "application/x-ndjson"}), 400)
    assert [(e["index"], e["line"]) for e in body["errors"]] == [(1, 3), (2, 4)]
    assert "invalid JSON" in body["errors"][0]["message"]
    assert spool.pending_ops() == []


@pytest.mark.parametrize("body, content_type", [
    ("[]", "application/json"), ('{"id": "x", "title": "t", "body": "b"}', "application/json"),
    ("\n \n", "application/x-ndjson"), ("[1,", "application/json"),
])
def test_bulk_rejects_bodies_that_are_not_a_list_of_documents(client, spool, body, content_type):
    assert_error(client.simulate_post("/documents", body=body, headers={**AUTH, "Content-Type": content_type}), 400)
    assert spool.pending_ops() == []


def test_bulk_content_type_and_size(client):
    assert_error(client.simulate_post("/documents", body="[]", headers={**AUTH, "Content-Type": "text/csv"}), 415)
    huge = [{"id": f"d{i}", "title": "t", "body": "x" * 100} for i in range(100)]
    assert_error(client.simulate_post("/documents", json=huge, headers=AUTH), 413)


# -- waiting for a write, operations ----------------------------------------------------
@pytest.fixture
def applier(tmp_path, spool):
    applier = Applier(tmp_path / "index", spool, lock_timeout=5)
    spool.add_listener(applier.wake)
    applier.start_thread(interval=0.05)
    yield applier
    applier.stop(timeout=10)


def test_wait_answers_200_once_the_write_is_applied_and_refreshed(client, engine, spool, applier):
    before = engine.refreshes
    resp = client.simulate_put("/documents/w1", json={"title": "t", "body": "b"}, headers=AUTH,
                               params={"wait": "1", "timeout": "15"})
    assert resp.status_code == 200, resp.text
    assert resp.json["status"] == "applied" and spool.status(resp.json["op"]) == "applied"
    assert engine.refreshes > before  # this worker's reader sees the write
    resp = client.simulate_delete("/documents/w1", headers=AUTH, params={"wait": "true"})
    assert resp.status_code == 200 and resp.json["status"] == "applied"
    op = client.simulate_get(f"/operations/{resp.json['op']}")
    assert op.status_code == 200 and op.json == {"op": resp.json["op"], "status": "applied"}


def test_wait_times_out_with_202_when_nothing_applies(client, spool):
    started = time.monotonic()
    resp = client.simulate_post("/documents", json=[{"id": "x", "title": "t", "body": "b"}], headers=AUTH,
                                params={"wait": "1", "timeout": "0.2"})
    assert resp.status_code == 202 and resp.json["status"] == "accepted"
    assert 0.2 <= time.monotonic() - started < 5
    assert client.simulate_get(f"/operations/{resp.json['op']}").json["status"] == "pending"


def test_wait_reports_a_failed_write_with_422(client, spool, tmp_path):
    def prepare(article):
        raise RuntimeError("analysis exploded")

    applier = Applier(tmp_path / "index", spool, prepare=prepare)
    applier.start_thread(interval=0.05)
    try:
        resp = client.simulate_put("/documents/x", json={"title": "t", "body": "b"}, headers=AUTH,
                                   params={"wait": "1", "timeout": "15"})
    finally:
        applier.stop(timeout=10)
    body = assert_error(resp, 422)
    assert "analysis exploded" in body["description"] and body["op"]
    op = client.simulate_get(f"/operations/{body['op']}").json
    assert op["status"] == "failed" and "analysis exploded" in op["reason"]


@pytest.mark.parametrize("params", [{"wait": "2"}, {"wait": "1", "timeout": "21"}, {"wait": "1", "timeout": "nan"},
                                    {"wait": "1", "timeout": "-1"}, {"timeout": "abc"}])
def test_bad_wait_parameters_are_400_and_enqueue_nothing(client, spool, params):
    assert_error(client.simulate_delete("/documents/x", headers=AUTH, params=params), 400)
    assert spool.pending_ops() == []


def test_unknown_operation_is_404(client):
    assert_error(client.simulate_get("/operations/00000000000000000001-deadbeef"), 404)
    assert_error(client.simulate_get("/operations/..%2F..%2Fetc"), 404)


# -- /health, /metrics, /openapi.json ---------------------------------------------------
def test_health_ok(client, spool):
    spool.delete("x")
    resp = client.simulate_get("/health")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "documents": 2, "index_version": "gen-1:3", "pending_writes": 1,
                         "failed_writes": 0, "oldest_pending_seconds": resp.json["oldest_pending_seconds"]}
    assert 0 <= resp.json["oldest_pending_seconds"] < 60


def test_health_degraded(client, engine, spool):
    old = f"{(time.time_ns() - 3600 * 10**9):020d}-deadbeef"
    (spool.pending / f"{old}.json").write_text('{"actions": []}')
    resp = client.simulate_get("/health")
    assert resp.status_code == 200 and resp.json["status"] == "degraded"  # writes stuck, reads fine
    engine.fail = IndexUnavailable("gone")
    resp = client.simulate_get("/health")
    assert resp.status_code == 503
    assert resp.json["status"] == "degraded" and resp.json["documents"] is None
    assert resp.json["index_version"] is None and resp.json["pending_writes"] == 1


_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? [-+0-9.eInf]+$')


def test_metrics_count_requests_by_route_template_and_status(client):
    client.simulate_get("/search", query_string="q=x")
    client.simulate_get("/search", query_string="page=0")
    client.simulate_get("/documents/" + "x" * 50)
    client.simulate_get("/no/such/path/12345")
    resp = client.simulate_get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = resp.text
    assert 'vnsearch_http_requests_total{route="/search",method="GET",status="200"} 1' in text
    assert 'vnsearch_http_requests_total{route="/search",method="GET",status="400"} 1' in text
    assert 'route="/documents/{doc_id:path}",method="GET",status="404"} 1' in text
    assert 'route="unmatched",method="GET",status="404"} 1' in text
    assert "x" * 50 not in text and "12345" not in text  # raw paths never become labels
    assert 'vnsearch_http_request_duration_seconds_count{route="/search"} 2' in text
    assert 'vnsearch_http_request_duration_seconds_bucket{route="/search",le="+Inf"} 2' in text
    assert "vnsearch_spool_pending_writes 0" in text
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or _SAMPLE.match(line), line


def test_metrics_are_thread_safe():
    from search.api.metrics import Metrics

    m = Metrics()

    def work():
        for _ in range(2000):
            m.observe("/search", "GET", 200, 0.003)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.count("/search", "GET", 200) == 16000
    assert 'vnsearch_http_request_duration_seconds_bucket{route="/search",le="0.005"} 16000' in m.render()


def test_openapi_is_served(client):
    resp = client.simulate_get("/openapi.json")
    assert resp.status_code == 200 and resp.json["openapi"].startswith("3.0")
    assert "/documents/{id}" in resp.json["paths"]


def test_errors_are_json_whatever_the_client_accepts(client):
    for accept in ("application/xml", "text/html", "*/*", "garbage;;;"):
        assert_error(client.simulate_get("/search", query_string="page=x", headers={"Accept": accept}), 400)
        assert_error(client.simulate_get("/nowhere", headers={"Accept": accept}), 404)
    assert_error(client.simulate_post("/search"), 405)


# -- nothing a client sends gives a 500 -------------------------------------------------
MALFORMED_QUERIES = [
    "q=%ff%fe%fd", "q=%", "q=%zz", "q=%e1%bb", "q=%00%01%02", "q=" + "%e1%bb%91" * 600, "q=" + "x" * 100_000,
    "q=a&q=b&q=c", "category=" + "&category=".join("c" * 10 for _ in range(50)), "page=" + "9" * 100,
    "per_page=-0", "page=1e3", "page= 1", "page=0x10", "date_from=9999-99-99", "date_from=0000-01-01",
    "date_to=2014-02-30", "sort=" + "x" * 10_000, "highlight=%ff", "&&&&==&=", "=x", "q", "q=\u0000".encode(
        "utf-8").decode("latin-1"), "limit=%ff", "wait=1&timeout=1e309", "timeout=inf", "x=" + "%80" * 1000,
]
MALFORMED_BODIES = [
    b"", b"null", b"true", b"1", b'"s"', b"{}", b"[]", b"[null]", b"[[]]", b"{" * 50_000, b"[" * 50_000, b'{"a":' * 1500 + b"1" + b"}" * 1500,
    b'{"title": {"a": [1, {"b": null}]}, "body": []}', b'{"title": "t", "body": "b", "date": {"y": 1}}',
    b'{"title": "t", "body": "b", "date": "99999-01-01"}', b'{"title": "t", "body": "b", "date": "9999-12-31T23:59:59-23:59"}',
    b'{"title": "t", "body": "b", "category": "' + b"c" * 300 + b'"}', b'{"title":"t","body":"b","x":Infinity}',
    b'\xef\xbb\xbf\xef\xbb\xbf{}', b"\x00\x01\x02", "{\"title\": \"t\ud800\"}".encode("utf-8", "surrogatepass"),
    b'{"title": "t", "body": "b", "\\udc00": 1}', b'{"id": 5, "title": "t", "body": "b"}',
    b"\n".join([b'{"id": "a", "title": "t", "body": "b"}', b"\xff"]),
]


def test_malformed_input_never_gives_a_server_error(client):
    statuses = set()
    for qs in MALFORMED_QUERIES:
        for path in ("/search", "/suggest", "/health", "/documents/x", "/operations/x"):
            statuses.add(client.simulate_get(path, query_string=qs).status_code)
        statuses.add(client.simulate_delete("/documents/x", query_string=qs, headers=AUTH).status_code)
    for path in ("/documents/%ff%fe", "/documents/%00", "/documents/" + "%e1%bb%91" * 300, "/documents/..",
                 "/documents//", "/documents/a/../b", "/operations/%ff", "/search/", "/%ff", "/documents%00"):
        statuses.add(client.simulate_get(path).status_code)
        statuses.add(client.simulate_delete(path, headers=AUTH).status_code)
    for body in MALFORMED_BODIES:
        for ctype in ("application/json", "application/x-ndjson", "application/json; charset=utf-16",
                      "multipart/form-data; boundary=x"):
            headers = {**AUTH, "Content-Type": ctype}
            statuses.add(client.simulate_put("/documents/x", body=body, headers=headers).status_code)
            statuses.add(client.simulate_post("/documents", body=body, headers=headers).status_code)
    # (A non-numeric Content-Length never reaches the app: gunicorn answers 400 itself.)
    for headers in ({"Content-Length": "9" * 40},
                    {"Authorization": "Bearer " + "x" * 10_000}, {"Authorization": "Bearer \x00\xff"},
                    {"Content-Type": "\x00;;;=="}):
        statuses.add(client.simulate_put("/documents/x", body=b'{"title":"t","body":"b"}',
                                         headers={**AUTH, **JSON, **headers}).status_code)
    assert statuses and all(s < 500 for s in statuses), sorted(statuses)
    assert {400, 404, 413, 415} <= statuses


def test_fuzzed_query_strings_and_bodies_never_give_a_server_error(client):
    from hypothesis import HealthCheck, given, settings as hsettings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
            st.sampled_from(["id", "title", "body", "date", "category", "extras", "url", "x"]) | st.text(max_size=5),
            kids, max_size=6),
        max_leaves=20)

    @hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(qs=st.text(max_size=200), raw=st.binary(max_size=200), value=json_values)
    def check(qs, raw, value):
        for path in ("/search", "/suggest"):
            assert client.simulate_get(path, query_string=qs.lstrip("?")).status_code < 500
        assert client.simulate_put("/documents/x", body=raw, headers={**AUTH, **JSON}).status_code < 500
        assert client.simulate_put("/documents/x", json=value, headers=AUTH).status_code < 500
        assert client.simulate_post("/documents", json=[value], headers=AUTH).status_code < 500

    check()


# -- gunicorn entry point and config ----------------------------------------------------------
def test_wsgi_module_and_gunicorn_config(tmp_path):
    import os
    import runpy
    import subprocess
    import sys

    env = {**os.environ, "VNSEARCH_INDEX_PATH": str(tmp_path / "index"), "VNSEARCH_API_TOKEN": "t",
           "VNSEARCH_INDEX_SPOOL": str(tmp_path / "spool"), "VNSEARCH_BIND": "127.0.0.1:9999",
           "VNSEARCH_WORKERS": "3"}
    script = """if True:
        import json, time, falcon.testing
        from search.api import wsgi
        assert not wsgi.application.vnsearch.engines.opened  # nothing heavy at import
        applier = wsgi.start_background()
        assert wsgi.start_background() is applier
        client = falcon.testing.TestClient(wsgi.application)
        r = client.simulate_put("/documents/x", json={"title": "Tin", "body": "b"},
                                headers={"Authorization": "Bearer t"}, params={"wait": "1", "timeout": "15"})
        wsgi.stop_background(10)
        print(json.dumps([r.status_code, r.json["status"]]))
    """
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [200, "applied"]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        conf = runpy.run_path(str(Path(__file__).parents[3] / "config" / "gunicorn.conf.py"))
    finally:
        for k, value in old.items():
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value
    assert (conf["bind"], conf["workers"], conf["worker_class"], conf["threads"]) == ("127.0.0.1:9999", 3, "gthread", 4)
    assert conf["preload_app"] is False and conf["max_requests"] == 200000 and conf["accesslog"] is None
    assert callable(conf["post_fork"]) and callable(conf["worker_exit"])
