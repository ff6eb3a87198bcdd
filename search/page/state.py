"""The search page's whole state lives in its URL: parse it, validate it, link to variations.

Parsing is lenient about what a plain GET form sends (blank fields, surrounding spaces,
dd/mm/yyyy dates) and strict about everything else: a bad value becomes a Vietnamese
message for the page (shown with status 400), never an exception.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping
from urllib.parse import urlencode

__all__ = ["PageState", "SORTS", "PARAMS", "parse_state", "has_blank_params", "pages_around"]

#: URL parameters the page owns, in the order links write them.
PARAMS = ("q", "category", "year", "date_from", "date_to", "sort", "page")
#: Sort orders offered, value -> label. The engine also knows "oldest"; the page does not offer it.
SORTS = {"relevance": "Liên quan nhất", "newest": "Mới nhất"}
MAX_CATEGORIES = 20
MAX_VALUE_CHARS = 2000  # as [search] max_query_chars: staff paste whole questions
MIN_YEAR, MAX_YEAR = 1900, 2100

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


@dataclass(frozen=True)
class PageState:
    """What the user asked for; `url()` turns it (or a variation of it) back into a link."""

    q: str = ""
    categories: tuple[str, ...] = ()
    year: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1

    @property
    def filtered(self) -> bool:
        return bool(self.categories or self.year or self.date_from or self.date_to)

    @property
    def blank(self) -> bool:
        """Nothing asked yet: the landing page."""
        return not self.q and not self.filtered

    def pairs(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        out += [("category", c) for c in self.categories]
        if self.year:
            out.append(("year", str(self.year)))
        if self.date_from:
            out.append(("date_from", self.date_from.isoformat()))
        if self.date_to:
            out.append(("date_to", self.date_to.isoformat()))
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        if self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, **changes: Any) -> str:
        """Link to this state with `changes`; any change but `page` goes back to page 1."""
        if changes and "page" not in changes:
            changes["page"] = 1
        state = replace(self, **changes) if changes else self
        query = urlencode(state.pairs())
        return "/?" + query if query else "/"

    def toggle_category(self, value: str) -> str:
        if value in self.categories:
            return self.url(categories=tuple(c for c in self.categories if c != value))
        return self.url(categories=self.categories + (value,))

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        """The dates to search: the year (the engine has no year filter) narrowed by any explicit range."""
        start, end = self.date_from, self.date_to
        if self.year:
            ys, ye = dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
            start = max(start, ys) if start else ys
            end = min(end, ye) if end else ye
        return start, end


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    raw = params.get(name)
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _one(params: Mapping[str, Any], name: str) -> str:
    values = _values(params, name)
    return values[-1] if values else ""


def _date(text: str) -> dt.date:
    m = _DMY.match(text)
    if m:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return dt.date.fromisoformat(text)


def has_blank_params(params: Mapping[str, Any]) -> bool:
    """True when a form sent empty fields (`date_from=`): worth a redirect to the clean URL."""
    for name in PARAMS:
        raw = params.get(name)
        values = raw if isinstance(raw, list) else [] if raw is None else [raw]
        if any(not (isinstance(v, str) and v.strip()) for v in values):
            return True
    return False


def parse_state(params: Mapping[str, Any]) -> tuple[PageState, list[str]]:
    """URL parameters -> (state of the valid ones, messages about the invalid ones)."""
    errors: list[str] = []
    fields: dict[str, Any] = {}

    q = " ".join("".join(c if c >= " " and c != "\x7f" else " " for c in _one(params, "q")).split())
    if len(q) > MAX_VALUE_CHARS:
        errors.append(f"Từ khóa quá dài (tối đa {MAX_VALUE_CHARS} ký tự). Hãy rút gọn từ khóa.")
        q = q[:MAX_VALUE_CHARS]
    fields["q"] = q

    cats = list(dict.fromkeys(" ".join(c.split()) for c in _values(params, "category")))
    if len(cats) > MAX_CATEGORIES or any(len(c) > MAX_VALUE_CHARS for c in cats):
        errors.append(f"Chỉ có thể lọc theo tối đa {MAX_CATEGORIES} chuyên mục cùng lúc.")
        cats = [c for c in cats if len(c) <= MAX_VALUE_CHARS][:MAX_CATEGORIES]
    fields["categories"] = tuple(cats)

    year = _one(params, "year")
    if year:
        if year.isascii() and year.isdigit() and MIN_YEAR <= int(year) <= MAX_YEAR:
            fields["year"] = int(year)
        else:
            errors.append(f"Năm «{year[:20]}» không hợp lệ: hãy chọn một năm như 2014.")

    for name, label in (("date_from", "Từ ngày"), ("date_to", "Đến ngày")):
        text = _one(params, name)
        if text:
            try:
                fields[name] = _date(text)
            except ValueError:
                errors.append(f"{label} «{text[:30]}» không phải là ngày hợp lệ "
                              "(dạng ngày/tháng/năm, ví dụ 30/12/2014).")
    if fields.get("date_from") and fields.get("date_to") and fields["date_from"] > fields["date_to"]:
        errors.append("“Từ ngày” đang ở sau “Đến ngày”: hãy đổi lại khoảng thời gian.")

    sort = _one(params, "sort")
    if sort in SORTS:
        fields["sort"] = sort
    elif sort:
        errors.append("Cách sắp xếp không hợp lệ: chọn “Liên quan nhất” hoặc “Mới nhất”.")

    page = _one(params, "page")
    if page:
        if page.isascii() and page.isdigit() and 1 <= int(page) <= 100_000:
            fields["page"] = int(page)
        else:
            errors.append(f"Số trang «{page[:20]}» không hợp lệ: trang bắt đầu từ 1.")

    state = PageState(**fields)
    if not errors:
        start, end = state.date_range()
        if start and end and start > end:
            errors.append(f"Khoảng thời gian đã chọn nằm ngoài năm {state.year}: "
                          "hãy bỏ bớt bộ lọc năm hoặc ngày.")
    return state, errors


def pages_around(current: int, last: int, width: int = 2) -> list[int | None]:
    """Page numbers to link: first, last and `width` either side of the current; None = a gap."""
    if last <= 1:
        return []
    keep = {1, last, *range(max(1, current - width), min(last, current + width) + 1)}
    out: list[int | None] = []
    for n in sorted(keep):
        if out and out[-1] is not None and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out
