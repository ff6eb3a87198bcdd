"""The search page on a bare falcon.App with a fake engine: escaping, URL state, states, errors."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import falcon
import falcon.testing
import pytest

from search.engine import FacetValue, Hit, SearchRequest, SearchResult
from search.errors import IndexUnavailable, InvalidRequest
from search.page import register
from search.page.filters import article_href, marked, strip_accents, vn_date, vn_number
from search.page.state import PageState, pages_around, parse_state

# --- a fake engine --------------------------------------------------------------------------


def hit(n: int = 1, **over: Any) -> Hit:
    fields: dict[str, Any] = dict(
        id=f"doc-{n}", title=f"Tiêu đề {n}", title_html=f"Tiêu đề <mark>{n}</mark>",
        snippet=f"đoạn <mark>trích</mark> {n}", url=f"https://portal.example.vn/bai/{n}",
        date="2014-12-30", category=["Xây dựng Đảng"], author="Thành Nhân", score=1.0)
    fields.update(over)
    return Hit(**fields)


FACETS = {
    "category": [FacetValue("Xây dựng Đảng", 12), FacetValue("Giáo dục", 7), FacetValue("Thể thao", 3)],
    "year": [FacetValue("2021", 15), FacetValue("2014", 7)],
}


@dataclass
class FakeEngine:
    """Answers every search with `result(req)`; remembers the requests."""

    total: int = 22
    hits: list[Hit] | None = None
    suggestion: str | None = None
    facets: dict[str, list[FacetValue]] = field(default_factory=lambda: FACETS)
    raises: Exception | None = None
    requests: list[SearchRequest] = field(default_factory=list)

    def search(self, req: SearchRequest) -> SearchResult:
        self.requests.append(req)
        if self.raises is not None:
            raise self.raises
        if not req.q:  # the "browse by category" query over everything
            return SearchResult("", 300, 1, req.per_page, 1.0, [], self.facets, None)
        hits = self.hits if self.hits is not None else [
            hit(n) for n in range((req.page - 1) * req.per_page + 1,
                                  min(self.total, req.page * req.per_page) + 1)]
        return SearchResult(req.q, self.total, req.page, req.per_page, 31.4, hits,
                            self.facets if self.total else {"category": [], "year": []},
                            self.suggestion)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        return []


def client(engine: Any) -> falcon.testing.TestClient:
    app = falcon.App()
    register(app, engine)
    return falcon.testing.TestClient(app)


def get(engine: Any, query: str = "", **kw: Any) -> falcon.testing.Result:
    return client(engine).simulate_get("/", query_string=query, **kw)


class Links(HTMLParser):
    """Collects <a href> (with their text), <form>s, <input>s and <script>s of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.attrs_seen: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.attrs_seen += [name for name, _ in attrs]
        if tag == "a" and "href" in a:
            self._href, self._text = a["href"], []
        elif tag == "form":
            self.forms.append(a)
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "script":
            self.scripts.append(a)

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def parse(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


def params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def link(page: Links, text: str) -> str:
    found = [h for h, t in page.links if text in t]
    assert found, f"no link with text {text!r} in {page.links}"
    return found[0]


# --- the plain form and the landing page ----------------------------------------------------

def test_landing_page_is_a_plain_get_form_in_vietnamese():
    r = get(FakeEngine())
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in r.text
    page = parse(r.text)
    form = page.forms[0]
    assert form["method"] == "get" and form["action"] == "/" and form["role"] == "search"
    q = next(i for i in page.inputs if i.get("name") == "q")
    assert q["id"] == "q" and q["type"] == "search"
    assert '<label class="search-label" for="q">' in r.text
    assert '<label for="date_from">Từ ngày</label>' in r.text
    assert "<main" in r.text and "<header" in r.text and "<footer" in r.text
    assert "Duyệt theo chuyên mục" in r.text
    assert ("/?category=X%C3%A2y+d%E1%BB%B1ng+%C4%90%E1%BA%A3ng", "Xây dựng Đảng 12") in page.links


def test_no_inline_script_or_style_and_security_headers():
    r = get(FakeEngine(), "q=huyen+uy")
    page = parse(r.text)
    assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)
    assert "style" not in page.attrs_seen
    assert not [a for a in page.attrs_seen if a.startswith("on")]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_head_is_answered():
    r = client(FakeEngine()).simulate_head("/", query_string="q=abc")
    assert r.status_code == 200


# --- escaping -------------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def test_hostile_title_and_snippet_from_a_misbehaving_engine_are_escaped():
    engine = FakeEngine(total=1, hits=[hit(
        1, title=HOSTILE, title_html=f"<mark>x</mark>{HOSTILE}", snippet=f"a {IMG} <mark>b</mark>",
        author=HOSTILE, category=[IMG])])
    r = get(engine, "q=x")
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    # not trusted at all: the engine's own <mark> is shown as text too
    assert "&lt;mark&gt;x&lt;/mark&gt;" in r.text


