"""Official document numbers ("số ký hiệu") of laws, directives, resolutions, decrees.

People search party and state documents by their number ("52/2014/QH13",
"03-CT/TW", "15/2020/NĐ-CP"), so the indexer stores it as a field of its own.

Only two places are trusted, in this order:

1. the header line "Số: …" (also "Luật số: …", "SỐ 103-SL/L.005") in the first
   lines of the body, which is where a document states its own number;
2. a number in the title ("Chỉ thị số 03-CT/TW về …", "Nghị định 15/2020/NĐ-CP").

Numbers merely cited in the body ("Thực hiện Chỉ thị số 03-CT/TW…") are ignored:
a news article about a directive is not that directive.
"""
from __future__ import annotations

import re

__all__ = ["find_doc_number", "HEAD_LINES", "HEAD_CHARS"]

#: How much of the body counts as its header.
HEAD_LINES = 25
HEAD_CHARS = 3000

# One part of a number after "/" or "-": a year, a code such as QH13, NĐ, TTg, UBND,
# HĐNN8, or L.005. Letters are any Unicode letters (Đ, Ư in "NQ/TƯ").
_PART = r"[^\W_]+(?:\.[^\W_]+)*"
_NUMBER = rf"\d{{1,6}}[a-zA-Z]?(?:[/-]{_PART})+"
# The "…/QH 11" typo of several 2004-2006 laws: session digits split off by a space.
_SPLIT_SESSION = re.compile(r" (\d{1,2})(?![\w/.-])")

# Header: "Số: …", "Số:: …", "Luật số: …", "UBND TỈNH AN GIANG Số: …" (a two-column
# header flattened to one line), or the all-caps title
# block form "SỐ 103-SL/L.005 NGÀY…". Without the colon a lowercase "số" is a citation
# ("Thông tư số 58/2015/TT-BGTVT quy định…" opening a news paragraph), not a header.
_HEADER_RE = re.compile(
    r"^[^\S\n]*(?!(?i:căn cứ|theo|thực hiện|tại|về|và|của)\b)"
    r"(?:(?:[^\W\d_]+[^\S\n]+){0,8}(?:[Ss]ố|SỐ)[^\S\n]*:+|(?:[^\W\d_]+[^\S\n]+){0,3}SỐ(?=\s))"
    rf"[^\S\n]*(?P<num>{_NUMBER})",
    re.MULTILINE,
)
# Title: a document type (optionally "số") before the number, else any number that
# has the official shape.
_DOC_TYPES = (
    "luật", "bộ luật", "pháp lệnh", "lệnh", "hiến pháp", "nghị quyết", "nghị định",
    "quyết định", "chỉ thị", "thông tư", "thông tư liên tịch", "công văn", "kết luận",
    "quy định", "quy chế", "hướng dẫn", "thông báo", "thông tri", "báo cáo", "tờ trình",
    "kế hoạch", "chương trình", "đề án", "sắc lệnh", "văn bản", "số",
)
_TITLE_TYPED_RE = re.compile(
    rf"(?:{'|'.join(sorted(map(re.escape, _DOC_TYPES), key=len, reverse=True))})"
    rf"\s+(?:số\s*:?\s*)?(?P<num>{_NUMBER})",
    re.IGNORECASE,
)
_TITLE_BARE_RE = re.compile(rf"(?<![\w/.-])(?P<num>{_NUMBER})")


def _is_code(part: str) -> bool:
    """An issuer/type code: QH13, NĐ, CP, UBND, TTg, HĐNN8, L.005 (2+ letters, nearly all capitals)."""
    letters = [c for c in part if c.isalpha()]
    return len(letters) >= 2 and sum(not c.isupper() for c in letters) <= 1


def _accept(match: re.Match[str], text: str, typed: bool = True) -> str:
    """The number of a match if it has the official shape, else ""."""
    num = match.group("num")
    if "/" not in num:  # every official number has a slash; "COVID-19"-like tokens don't
        return ""
    parts = re.split(r"[/-]", num)
    if not (re.fullmatch(r"\d{4}", parts[1]) or parts[1][:1].isalpha()):
        return ""  # "35/5B" (a house number), "16/2.AFP" (a date and a photo credit)
    if not any(_is_code(p) for p in parts[1:]):
        # Dates (30/12/2014), fractions, "24/24h", "239/A02" have no issuer code; a
        # title lowercased by its source ("số 48-lct/hđnn8") still counts when typed.
        lowered = typed and num == num.lower()
        if not (lowered and any(sum(c.isalpha() for c in p) >= 2 for p in parts[1:])):
            return ""
    tail = _SPLIT_SESSION.match(text, match.end("num"))
    if tail and re.fullmatch(r"[^\W\d_]+", parts[-1]):
        num += tail.group(1)
    return num


# What a header match needs: "số"/"Số" then a colon, or "SỐ" (either alternative of
# _HEADER_RE). A literal first character lets `re` skip to its occurrences.
_SO_COLON = re.compile(r"ố[^\S\n]*:")


def _head(body: str) -> str:
    head = body[:HEAD_CHARS]
    return "\n".join(head.splitlines()[:HEAD_LINES])


def _may_have_header(text: str) -> bool:
    """False when no header number can be in `text` (every number `_accept` takes has a
    "/"): most news bodies, whose header scan was 2/3 of this module's time per article."""
    return "/" in text and ("SỐ" in text or _SO_COLON.search(text) is not None)


def find_doc_number(title: str, body: str) -> str:
    """The document's own number from its header, else from its title; "" when none."""
    body = body or ""
    if _may_have_header(body[:HEAD_CHARS]):
        head = _head(body)
        for m in _HEADER_RE.finditer(head):
            num = _accept(m, head)
            if num:
                return num
    title = title or ""
    if "/" not in title:  # (see _may_have_header)
        return ""
    for pattern, typed in ((_TITLE_TYPED_RE, True), (_TITLE_BARE_RE, False)):
        for m in pattern.finditer(title):
            num = _accept(m, title, typed)
            if num:
                return num
    return ""
