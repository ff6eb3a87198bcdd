"""End to end: the search page in headless Chromium over a real index and the real Engine.

The browser is Debian's (`apt-get install chromium`), driven by Playwright for Python with
`executable_path`: Playwright's own browser download is not used. Browser tests (marked
`browser`) skip when /usr/bin/chromium or the playwright package is missing; the
TestClient test at the top still runs the page over the real engine.

Screenshots go to a temporary directory; set VNSEARCH_SCREENSHOTS=docs/screenshots to
refresh the committed ones.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon
import falcon.testing
import pytest

from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from search.page import register

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
DANTRI = Path("/work/shared/data/unc-dantri-news/corpus.jsonl.gz")
SEED = Path("/work/shared/seeds/portal-article-an-giang-2014.txt")
SEED_TITLE = ("Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh "
              "trở thành hoạt động thường xuyên")
SCRIPT_TITLE = "Thử nghiệm <script>alert(1)</script> an toàn"
DANTRI_EVERY = 13  # ~205 of 2,653 articles, every category

# --- a small real index -----------------------------------------------------------------------

def _articles() -> list[Article]:
    out = []
    with gzip.open(DANTRI, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % DANTRI_EVERY == 0:
                d = json.loads(line)
                out.append(Article(
                    id=d["id"], title=d["title"] or "", body=d["body"] or "",
                    date=dt.datetime.fromisoformat(d["date"]) if d.get("date") else None,
                    categories=[d["category"]] if d.get("category") else [],
                    url=d.get("url") or "", source="dantri"))
    text = SEED.read_text(encoding="utf-8")
    out.append(Article(id="seed-an-giang-2014", title=SEED_TITLE, body=text[text.index("(TGAG)"):],
                       date=dt.datetime(2014, 12, 30), categories=["Xây dựng Đảng"],
                       author="Thành Nhân", url="http://www.angiang.org.vn/seed"))
    out.append(Article(id="xss", title=SCRIPT_TITLE, date=dt.datetime(2021, 5, 1),
                       body="Nội dung có thẻ <script>alert(1)</script> và <img src=x onerror=alert(2)>.",
                       categories=["Công nghệ"], url="javascript:alert(1)"))
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not DANTRI.exists() or not SEED.exists():
        pytest.skip(f"needs the shared corpus {DANTRI} and seed {SEED}")
    from search.engine import Engine

    index = tmp_path_factory.mktemp("page") / "index"
    stats = index_articles(_articles(), index, BuildOptions(workers=1, progress="quiet"))
    assert stats.rejected == 0
    eng = Engine(index)
    yield eng
    eng.close()


def test_page_over_the_real_engine(engine: Any) -> None:
    """No browser needed: the real engine's HTML goes through the page as intended."""
    app = falcon.App()
    register(app, engine)
    c = falcon.testing.TestClient(app)
    r = c.simulate_get("/", query_string="q=huyen+uy+an+phu")
    assert r.status_code == 200
    assert "<mark>Huyện ủy An Phú</mark> đưa việc học tập" in r.text
    assert 'href="http://www.angiang.org.vn/seed"' in r.text
    r = c.simulate_get("/", query_string="q=script")
    assert "Thử nghiệm &lt;<mark>script</mark>&gt;alert(1)" in r.text
    assert "<script>alert" not in r.text and "<img" not in r.text
    assert 'href="/documents/xss"' in r.text and "javascript:" not in r.text
    assert "Xây dựng Đảng" in c.simulate_get("/").text  # browse by category, from the real facets
    r = c.simulate_get("/", query_string="q=a&page=101")  # past the engine's depth limit
    assert r.status_code == 400 and "Trang này nằm quá xa" in r.text


# --- a real HTTP server and browser --------------------------------------------------------------

