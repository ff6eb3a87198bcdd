"""Line rules shared by the portal page parsers (`portal_text`, `portal_html`).

Portal pages carry the same furniture whether they come as text exports or as HTML:
ribbon and font-size tools, share buttons, a "Lượt người xem" counter, SharePoint's
field list, a byline under the text and a lead tagged with the agency ("(TGAG)-").
These rules recognise them on single lines, matched on a folded (lowercase, accentless)
copy so that however a label was typed it is found.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indexer.dates import find_date, parse_date

__all__ = [
    "fold_key", "clean_line", "is_chrome", "is_field_label", "as_date", "is_dateline",
    "view_count", "Tail", "finish", "FOOTER_HARD", "BYLINE_PREFIX",
]


def fold_key(text: str) -> str:
    """Lowercase without diacritics, for matching labels however they were typed."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


_SPACES = re.compile(r"[\s\u00a0\u200b\u2000-\u200a\u202f\u205f\u3000\ufeff]+")


def clean_line(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


# Page furniture that is never article text (matched on folded lines).
_CHROME = re.compile(
    r"^(?:skip ribbon commands|skip to main content|chao mung quy vi\b.*|"
    r"(?:co chu|font size)\b.*|(?:giam|mac dinh|tang) \(a[+-]?\).*|"
    r"in bai viet|in trang|gui email|gui bai viet|gui cho ban be|quay lai|tro ve|ve dau trang|"
    r"print|e-?mail|chia se|share|facebook|twitter|zalo|\||trang chu|home)$"
)
_VIEWS = re.compile(
    r"(?:luot nguoi xem|so luot xem|luot xem|luot doc|views?)\s*:?\s*(?:views?\s*:?\s*)?(\d[\d.,]*)"
)
# Where the article ends: the counter and SharePoint's own controls and field list.
FOOTER_HARD = re.compile(
    r"^(?:luot nguoi xem|so luot xem|luot xem|views?)\s*:|^manage permissions|^version history|"
    r"^content type:|^created at\b|^last modified at\b|^approval status$|^attachments$|"
    r"^(?:cac )?tin (?:khac|lien quan|da dua|cung chuyen muc)\s*:?$|^other news\s*:?$"
)
_FIELD_LABELS = frozenset({
    "tieu de", "hinh anh", "hinh anh mo ta", "tom tat", "noi dung", "link thay the noi dung",
    "ngay xuat ban", "tin noi bat (cick)", "tin noi bat (click)", "tac gia", "loai bai viet",
    "so trang", "so anh", "so tien", "tin lien quan", "trang thai", "lich su",
    "so luot nguoi doc", "tin noi bat", "phan loai", "approval status", "attachments",
    "chuyen muc", "nguon", "ngay tao", "nguoi tao", "version:",
})
# A lead paragraph opens with the agency tag: "(TGAG)-", "(NLĐ) -", "TTXVN –".
_LEAD_TAG = re.compile(r"^\(?[A-ZĐ][A-ZĐa-z.]{1,11}\)?\s*[-–—:]")
BYLINE_PREFIX = re.compile(r"^(?:tác giả|tac gia|bài và ảnh|bài, ảnh|bài|tin)\s*:\s*", re.I)


def is_chrome(line: str) -> bool:
    return bool(_CHROME.match(fold_key(line)))


def is_field_label(line: str) -> bool:
    return fold_key(line).strip() in _FIELD_LABELS


def as_date(line: str) -> Any:
    """The date a whole line states, or None (lines of text are not dates)."""
    if len(line) > 60:
        return None
    try:
        return parse_date(line)
    except ValueError:
        return None


def is_dateline(line: str) -> bool:
    """A line that only states a date ("Cập nhật: Thứ Sáu, 15/05/2015 09:30"), not a sentence."""
    if as_date(line) is not None:
        return True
    return len(line) <= 60 and line[-1:] not in ".!?" and find_date(line) is not None


def view_count(lines: Iterable[str]) -> int | None:
    for line in lines:
        m = _VIEWS.search(fold_key(line))
        if m:
            digits = re.sub(r"\D", "", m.group(1))
            if digits:
                return int(digits)
    return None


def _looks_like_byline(line: str) -> bool:
    """A short, name-like last line: "Thành Nhân", "Minh Hiển (TGAG)", "Theo Báo An Giang"."""
    line = BYLINE_PREFIX.sub("", line)
    words = line.split()
    if not words or len(line) > 60 or len(words) > 8:
        return False
    if line[-1] in ".:;,!?…" or not line[0].isupper() or re.match(r"^\d", line):
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w[0] in "(-")
    return capitalised >= max(1, len(words) - 2)


@dataclass
class Tail:
    """What the end of an article yields besides its paragraphs."""

    paragraphs: list[str]
    author: str = ""
    summary: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def finish(paragraphs: list[str], title: str, *, find_author: bool = True) -> Tail:
    """Drop chrome, title and date repeats; take the byline and the tagged lead."""
    out: list[str] = []
    for p in paragraphs:
        if not p or is_chrome(p) or FOOTER_HARD.match(fold_key(p)):
            continue
        if not out and (p == title or is_dateline(p)):
            continue  # the title or publication date repeated above the text
        out.append(p)
    tail = Tail(out)
    if find_author and len(out) > 1 and _looks_like_byline(out[-1]):
        tail.author = BYLINE_PREFIX.sub("", out.pop())
    if out and _LEAD_TAG.match(out[0]):
        tail.summary = out[0]
    return tail
