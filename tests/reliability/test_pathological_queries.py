"""Pathological queries over HTTP against the real server and a ~3,000-article index: each
gets a 4xx or a bounded search, quickly; none can pin a worker."""
from __future__ import annotations

import concurrent.futures
import json
import random
import time
from urllib.parse import quote

import pytest

from tests.reliability.conftest import raw_request, request, requires_corpus

pytestmark = requires_corpus

BOUND = 2.0  # seconds, per request, measured by the client
_rng = random.Random(7)
_WORDS = ("hà nội việt nam chính phủ quốc hội kinh tế giáo dục bóng đá thời sự người dân "
          "thành phố hồ chí minh học sinh giá vàng bộ y tế").split()


def q(text: str) -> str:
    return quote(text, safe="")


def _many(n: int, sep: str = " ", fmt: str = "{}") -> str:
    return sep.join(fmt.format(_rng.choice(_WORDS)) for _ in range(n))


# (name, request target already percent-encoded)
SEARCHES: list[tuple[str, str]] = [
    ("10,000 characters", "/search?q=" + q("á" * 10_000)),
    ("10,000 characters of words", "/search?q=" + q(_many(2000))[:30_000]),
    ("500 characters of real words", "/search?q=" + q(_many(200)[:500])),
    ("2000 characters of real words", "/search?q=" + q(_many(800)[:2000])),
    ("2000 characters of ORs and phrases", "/search?q=" + q(_many(400, sep=" OR ", fmt='"{} hà"')[:2000])),
    ("1000 one-letter terms", "/search?q=" + q(" ".join("abcdefghij"[i % 10] for i in range(1000)))),
    ("2000-character token", "/search?q=" + q("nguyễn" * 333)),
    ("thousands of one-letter terms", "/search?q=" + q(" ".join("abcdefghij"[i % 10] for i in range(250)))),
    ("250 distinct numbers", "/search?q=" + q(" ".join(str(i) for i in range(100, 200)))[:1400]),
    ("star", "/search?q=*"),
    ("question mark", "/search?q=%3F"),
    ("stars", "/search?q=" + q("*" * 500)),
    ("questions", "/search?q=" + q("?" * 500)),
    ("prefix wildcard", "/search?q=" + q("v* h* n* t* c* q* k* g* b* đ*")),
    ("leading wildcard", "/search?q=" + q("*a *b *c *n *h *t")),
    ("mixed wildcards", "/search?q=" + q("h?n* *i?t n?m* ?*?*?*")),
    ("deepest page", "/search?q=" + q("hà nội") + "&page=100&per_page=10"),
    ("deepest page, newest", "/search?q=" + q("việt nam") + "&page=20&per_page=50&sort=newest"),
    ("deepest page, browse", "/search?page=20&per_page=50&sort=oldest"),
    ("past the deepest page", "/search?q=a&page=101&per_page=10"),
    ("huge page", "/search?q=a&page=999999999"),
    ("huger page", "/search?q=a&page=" + "9" * 400),
    ("negative page", "/search?q=a&page=-1"),
    ("float page", "/search?q=a&page=1e3"),
    ("unicode digit page", "/search?q=a&page=" + q("١")),
    ("huge per_page", "/search?q=a&per_page=1000000"),
    ("unbalanced quote", "/search?q=" + q('"hà nội')),
    ("only quotes", "/search?q=" + q('"' * 499)),
    ("quotes everywhere", "/search?q=" + q(_many(60, fmt='"{}')[:500])),
    ("many phrases", "/search?q=" + q(_many(40, fmt='"{} hà"')[:500])),
    ("single quotes", "/search?q=" + q("'hà nội' '''")),
    ("many ORs", "/search?q=" + q(_many(80, sep=" OR ")[:500])),
    ("many negations", "/search?q=" + q(_many(80, fmt="-{}")[:500])),
    ("only negations", "/search?q=" + q("-hà -nội -việt -nam")),
    ("operators only", "/search?q=" + q("OR AND NOT - -- + | & ( ) [ ] { } ~ ^ : \\")),
    ("nested brackets", "/search?q=" + q("(" * 250 + ")" * 250)),
    ("control characters", "/search?q=" + q("".join(chr(c) for c in range(1, 32)) + "hà nội\x7f")),
    ("format characters", "/search?q=" + q("h\u200bà n\u202eội \ufeff\u2028\u2029\u00ad")),
    ("NUL", "/search?q=%00"),
    ("NULs in words", "/search?q=h%00%C3%A0%00n%E1%BB%99i%00"),
    ("combining marks", "/search?q=" + q("a" + "\u0301" * 499)),
    ("very long token", "/search?q=" + q("a" * 500)),
    ("very long Vietnamese token", "/search?q=" + q("nguyễn" * 83)),
    ("very long number", "/search?q=" + "1" * 500),
    ("very long code", "/search?q=" + q("03-CT/TW" * 62)),
    ("url-like", "/search?q=" + q("http://" + "a." * 240)),
    ("invalid UTF-8", "/search?q=%FF%FE%FD"),
    ("truncated UTF-8", "/search?q=h%C3"),
    ("overlong UTF-8", "/search?q=%C0%AF%E0%80%AF"),
    ("lone surrogate", "/search?q=%ED%A0%80"),
    ("bad percent", "/search?q=%ZZ%%%G1"),
    ("repeated q", "/search?q=a&q=b"),
    ("many categories", "/search?q=a&" + "&".join(f"category=c{i}" for i in range(21))),
    ("20 categories", "/search?q=a&" + "&".join("category=" + q(w) for w in _WORDS[:20])),
    ("long category", "/search?category=" + "x" * 201),
    ("bad dates", "/search?q=a&date_from=9999-99-99&date_to=0000-00-00"),
    ("year zero", "/search?q=a&date_from=0000-01-01"),
    ("far dates", "/search?q=a&date_from=0001-01-01&date_to=9998-12-31"),
    ("reversed dates", "/search?q=a&date_from=2020-01-01&date_to=2000-01-01"),
    ("bad booleans", "/search?q=a&highlight=maybe&facets=%00"),
    ("everything at once", "/search?q=" + q('"*h?à -n* OR ("' + "x" * 100) + "&page=50&per_page=20"
                           "&sort=newest&category=%FF&date_from=2000-01-01&facets=1&highlight=1"),
]