def test_engine_escaped_html_keeps_only_its_marks():
    title_html = "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;"
    engine = FakeEngine(total=1, hits=[hit(1, title=HOSTILE, title_html=title_html,
                                           snippet="x &lt;img src=x onerror=alert(2)&gt; <mark>y</mark>")])
    r = get(engine, "q=alert")
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in r.text
    assert "x &lt;img src=x onerror=alert(2)&gt; <mark>y</mark>" in r.text
    assert "<script>alert" not in r.text and "<img" not in r.text


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
    "//evil.example/x", "/\\evil.example/x", "https:evil", "http://[broken", "", None,
    "&#106;avascript:alert(1)",
])
def test_unsafe_article_urls_fall_back_to_the_document_page(url):
    r = get(FakeEngine(total=1, hits=[hit(1, id="a b/<c>", url=url)]), "q=x")
    page = parse(r.text)
    titles = [h for h, t in page.links if t == "Tiêu đề 1"]
    assert titles == ["/documents/a%20b%2F%3Cc%3E"]
    assert "javascript:" not in r.text.lower()


@pytest.mark.parametrize("url", [
    "https://portal.example.vn/tin/1?a=1&b=2", "http://angiang.org.vn/x", "/tin-tuc/2014/bai.html",
    "HTTPS://Portal.Example.vn/x",
])
def test_safe_article_urls_are_links(url):
    r = get(FakeEngine(total=1, hits=[hit(1, url=url)]), "q=x")
    assert [h for h, t in parse(r.text).links if t == "Tiêu đề 1"] == [url]


def test_quotes_in_facets_suggestion_and_query_cannot_break_out_of_attributes():
    evil = '"><script>alert(3)</script>'
    engine = FakeEngine(suggestion=evil, facets={"category": [FacetValue(evil, 1)], "year": []})
    r = get(engine, "q=" + falcon.uri.encode_value(evil))
    assert "<script>alert" not in r.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in r.text
    page = parse(r.text)
    assert all(h.startswith(("/", "https://", "#")) for h, _ in page.links)


def test_marked_filter():
    assert marked("a <mark>b</mark> &amp; c") == "a <mark>b</mark> &amp; c"
    assert marked("<mark>a<mark>b</mark></mark>c</mark>") == "<mark>ab</mark>c"
    assert marked("<mark>open") == "<mark>open</mark>"
    assert marked('<mark onclick="x">a</mark>') == "&lt;mark onclick=&#34;x&#34;&gt;a&lt;/mark&gt;"
    assert marked("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert marked("5 > 3 &lt;tag&gt; &quot;q&quot;") == "5 &gt; 3 &lt;tag&gt; &#34;q&#34;"
    assert marked(None) == ""


def test_article_href_and_helpers():
    assert article_href("http://x.vn/a b", "1") == "http://x.vn/a%20b"
    assert article_href("mailto:a@b.vn", "1") == "/documents/1"
    assert strip_accents("Huyện ủy Đảng bộ") == "Huyen uy Dang bo"
    assert vn_number(1234567) == "1.234.567"
    assert vn_date("2014-12-30T07:42:00") == "30/12/2014" and vn_date("năm ngoái") == "năm ngoái"


# --- the URL is the whole state -------------------------------------------------------------

FULL = ("q=huyen+uy&category=X%C3%A2y+d%E1%BB%B1ng+%C4%90%E1%BA%A3ng&category=Gi%C3%A1o+d%E1%BB%A5c"
        "&year=2014&date_from=2014-03-01&date_to=2014-12-31&sort=newest&page=2")
STATE = {"q": ["huyen uy"], "category": ["Xây dựng Đảng", "Giáo dục"], "year": ["2014"],
         "date_from": ["2014-03-01"], "date_to": ["2014-12-31"], "sort": ["newest"]}


def test_year_and_dates_become_the_engine_date_range():
    engine = FakeEngine()
    get(engine, FULL)
    req = engine.requests[0]
    assert req == SearchRequest(q="huyen uy", categories=("Xây dựng Đảng", "Giáo dục"),
                                date_from=dt.date(2014, 3, 1), date_to=dt.date(2014, 12, 31),
                                sort="newest", page=2, per_page=10)
    engine = FakeEngine()
    get(engine, "q=a&year=2021")
    assert (engine.requests[0].date_from, engine.requests[0].date_to) == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))


def test_paging_links_keep_everything_but_the_page():
    page = parse(get(FakeEngine(total=45), FULL).text)
    nxt, prev = link(page, "Trang sau"), link(page, "Trang trước")
    assert params(nxt) == {**STATE, "page": ["3"]}
    assert params(prev) == STATE  # page 1 is the default: not written
    assert params(link(page, "Trang 5")) == {**STATE, "page": ["5"]}


