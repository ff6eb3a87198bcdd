"""Stored (and reflected) XSS: documents carrying <script>, on* attributes and javascript:
URLs (`conftest.HOSTILE`, indexed with the real indexer) come out inert, in the API's
title_html/snippet (escaped text plus <mark> only) and on the search page (no markup but
our own: parsed with html.parser, every tag, attribute and link checked)."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest

from tests.reliability.conftest import HOSTILE, XSS_WORD, requires_corpus

pytestmark = requires_corpus

HOSTILE_IDS = {d["id"] for d in HOSTILE}
_TAG = re.compile(r"<[^>]*>?")
# Every element the page templates use (search/page/templates), and <mark> for highlights.
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "script", "body", "a", "header", "div", "main",
    "footer", "p", "form", "label", "input", "button", "span", "section", "h1", "h2", "h3",
    "ul", "ol", "li", "nav", "aside", "details", "summary", "strong", "time", "mark", "em", "small",
}
URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "background", "xlink:href"}
_SCHEME_JUNK = re.compile(r"[\x00-\x20\x7f]+")


def _q(text: str) -> str:
    return quote(text, safe="")


# -- API -------------------------------------------------------------------------------------
def assert_only_marks(fragment: str, where: str) -> None:
    tags = _TAG.findall(fragment)
    assert all(t in ("<mark>", "</mark>") for t in tags), (where, tags, fragment)
    bare = fragment.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare, (where, fragment)
    # Escaped text: unescaping it once gives text; it never holds markup that was decoded twice.
    assert "&lt;" not in html.unescape(bare) or "&amp;lt;" in bare, (where, fragment)


@pytest.mark.parametrize("q", [XSS_WORD, "script", "alert", "onerror", "javascript", "svg onload",
                               "document cookie", "mark", "iframe srcdoc"])
@pytest.mark.parametrize("highlight", ["true", "false"])
def test_api_snippets_contain_no_markup_but_mark(live_server, q, highlight) -> None:
    r = live_server.get(f"/search?q={_q(q)}&per_page=50&highlight={highlight}")
    assert r.status == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    hits = body["hits"]
    if q == XSS_WORD:
        assert HOSTILE_IDS <= {h["id"] for h in hits}
    for hit in hits:
        assert_only_marks(hit["title_html"], f"{hit['id']} title_html")
        assert_only_marks(hit["snippet"], f"{hit['id']} snippet")
        if highlight == "false":
            assert "<mark>" not in hit["title_html"] + hit["snippet"]
    for name, values in body["facets"].items():  # facet values are JSON text, not HTML
        assert all(isinstance(v["value"], str) for v in values)


def test_api_stores_the_payload_as_text(live_server) -> None:
    """The API returns the stored text as it is (JSON, never HTML); escaping is the
    renderer's job: title_html is the escaped title."""
    doc = HOSTILE[0]
    r = live_server.get("/documents/" + _q(doc["id"]))
    assert r.status == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["title"] == doc["title"]
    hit = next(h for h in live_server.get(f"/search?q={XSS_WORD}&per_page=50").json()["hits"]
               if h["id"] == doc["id"])
    assert html.unescape(hit["title_html"].replace("<mark>", "").replace("</mark>", "")) == hit["title"]


# -- the page ----------------------------------------------------------------------------------
class PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.links: list[str] = []
        self._in: list[str] = []
        self.script_text = ""
        self.text = ""  # all character data, entities decoded: what a reader sees

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        if tag not in ("meta", "link", "input", "br", "img"):
            self._in.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data):
        self.text += data
        if self._in and self._in[-1] in ("script", "style"):
            self.script_text += data

    def _check(self, tag, attrs):
        attrs = [(k.lower(), v) for k, v in attrs]
        if tag not in PAGE_TAGS:
            self.problems.append(f"unexpected element <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}={value!r} on <{tag}>")
            if name in ("style", "srcdoc"):
                self.problems.append(f"{name} attribute on <{tag}>")
            if name in URL_ATTRS and value is not None:
                scheme = _SCHEME_JUNK.sub("", value).lower().split(":", 1)
                if len(scheme) == 2 and scheme[0] in ("javascript", "data", "vbscript", "livescript"):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
                if tag == "a" and name == "href":
                    self.links.append(value)
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "link" and dict(attrs).get("rel") == "stylesheet":
            self.stylesheets.append(dict(attrs).get("href") or "")
        if tag == "base":
            self.problems.append("<base> element")