OTHERS: list[tuple[str, str]] = [
    ("suggest long", "/suggest?q=" + q("a" * 101)),
    ("suggest star", "/suggest?q=*"),
    ("suggest 100 stars", "/suggest?q=" + q("*" * 100)),
    ("suggest question marks", "/suggest?q=" + q("?" * 100)),
    ("suggest single letter", "/suggest?q=a&limit=20"),
    ("suggest NUL", "/suggest?q=%00"),
    ("suggest invalid UTF-8", "/suggest?q=%FF"),
    ("suggest huge limit", "/suggest?q=h&limit=" + "9" * 50),
    ("document NUL id", "/documents/%00"),
    ("document long id", "/documents/" + "x" * 5000),
    ("document invalid UTF-8 id", "/documents/%FF%FE"),
    ("document dot segments", "/documents/../../etc/passwd"),
    ("operation junk", "/operations/" + "9" * 300),
    ("page long", "/?q=" + q("á" * 2000)),
    ("page wildcards", "/?q=" + q("* ? *a h?n*")),
    ("page deep", "/?q=" + q("hà nội") + "&page=100"),
    ("page past deep", "/?q=a&page=" + "9" * 50),
    ("page control", "/?q=%00%01%FF"),
]


def _check(port: int, name: str, target: str) -> float:
    r = request(port, "GET", target, timeout=30)
    assert r.status < 500, (name, r.status, r.text[:300])
    assert r.seconds < BOUND, f"{name}: {r.seconds:.2f}s (status {r.status})"
    if r.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(r.data)
        if r.status == 200 and target.startswith("/search"):
            assert body["total"] >= 0 and len(body["hits"]) <= body["per_page"]
        if r.status >= 400:
            assert body["title"] and body["description"]
    return r.seconds