def test_facet_and_sort_links_keep_the_state_and_go_back_to_page_one():
    page = parse(get(FakeEngine(), FULL).text)
    add = params(link(page, "Thể thao"))
    assert add == {**STATE, "category": ["Xây dựng Đảng", "Giáo dục", "Thể thao"]}
    remove = params(link(page, "Bỏ lọc chuyên mục Giáo dục"))
    assert remove == {**STATE, "category": ["Xây dựng Đảng"]}
    year = params(link(page, "2021"))  # picking a year replaces the explicit dates
    assert year == {k: v for k, v in {**STATE, "year": ["2021"]}.items() if not k.startswith("date_")}
    assert params(link(page, "Liên quan nhất")) == {k: v for k, v in STATE.items() if k != "sort"}
    clear = params(link(page, "Xóa tất cả bộ lọc"))
    assert clear == {"q": ["huyen uy"], "sort": ["newest"]}


def test_other_categories_stay_on_offer_after_picking_one():
    engine = FakeEngine()
    page = parse(get(engine, "q=a&category=Th%E1%BB%83+thao&year=2014").text)
    main, unpicked = engine.requests
    assert main.categories == ("Thể thao",)
    assert unpicked.categories == () and unpicked.date_from == main.date_from and unpicked.q == "a"
    assert params(link(page, "Giáo dục")) == {"q": ["a"], "category": ["Thể thao", "Giáo dục"],
                                              "year": ["2014"]}


def test_form_carries_the_filters_as_hidden_fields():
    page = parse(get(FakeEngine(), FULL).text)
    hidden = [(i["name"], i["value"]) for i in page.inputs if i.get("type") == "hidden"]
    assert hidden == [("category", "Xây dựng Đảng"), ("category", "Giáo dục"),
                      ("year", "2014"), ("sort", "newest")]
    dates = {i["name"]: i["value"] for i in page.inputs if i.get("type") == "date"}
    assert dates == {"date_from": "2014-03-01", "date_to": "2014-12-31"}


def test_state_round_trips_through_its_url():
    state, errors = parse_state(parse_qs(FULL))
    assert not errors
    assert parse_state(parse_qs(urlsplit(state.url(page=2)).query))[0] == state
    assert PageState().url() == "/"


def test_blank_form_fields_redirect_to_the_clean_url():
    r = get(FakeEngine(), "q=an+phu&date_from=&date_to=&year=")
    assert r.status_code == 302
    assert r.headers["location"].endswith("/?q=an+phu")


def test_pager_shows_a_window_and_stops_at_the_depth_limit():
    assert pages_around(1, 1) == []
    assert pages_around(5, 10) == [1, None, 3, 4, 5, 6, 7, None, 10]
    page = parse(get(FakeEngine(total=1_000_000), "q=a&page=100").text)
    assert not [h for h, t in page.links if "Trang sau" in t]  # 100 * 10 = max depth
    assert "Trang 100/100" in get(FakeEngine(total=1_000_000), "q=a&page=100").text


# --- result states --------------------------------------------------------------------------

def test_results_show_count_time_highlights_date_category():
    r = get(FakeEngine(total=1234), "q=huyen+uy")
    assert "Tìm thấy <strong>1.234</strong> kết quả (0,03 giây)" in r.text
    assert "Tiêu đề <mark>1</mark>" in r.text and "đoạn <mark>trích</mark> 1" in r.text
    assert '<time datetime="2014-12-30">30/12/2014</time>' in r.text
    assert '<span class="hit-cat">Xây dựng Đảng</span>' in r.text
    assert '<ol class="hits" start="1">' in r.text


def test_did_you_mean_is_a_link_with_the_same_filters():
    r = get(FakeEngine(suggestion="huyện ủy"), "q=huyen+uyy&category=Gi%C3%A1o+d%E1%BB%A5c&page=2")
    assert "Có phải bạn muốn tìm:" in r.text
    href = link(parse(r.text), "huyện ủy")
    assert params(href) == {"q": ["huyện ủy"], "category": ["Giáo dục"]}


def test_empty_result_helps():
    r = get(FakeEngine(total=0), "q=Huy%E1%BB%87n+%E1%BB%A7y+xyz&year=2014")
    assert r.status_code == 200
    assert "Không tìm thấy kết quả phù hợp với «Huyện ủy xyz»" in r.text
    page = parse(r.text)
    assert params(link(page, "Huyen uy xyz")) == {"q": ["Huyen uy xyz"], "year": ["2014"]}
    assert "Bớt từ" in r.text and "Kiểm tra chính tả" in r.text and "Thử bỏ dấu" in r.text
    assert params(link(page, "Bỏ các bộ lọc")) == {"q": ["Huyện ủy xyz"]}
    assert "Hoặc duyệt theo chuyên mục" in r.text
    assert params(link(page, "Giáo dục 7")) == {"category": ["Giáo dục"]}