class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Suggest:
    """Stands in for the JSON API's /suggest (same body) so autocomplete can be driven."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"suggestions": self.engine.suggest(req.get_param("q") or "", 8)}


@pytest.fixture(scope="module")
def server(engine: Any) -> Iterator[str]:
    app = falcon.App()
    register(app, engine)
    app.add_route("/suggest", _Suggest(engine))
    httpd = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def dialogs() -> list[str]:
    return []


def _context(browser: Any, dialogs: list[str], **options: Any) -> Any:
    ctx = browser.new_context(locale="vi-VN", **options)
    # No network here: article links to other sites get a stub page instead.
    ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
              lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                          body="<!doctype html><title>Bài viết</title><p>bài gốc</p>"))

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    ctx.on("dialog", on_dialog)
    return ctx


@pytest.fixture
def page(browser: Any, dialogs: list[str]) -> Iterator[Any]:
    ctx = _context(browser, dialogs, viewport={"width": 1280, "height": 900})
    yield ctx.new_page()
    ctx.close()


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _search(page: Any, text: str) -> None:
    box = page.locator("#q")
    box.fill("")
    box.press_sequentially(text)
    with page.expect_navigation():
        box.press("Enter")


@pytest.mark.browser
def test_search_facet_page_and_open(page: Any, server: str) -> None:
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == "vi"

    _search(page, "huyen uy an phu")  # typed without diacritics
    assert _query(page.url) == {"q": ["huyen uy an phu"]}
    first = page.locator("ol.hits > li").first
    assert first.locator("h3 a mark").first.inner_text() == "Huyện ủy An Phú"
    assert first.locator("h3 a").get_attribute("href") == "http://www.angiang.org.vn/seed"
    assert first.locator(".hit-snippet mark").count() >= 1
    assert first.locator("time").inner_text() == "30/12/2014"

    _search(page, "hoc sinh")
    facet = page.locator("#filters a.facet", has_text="Giáo dục")
    count = int(re.sub(r"\D", "", facet.locator(".facet-count").inner_text()))
    assert count > 10, "the test index needs more than one page in this category"
    with page.expect_navigation():
        facet.click()
    assert _query(page.url) == {"q": ["hoc sinh"], "category": ["Giáo dục"]}
    assert page.locator("#filters a.facet.selected", has_text="Giáo dục").count() == 1
    assert page.locator("#filters a.facet:not(.selected)", has_text="Khoa học").count() == 1
    assert all("Giáo dục" in t for t in page.locator(".hit-cat").all_inner_texts())

    with page.expect_navigation():
        page.locator(".pager a[rel=next]").click()
    assert _query(page.url) == {"q": ["hoc sinh"], "category": ["Giáo dục"], "page": ["2"]}
    assert page.locator(".pager a[aria-current=page]").inner_text().endswith("2")
    assert page.locator("#q").input_value() == "hoc sinh"
    assert page.locator("ol.hits").get_attribute("start") == "11"
    page_two = page.url

    link = page.locator("ol.hits > li h3 a").first
    href = link.get_attribute("href")
    assert href and href.startswith("https://dantri.com.vn/")
    with page.expect_navigation():
        link.click()
    assert page.url == href

    page.go_back()  # the URL is the whole state: back is exactly where we were
    assert page.url == page_two
    assert page.locator(".pager a[aria-current=page]").inner_text().endswith("2")


@pytest.mark.browser
def test_script_in_a_document_is_shown_as_text(page: Any, server: str, dialogs: list[str]) -> None:
    page.goto(server + "/")
    _search(page, "thu nghiem script alert")
    hit = page.locator("ol.hits > li", has_text="Thử nghiệm").first
    assert hit.locator("h3").inner_text() == SCRIPT_TITLE  # the tag is visible text
    assert hit.locator("h3 a").get_attribute("href") == "/documents/xss"  # not javascript:
    assert "<script>alert(1)</script>" in hit.locator(".hit-snippet").inner_text()
    assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0
    page.wait_for_timeout(300)
    assert dialogs == []


@pytest.mark.browser
def test_autocomplete_with_the_keyboard(page: Any, server: str) -> None:
    page.goto(server + "/")
    box = page.locator("#q")
    assert box.get_attribute("role") == "combobox"
    box.press_sequentially("huyen", delay=30)
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert page.locator("#q-suggestions").get_attribute("role") == "listbox"
    texts = options.all_inner_texts()
    assert len(texts) >= 2 and "huyện ủy" in texts

    box.press("ArrowDown")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.nth(0).get_attribute("id")
    box.press("Escape")
    assert page.locator("#q-suggestions").is_hidden()
    assert box.get_attribute("aria-expanded") == "false" and box.input_value() == "huyen"

    box.press("ArrowDown")  # opens again on the first option
    box.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    box.press("ArrowUp")  # back in the text, nothing highlighted
    assert box.get_attribute("aria-activedescendant") is None
    box.press("ArrowUp")  # wraps to the last
    chosen = options.last.inner_text()
    with page.expect_navigation():
        box.press("Enter")
    assert _query(page.url) == {"q": [chosen]}
    assert box.input_value() == chosen


@pytest.mark.browser
def test_everything_works_without_javascript(browser: Any, server: str, dialogs: list[str]) -> None:
    ctx = _context(browser, dialogs, java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(server + "/")
    _search(page, "viet nam")
    assert page.locator("ol.hits > li").count() == 10
    assert page.locator("#q").get_attribute("role") is None  # not enhanced
    with page.expect_navigation():
        page.locator("a", has_text="Mới nhất").click()
    with page.expect_navigation():
        page.locator("#filters a.facet", has_text="2021").click()
    with page.expect_navigation():
        page.locator(".pager a[rel=next]").click()
    assert _query(page.url) == {"q": ["viet nam"], "year": ["2021"], "sort": ["newest"], "page": ["2"]}
    page.locator(".date-range summary").click()
    page.locator("#date_from").fill("2021-04-01")
    with page.expect_navigation():
        page.locator(".date-range button").click()
    assert _query(page.url) == {"q": ["viet nam"], "year": ["2021"], "date_from": ["2021-04-01"],
                                "sort": ["newest"]}  # the blank date_to was dropped by a redirect
    assert all(t >= "2021-04-01" for t in page.locator(".hit time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"))
    ctx.close()


@pytest.mark.browser
@pytest.mark.parametrize("name, width, height", [
    ("desktop", 1280, 900), ("phone", 390, 844), ("narrow", 360, 740)])
def test_layout_fits_and_screenshots(browser: Any, server: str, dialogs: list[str], tmp_path: Path,
                                     name: str, width: int, height: int) -> None:
    ctx = _context(browser, dialogs, viewport={"width": width, "height": height},
                   device_scale_factor=1, is_mobile=width < 600, has_touch=width < 600)
    page = ctx.new_page()
    page.goto(server + "/?q=hoc+sinh&category=Gi%C3%A1o+d%E1%BB%A5c")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    facets_beside = page.evaluate(
        "document.querySelector('#filters').getBoundingClientRect().left"
        " > document.querySelector('.results').getBoundingClientRect().right")
    assert facets_beside == (width >= 768)
    page.keyboard.press("Tab")  # the skip link shows itself on focus
    skip = page.locator(".skip-link")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.bounding_box()["y"] >= 0
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus
    page.evaluate("document.activeElement.blur()")
    out = Path(os.environ.get("VNSEARCH_SCREENSHOTS") or tmp_path)
    if name != "narrow":
        out.mkdir(parents=True, exist_ok=True)
        shot = out / f"search-{name}.png"
        page.screenshot(path=str(shot), full_page=name == "desktop")  # desktop: down to the pager
        assert shot.stat().st_size > 10_000
    ctx.close()
