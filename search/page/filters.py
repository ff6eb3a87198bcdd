"""Jinja2 filters. Autoescape is on; these are the only two ways index data can become markup
or a link, and both re-check what they are given instead of trusting the engine.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

__all__ = ["marked", "article_href", "strip_accents", "vn_number", "vn_date", "iso_date", "seconds"]

_MARK = re.compile(r"(<mark>|</mark>)")


def marked(fragment: object) -> Markup:
    """The engine's `title_html`/`snippet` (escaped text + <mark>) as markup.

    Trusted only if removing <mark> and </mark> leaves no '<'; otherwise the whole fragment
    is shown as text. Trusted text is still unescaped and re-escaped piece by piece, and
    marks are balanced, so the output is exactly escaped text plus well-formed <mark>s.
    """
    if not isinstance(fragment, str):
        return Markup("")
    parts = _MARK.split(fragment)  # text, tag, text, tag, ..., text
    if any("<" in text for text in parts[::2]):
        return escape(fragment)
    out: list[str] = []
    inside = False
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(str(escape(html.unescape(part))))
        elif (part == "<mark>") != inside:  # an opening tag outside a mark, or a closing one inside
            out.append(part)
            inside = not inside
    if inside:
        out.append("</mark>")
    return Markup("".join(out))


def article_href(url: object, doc_id: object) -> str:
    """`url` if it is an http(s) URL or a site-relative path; else our own /documents/{id}.

    Anything else (javascript:, data:, protocol-relative //host, backslash tricks, control
    characters) never becomes a link target.
    """
    u = url.strip().replace(" ", "%20") if isinstance(url, str) else ""
    if u and not any(ord(c) < 0x21 or c in "\\\x7f" for c in u):
        if u.startswith("/") and not u.startswith("//"):
            return u
        try:
            parts = urlsplit(u)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme.lower() in ("http", "https") and parts.netloc:
            return u
    return "/documents/" + quote(str(doc_id), safe="")


def strip_accents(text: str) -> str:
    """Vietnamese without diacritics ("Huyện ủy" -> "Huyen uy"), for the "thử bỏ dấu" tip."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def vn_number(n: object) -> str:
    """1234567 -> "1.234.567" (Vietnamese groups thousands with dots)."""
    return f"{n:,}".replace(",", ".") if isinstance(n, int) else str(n)


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def vn_date(value: object) -> str:
    """"2014-12-30..." -> "30/12/2014"; anything unparseable is shown as it is (escaped)."""
    d = _as_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year}" if d else ("" if value is None else str(value))


def iso_date(value: object) -> str:
    """For <time datetime>: the ISO date, or "" when there is none."""
    d = _as_date(value)
    return d.isoformat() if d else ""


def seconds(ms: object) -> str:
    """Milliseconds -> "0,03" seconds, with a Vietnamese decimal comma."""
    try:
        return f"{float(ms) / 1000:.2f}".replace(".", ",")
    except (TypeError, ValueError):
        return "?"