def test_a_page_past_the_end_links_back_to_the_first():
    r = get(FakeEngine(total=5, hits=[]), "q=a&page=3")
    assert r.status_code == 200
    assert params(link(parse(r.text), "Về trang đầu")) == {"q": ["a"]}


# --- bad requests never become 500 ----------------------------------------------------------

@pytest.mark.parametrize("query, words", [
    ("q=a&page=abc", "Số trang"), ("q=a&page=0", "Số trang"), ("q=a&page=-1", "Số trang"),
    ("q=a&page=%D9%A3", "Số trang"), ("q=a&page=99999999999999999999", "Số trang"),
    ("q=a&year=20x4", "Năm"), ("q=a&year=99999", "Năm"),
    ("q=a&date_from=2014-13-45", "Từ ngày"), ("q=a&date_to=hôm+qua", "Đến ngày"),
    ("q=a&date_from=2015-01-01&date_to=2014-01-01", "Từ ngày"),
    ("q=a&year=2014&date_from=2016-01-01", "năm 2014"),
    ("q=a&sort=%3Cscript%3E", "sắp xếp"), ("q=" + "a" * 2100, "quá dài"),
    ("q=a&" + "&".join(f"category=c{i}" for i in range(30)), "chuyên mục"),
])
def test_bad_parameters_get_a_friendly_400_page(query, words):
    engine = FakeEngine()
    r = get(engine, query)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "Chưa thể tìm kiếm" in r.text and words in r.text
    assert "<script>" not in r.text
    assert engine.requests == []  # never reached the engine
    assert parse(r.text).forms[0]["action"] == "/"


def test_engine_refusals_are_400_with_a_vietnamese_message():
    r = get(FakeEngine(raises=InvalidRequest("page", "results deeper than 1000 are not available")), "q=a&page=99")
    assert r.status_code == 400
    assert "Trang này nằm quá xa" in r.text and "deeper" not in r.text


def test_dates_in_day_month_year_and_odd_bytes_are_accepted():
    engine = FakeEngine()
    assert get(engine, "q=a&date_from=30/12/2014").status_code == 200
    assert engine.requests[0].date_from == dt.date(2014, 12, 30)
    engine = FakeEngine()
    assert get(engine, "q=%FF%FE%00a%09b").status_code == 200
    assert engine.requests[0].q == "\ufffd\ufffd a b"  # control characters are spaces


def test_unavailable_index_is_a_503_page():
    r = get(FakeEngine(raises=IndexUnavailable("no index")), "q=a")
    assert r.status_code == 503 and r.headers["retry-after"] == "30"
    assert "tạm thời gián đoạn" in r.text

    class EngineUnavailable(RuntimeError):  # the API's lazy holder raises this one
        pass

    r = get(FakeEngine(raises=EngineUnavailable("x")), "q=a")
    assert r.status_code == 503


def test_unexpected_engine_errors_are_not_disguised_as_bad_requests():
    assert get(FakeEngine(raises=ZeroDivisionError()), "q=a").status_code == 500


def test_a_lazy_engine_factory_is_accepted():
    engine = FakeEngine()
    assert get(lambda: engine, "q=a").status_code == 200 and engine.requests


# --- static files ---------------------------------------------------------------------------

def test_static_files_are_whitelisted_typed_and_cached():
    c = client(FakeEngine())
    page = parse(c.simulate_get("/").text)
    css_url = next(h for h in re.findall(r'href="(/static/[^"]+)"', c.simulate_get("/").text))
    r = c.simulate_get(urlsplit(css_url).path, query_string=urlsplit(css_url).query)
    assert r.status_code == 200 and r.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in r.headers["cache-control"] and r.headers["x-content-type-options"] == "nosniff"
    js = c.simulate_get("/static/suggest.js")
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert js.headers["cache-control"] == "public, max-age=300"
    assert "combobox" in js.text and "innerHTML" not in js.text
    again = c.simulate_get("/static/suggest.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304 and not again.content
    for name in ("nope.js", "..%2Fresource.py", "search.css%00", "../templates/base.html"):
        assert c.simulate_get("/static/" + name).status_code == 404
    assert page.scripts[0]["src"].startswith("/static/suggest.js?v=")


def test_embed_snippet_in_the_docs_is_a_labelled_get_form():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[3] / "docs" / "embed.md"
    snippet = re.search(r"```html\n(.*?)```", doc.read_text(encoding="utf-8"), re.S).group(1)
    page = parse(snippet)
    assert page.forms == [{"action": "https://SEARCH-HOST/", "method": "get", "role": "search"}]
    q = next(i for i in page.inputs if i.get("name") == "q")
    assert f'<label for="{q["id"]}">' in snippet and not page.scripts
