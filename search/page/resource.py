"""Falcon resources for the portal's search page (`GET /`) and its static files.

The page is plain server-rendered HTML: the URL is the whole state, the form is a GET
form, every filter, sort and page is a link. JavaScript (suggest.js) only adds
autocomplete on top.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import falcon
import jinja2
from falcon.uri import parse_query_string

from search.errors import IndexUnavailable, InvalidRequest
from search.page import filters
from search.page.state import SORTS, PageState, has_blank_params, pages_around, parse_state

__all__ = ["SearchPage", "StaticFiles", "SECURITY_HEADERS"]

HERE = Path(__file__).resolve().parent

#: Sent with every page and static file. No inline script or style is ever needed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}

#: What the engine's InvalidRequest means for a reader, by field; anything else gets the default.
_FRIENDLY = {
    "q": "Từ khóa quá dài hoặc có quá nhiều từ. Hãy rút gọn từ khóa rồi tìm lại.",
    "page": "Trang này nằm quá xa trong danh sách kết quả. Hãy thu hẹp tìm kiếm bằng từ khóa "
            "hoặc bộ lọc thay vì lật tiếp.",
    "per_page": "Số kết quả mỗi trang không hợp lệ.",
    "categories": "Chuyên mục đã chọn không hợp lệ.",
    "date_from": "Khoảng thời gian không hợp lệ.",
    "date_to": "Khoảng thời gian không hợp lệ.",
    "sort": "Cách sắp xếp không hợp lệ.",
}
_DEFAULT_FRIENDLY = "Yêu cầu tìm kiếm chưa hợp lệ. Hãy sửa lại từ khóa hoặc bộ lọc."


class StaticFiles:
    """`GET /static/{name}` for a fixed list of files, held in memory.

    Pages link to `/static/NAME?v=HASH`; a request carrying the current hash is cached for
    a year (the hash changes with the content), any other for five minutes. ETags allow 304s.
    """

    TYPES = {
        "search.css": "text/css; charset=utf-8",
        "suggest.js": "text/javascript; charset=utf-8",
    }

    def __init__(self, directory: Path = HERE / "static") -> None:
        self._files: dict[str, tuple[bytes, str]] = {}
        for name in self.TYPES:
            body = (directory / name).read_bytes()
            self._files[name] = (body, hashlib.sha256(body).hexdigest()[:12])

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self._files[name][1]}"

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in self._files:
            raise falcon.HTTPNotFound()
        body, version = self._files[name]
        resp.set_headers(SECURITY_HEADERS)
        resp.etag = version
        immutable = req.get_param("v") == version
        resp.cache_control = ["public", "max-age=31536000", "immutable"] if immutable \
            else ["public", "max-age=300"]
        match = req.if_none_match
        if match == "*" or (match and any(tag == version for tag in match)):
            resp.status = falcon.HTTP_304  # no body, so no Content-Type either
            return
        resp.content_type = self.TYPES[name]
        resp.data = body

    on_head = on_get


def _environment(static_url: Any) -> jinja2.Environment:
    """Autoescaping everywhere; StrictUndefined so a template typo fails the tests, not a reader."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template; index data is text unless a filter below says otherwise
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        marked=filters.marked, vn_number=filters.vn_number, vn_date=filters.vn_date,
        iso_date=filters.iso_date, seconds=filters.seconds, strip_accents=filters.strip_accents,
    )
    env.globals.update(static_url=static_url, article_href=filters.article_href, SORTS=SORTS)
    return env


def _unavailable(exc: BaseException) -> bool:
    """The engine's IndexUnavailable, or the API's EngineUnavailable (matched by name, so this
    module does not depend on search.api)."""
    return isinstance(exc, IndexUnavailable) or any(
        cls.__name__ == "EngineUnavailable" for cls in type(exc).__mro__)