@pytest.mark.parametrize("name, target", SEARCHES + OTHERS, ids=[n for n, _ in SEARCHES + OTHERS])
def test_pathological_request_is_answered_quickly(live_server, name, target) -> None:
    _check(live_server.port, name, target)


# date_to=9999-12-31 is the last representable day: the engine's date filter once added a
# day to it and overflowed (500); it now ends the range at time.max of that day.


@pytest.mark.parametrize("target", ["/search?q=a&date_to=9999-12-31",
                                    "/search?date_from=2000-01-01&date_to=9999-12-31"])
def test_last_representable_day_as_date_to(live_server, target) -> None:
    _check(live_server.port, "date_to=9999-12-31", target)


@pytest.mark.parametrize("raw", [
    b"GET /search?q=a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /search?q=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /search?q=h\xc3\xa0 n\xe1\xbb\x99i HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /search?q=" + b"%" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /search?q=a HTTP/1.1\r\nHost: x\r\nX-A: \x00\r\n\r\n",
], ids=["NUL", "raw invalid UTF-8", "raw UTF-8 and space", "percent storm", "NUL path", "NUL header"])
def test_raw_bytes_in_the_request_line_never_give_a_server_error(live_server, raw) -> None:
    status, _, seconds = raw_request(live_server.port, raw)
    assert status is None or status < 500, status
    assert seconds < BOUND
    assert live_server.get("/health").status == 200


def test_concurrent_pathological_queries_cannot_pin_the_workers(live_server) -> None:
    """The heaviest of the above, 24 at once on 2 workers x 4 threads, while a normal query
    is timed: it must still be answered within the bound."""
    heavy = [t for n, t in SEARCHES if n in (
        "500 characters of real words", "2000 characters of real words",
        "2000 characters of ORs and phrases", "many ORs", "many phrases", "prefix wildcard",
        "deepest page", "deepest page, newest", "deepest page, browse", "mixed wildcards",
        "quotes everywhere", "everything at once")]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(request, live_server.port, "GET", heavy[i % len(heavy)], timeout=60)
                   for i in range(24)]
        time.sleep(0.2)
        probe = request(live_server.port, "GET", "/search?q=" + q("giá vàng"), timeout=30)
        results = [f.result() for f in futures]
    assert probe.status == 200
    assert probe.seconds < 4 * BOUND, f"a normal query waited {probe.seconds:.2f}s behind heavy ones"
    assert all(r.status < 500 for r in results), [r.status for r in results]
    total = time.monotonic() - started
    assert total < 12 * BOUND, f"24 heavy queries took {total:.1f}s"
    assert live_server.get("/health").status == 200


def test_concurrent_requests_in_one_worker_share_the_engine_safely(base_index, tmp_path) -> None:
    """One process, 8 request threads, one Engine (as in a gthread worker): Whoosh readers
    share file objects, so unserialized concurrent searches read garbage (UnpicklingError,
    EOFError -> 500). Every request must succeed."""
    import threading

    import falcon.testing

    from config.settings import ApiSettings, IndexSettings, Settings
    from search.api.app import create_app

    settings = Settings(index=IndexSettings(path=base_index.path, spool=tmp_path / "spool"),
                        api=ApiSettings(token="x"))
    client = falcon.testing.TestClient(create_app(settings))
    assert client.simulate_get("/search", params={"q": "hà nội"}).status_code == 200
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(40):
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 6)))
            path, params = [("/search", {"q": words, "page": str(rng.randint(1, 5))}),
                            ("/suggest", {"q": words[:3]}), ("/", {"q": words})][i % 3]
            r = client.simulate_get(path, params=params)
            if r.status_code != 200:
                failures.append(f"{path} {params} -> {r.status_code}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