def audit_page(server, target: str, expect: tuple[int, ...] = (200,)) -> PageAudit:
    r = server.get(target)
    assert r.status in expect, (target, r.status, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert r.headers.get("x-content-type-options") == "nosniff"
    audit = PageAudit()
    audit.feed(r.text)
    audit.close()
    assert not audit.problems, (target, audit.problems)
    # Exactly our static script, loaded from our origin; no inline script or style at all.
    assert [s.get("src", "").split("?")[0] for s in audit.scripts] == ["/static/suggest.js"], audit.scripts
    assert audit.script_text.strip() == ""
    assert [s.split("?")[0] for s in audit.stylesheets] == ["/static/search.css"]
    for href in audit.links:
        parts = urlsplit(href)
        ok = (parts.scheme in ("http", "https") and parts.netloc) or \
             (not parts.scheme and not parts.netloc and (href.startswith(("/", "?", "#")) or href == ""))
        assert ok, f"link target {href!r}"
        assert not href.startswith("//")
    return audit


def test_page_with_hostile_results_has_no_executable_markup(live_server) -> None:
    audit = audit_page(live_server, f"/?q={XSS_WORD}")
    # The hostile documents are really on the page, their markup shown as text, their
    # links neutralised.
    for visible in ("<script>alert('t')</script> Tin nóng Hà Nội", '"><svg onload=alert(1)>',
                    "Mã độc trong id", "Đường dẫn lạ", "Liên kết ngoài"):
        assert visible in audit.text, visible
    assert any(h.startswith("/documents/") for h in audit.links)
    assert not any("evil" in h for h in audit.links)


@pytest.mark.parametrize("target", [
    "/?q=" + _q("<script>alert(1)</script>"),
    "/?q=" + _q('"><svg onload=alert(1)>'),
    "/?q=" + _q("javascript:alert(1)"),
    "/?q=" + _q("' onmouseover='alert(1)"),
    "/?q=x&category=" + _q("<img src=x onerror=alert(1)>"),
    "/?q=x&category=" + _q("<b onmouseover=alert(1)>Thời sự</b>"),
    "/?category=" + _q("<b onmouseover=alert(1)>Thời sự</b>"),
    "/?q=" + _q(XSS_WORD) + "&sort=" + _q("<script>"),
    "/?q=" + _q(XSS_WORD) + "&page=" + _q("<svg/onload=alert(1)>"),
    "/?q=" + _q(XSS_WORD) + "&date_from=" + _q("\"><script>alert(1)</script>"),
    "/?q=" + _q(XSS_WORD + " onerror"),
    "/?q=" + _q(XSS_WORD) + "&category=" + _q("Công nghệ"),
])
def test_reflected_and_stored_payloads_in_page_urls_stay_inert(live_server, target) -> None:
    audit_page(live_server, target, expect=(200, 400))


def test_blank_page_and_suggest_are_inert(live_server) -> None:
    audit_page(live_server, "/")
    r = live_server.get("/suggest?q=" + _q("<script>"))
    assert r.status == 200 and r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("page", [
    '<a href="javascript:alert(1)">x</a>', '<a href=" JaVa\tScript:alert(1)">x</a>',
    '<img src=x onerror=alert(1)>', '<div onmouseover="x">', '<script>alert(1)</script>',
    '<iframe srcdoc="x"></iframe>', '<svg onload=alert(1)>', '<a href="data:text/html,x">x</a>',
    '<p style="background:url(javascript:x)">', '<base href="//evil/">',
])
def test_the_audit_itself_catches_executable_markup(page) -> None:
    audit = PageAudit()
    audit.feed(page)
    audit.close()
    assert audit.problems or audit.scripts