def category_items(state: PageState, facets: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Category facet links (each toggles its category); selected ones first, even with no count."""
    counts = {f.value: f.count for f in facets.get("category", [])}
    items = [{"label": c, "count": counts.get(c), "selected": True, "url": state.toggle_category(c)}
             for c in state.categories]
    items += [{"label": v, "count": n, "selected": False, "url": state.toggle_category(v)}
              for v, n in counts.items() if v not in state.categories]
    return items


def year_items(state: PageState, facets: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Year facet links, newest first; picking a year replaces any explicit date range."""
    counts: dict[int, int | None] = {}
    for f in facets.get("year", []):
        text = str(f.value).strip()
        if text.isascii() and text.isdigit():
            counts[int(text)] = f.count
    if state.year and state.year not in counts:
        counts[state.year] = None
    return [{"label": str(y), "count": n, "selected": y == state.year,
             "url": state.url(year=None) if y == state.year
             else state.url(year=y, date_from=None, date_to=None)}
            for y, n in sorted(counts.items(), reverse=True)]


class SearchPage:
    """`GET /`: the search form, results, facets and paging, rendered on the server."""

    def __init__(self, engine: Any, *, static: StaticFiles | None = None, per_page: int = 10,
                 max_depth: int = 1000, suggest_url: str = "/suggest") -> None:
        self._engine = engine  # an Engine, or a zero-argument callable returning one (lazy opening)
        self.per_page = per_page
        self.max_depth = max_depth  # deepest result reachable by paging: no links past it
        self.suggest_url = suggest_url
        self._env = _environment((static or StaticFiles()).url)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = parse_query_string(req.query_string, keep_blank=True, csv=False)
        state, errors = parse_state(params)
        if not errors and has_blank_params(params):
            # An empty form field (date_from=) left in the URL: send the clean, shareable one.
            raise falcon.HTTPFound(state.url(page=state.page))
        ctx: dict[str, Any] = {"state": state, "errors": errors, "result": None,
                               "unavailable": False, "browse": [], "pages": [], "last_page": 1,
                               "category_items": [], "year_items": []}
        if errors:
            status = falcon.HTTP_400
        elif state.blank:
            status = falcon.HTTP_200
            ctx["browse"] = self._categories()
        else:
            status = self._results(state, resp, ctx)
        self._render(resp, status, ctx)

    on_head = on_get

    def _results(self, state: PageState, resp: falcon.Response, ctx: dict[str, Any]) -> str:
        """Search and fill `ctx` for the results; returns the HTTP status."""
        try:
            result = self._search(self._request(state))
            facets = self._facets(state, result)
        except InvalidRequest as exc:
            ctx["errors"] = [_FRIENDLY.get(exc.field, _DEFAULT_FRIENDLY)]
            return falcon.HTTP_400
        except Exception as exc:
            if not _unavailable(exc):
                raise
            ctx["unavailable"] = True
            resp.retry_after = 30
            return falcon.HTTP_503
        last = max(1, min(math.ceil(result.total / self.per_page), self.max_depth // self.per_page))
        ctx.update(result=result, last_page=last, pages=pages_around(state.page, last),
                   category_items=category_items(state, facets), year_items=year_items(state, facets))
        if result.total == 0:
            ctx["browse"] = self._categories()
        return falcon.HTTP_200

    def _facets(self, state: PageState, result: Any) -> dict[str, list[Any]]:
        """The result's facets, but category counts as if no category were picked, so the
        other categories stay on offer (picking several means any of them)."""
        if not state.categories:
            return result.facets
        unpicked = self._search(self._request(state, categories=(), page=1, per_page=1,
                                              highlight=False))
        return {**result.facets, "category": unpicked.facets.get("category", [])}

    def _search(self, request: Any) -> Any:
        engine = self._engine
        if callable(engine) and not hasattr(engine, "search"):
            engine = engine()
        return engine.search(request)

    def _request(self, state: PageState, **overrides: Any) -> Any:
        from search.engine import SearchRequest  # imported late: the engine module is heavy

        date_from, date_to = state.date_range()
        fields = dict(q=state.q, categories=state.categories, date_from=date_from, date_to=date_to,
                      sort=state.sort, page=state.page, per_page=self.per_page)
        fields.update(overrides)
        return SearchRequest(**fields)

    def _categories(self) -> list[dict[str, Any]]:
        """Category facet over the whole index, for "browse by category" links; [] if unavailable."""
        try:
            result = self._search(self._request(PageState(), per_page=1, highlight=False))
        except Exception as exc:
            if not (isinstance(exc, InvalidRequest) or _unavailable(exc)):
                raise
            return []
        return [{"label": f.value, "count": f.count, "url": PageState(categories=(f.value,)).url()}
                for f in result.facets.get("category", [])]

    def _render(self, resp: falcon.Response, status: str, ctx: dict[str, Any]) -> None:
        ctx["suggest_url"] = self.suggest_url
        resp.status = status
        resp.content_type = "text/html; charset=utf-8"
        resp.set_headers(SECURITY_HEADERS)
        resp.cache_control = ["no-cache"]
        resp.text = self._env.get_template("search.html").render(ctx)
