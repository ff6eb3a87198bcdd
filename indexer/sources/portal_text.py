"""Text exports of portal article pages: the whole page flattened to lines, chrome and all.

The product started from a provincial Party portal (SharePoint 2010). The parser is a
small set of rules about that template, not a match of one file: a head (section,
"Thứ N, Ngày dd/mm/yyyy, hh:mm", title, font-size tool), the paragraphs, a short byline,
the "Lượt người xem" counter and the SharePoint field list. Any of section, date,
byline, counter and field list may be missing.
"""
from __future__ import annotations

import re
import unicodedata

from indexer.docnumber import find_doc_number
from indexer.record import Article, RecordError
from indexer.sources.page_rules import (
    FOOTER_HARD, as_date, clean_line, finish, fold_key, is_chrome, is_field_label, view_count,
)

__all__ = ["parse_portal_text"]

_WELCOME = re.compile(r"^chao mung quy vi.*?\bden voi\b", re.IGNORECASE)
_FONT_TOOL = re.compile(r"^(?:co chu|font size)\b")


def _footer_start(lines: list[str], start: int) -> int:
    """Index of the first line of the page footer at or after start (len(lines) if none)."""
    for i in range(start, len(lines)):
        line = lines[i]
        if not line:
            continue
        if FOOTER_HARD.match(fold_key(line)):
            return i
        if is_field_label(line):
            following = [x for x in lines[i + 1 : i + 12] if x][:4]
            if sum(is_field_label(x) for x in following) >= 2:
                return i
    return len(lines)


def parse_portal_text(text: str, source_id: str) -> Article:
    """Parse the text export of one portal article page; raises RecordError if it has none.

    `source_id` becomes the Article id (text exports carry no URL).
    """
    lines = [clean_line(x) for x in unicodedata.normalize("NFC", text).splitlines()]
    content = [i for i, x in enumerate(lines) if x and not is_chrome(x)]
    if not content:
        raise RecordError(source_id, "no text in page")
    source = ""
    for x in lines[:20]:
        m = _WELCOME.match(fold_key(x))
        if m:  # "Chào mừng quý vị đến với <portal>!" names the site
            source = x[len(m.group(0)):].strip(" !.")
            break

    # The head: everything up to the font-size tool, or the first dozen content lines.
    font = next((i for i in range(len(lines)) if _FONT_TOOL.match(fold_key(lines[i]))), None)
    head = [i for i in content if font is None or i < font][:12]
    dated = [(i, d) for i in head if (d := as_date(lines[i])) is not None]
    date_idx, date = None, None
    if dated:  # prefer "Thứ 3, Ngày 30/12/2014, 07:42" over a bare "30/12/2014"
        date_idx, date = next(((i, d) for i, d in dated if d.time() != d.min.time()), dated[0])
    undated = [i for i in head if i not in {j for j, _ in dated}]

    if font is not None and undated and undated[-1] < font:
        title_idx = undated[-1]
    elif date_idx is not None and any(i > date_idx for i in undated):
        title_idx = next(i for i in undated if i > date_idx)
        earlier = [i for i in undated if i < date_idx]
        if lines[title_idx].endswith(".") and earlier:
            title_idx = earlier[-1]  # "Title / date / first paragraph": titles lack the period
    elif undated:
        # No tool bar and no date: skip a section name repeated as nav and breadcrumb.
        first = lines[undated[0]]
        repeats = [i for i in undated if lines[i] == first]
        title_idx = next((i for i in undated if lines[i] != first), undated[0]) \
            if len(repeats) > 1 else undated[0]
    else:
        raise RecordError(source_id, "no title line found")
    title = lines[title_idx]
    before = [i for i in undated if i < title_idx and lines[i] != title]
    category = lines[before[-1]] if before and len(lines[before[-1]]) <= 80 else ""

    body_start = max(i for i in (title_idx, date_idx, font) if i is not None) + 1
    end = _footer_start(lines, body_start)
    tail = finish([x for x in lines[body_start:end]], title)
    if not tail.paragraphs:
        raise RecordError(source_id, "no article text between the title and the page footer")
    views = view_count(lines[end:])
    if views is not None:
        tail.extras["views"] = views
    body = "\n\n".join(tail.paragraphs)
    return Article(
        id=source_id,
        title=title,
        body=body,
        summary=tail.summary,
        date=date,
        categories=[category] if category else [],
        author=tail.author,
        source=source,
        doc_number=find_doc_number(title, body),
        extras=tail.extras,
    )
