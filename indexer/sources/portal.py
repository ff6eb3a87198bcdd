"""Article pages of news and party portals: text exports and saved HTML.

The product started from a provincial Party portal (SharePoint 2010), whose pages
come to us either as text exports (the whole page flattened to lines, chrome and
all) or as saved HTML. Both are reduced to one Article: title, date, section,
author, lead, view count and the article text without the page around it.

The text parser is a small set of rules about that template, not a match of one
file: a head (section, "Thứ N, Ngày dd/mm/yyyy, hh:mm", title, font-size tool), the
paragraphs, a short byline, the "Lượt người xem" counter and the SharePoint field
list. Any of section, date, byline, counter and field list may be missing.

The HTML parser reads meta tags first (og:title, article:published_time, author,
canonical URL), then takes the body from the most text-dense container, scored the
way Readability does: each paragraph credits its parent and grandparent, links
count against. Trafilatura would do this more thoroughly but is not a dependency.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from indexer.dates import find_date, parse_date
from indexer.docnumber import find_doc_number
from indexer.record import Article, RecordError

__all__ = [
    "parse_portal_text",
    "parse_portal_html",
    "read_portal_file",
    "PORTAL_SUFFIXES",
    "DEFAULT_MAX_PAGE_BYTES",
]

PORTAL_SUFFIXES = (".txt", ".html", ".htm")
DEFAULT_MAX_PAGE_BYTES = 20 * 1024 * 1024


# --- shared line rules --------------------------------------------------------------------

def _fold(text: str) -> str:
    """Lowercase without diacritics, for matching labels however they were typed."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


_SPACES = re.compile(r"[\s\u00a0\u200b\u2000-\u200a\u202f\u205f\u3000\ufeff]+")


def _clean(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


# Page furniture that is never article text (matched on folded lines).
_CHROME = re.compile(
    r"^(?:skip ribbon commands|skip to main content|chao mung quy vi\b.*|"
    r"(?:co chu|font size)\b.*|(?:giam|mac dinh|tang) \(a[+-]?\).*|"
    r"in bai viet|in trang|gui email|gui bai viet|gui cho ban be|quay lai|tro ve|ve dau trang|"
    r"print|e-?mail|chia se|share|facebook|twitter|zalo|\||trang chu|home)$"
)
_WELCOME = re.compile(r"^chao mung quy vi.*?\bden voi\b", re.IGNORECASE)
_FONT_TOOL = re.compile(r"^(?:co chu|font size)\b")
_VIEWS = re.compile(
    r"(?:luot nguoi xem|so luot xem|luot xem|luot doc|views?)\s*:?\s*(?:views?\s*:?\s*)?(\d[\d.,]*)"
)
# Where the article ends: the counter and SharePoint's own controls and field list.
_FOOTER_HARD = re.compile(
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
_BYLINE_PREFIX = re.compile(r"^(?:tác giả|tac gia|bài và ảnh|bài, ảnh|bài|tin)\s*:\s*", re.I)


def _is_chrome(line: str) -> bool:
    return bool(_CHROME.match(_fold(line)))


def _is_field_label(line: str) -> bool:
    return _fold(line).strip() in _FIELD_LABELS


def _as_date(line: str) -> Any:
    """The date a whole line states, or None (lines of text are not dates)."""
    if len(line) > 60:
        return None
    try:
        return parse_date(line)
    except ValueError:
        return None


def _is_dateline(line: str) -> bool:
    """A line that only states a date ("Cập nhật: Thứ Sáu, 15/05/2015 09:30"), not a sentence."""
    if _as_date(line) is not None:
        return True
    return len(line) <= 60 and line[-1:] not in ".!?" and find_date(line) is not None


def _views(lines: Iterable[str]) -> int | None:
    for line in lines:
        m = _VIEWS.search(_fold(line))
        if m:
            digits = re.sub(r"\D", "", m.group(1))
            if digits:
                return int(digits)
    return None


def _looks_like_byline(line: str) -> bool:
    """A short, name-like last line: "Thành Nhân", "Minh Hiển (TGAG)", "Theo Báo An Giang"."""
    line = _BYLINE_PREFIX.sub("", line)
    words = line.split()
    if not words or len(line) > 60 or len(words) > 8:
        return False
    if line[-1] in ".:;,!?…" or not line[0].isupper() or re.match(r"^\d", line):
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w[0] in "(-")
    return capitalised >= max(1, len(words) - 2)


@dataclass
class _Tail:
    """What the end of an article yields besides its paragraphs."""

    paragraphs: list[str]
    author: str = ""
    summary: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def _finish(paragraphs: list[str], title: str, *, find_author: bool = True) -> _Tail:
    """Drop chrome, title and date repeats; take the byline and the tagged lead."""
    out: list[str] = []
    for p in paragraphs:
        if not p or _is_chrome(p) or _FOOTER_HARD.match(_fold(p)):
            continue
        if not out and (p == title or _is_dateline(p)):
            continue  # the title or publication date repeated above the text
        out.append(p)
    tail = _Tail(out)
    if find_author and len(out) > 1 and _looks_like_byline(out[-1]):
        tail.author = _BYLINE_PREFIX.sub("", out.pop())
    if out and _LEAD_TAG.match(out[0]):
        tail.summary = out[0]
    return tail


# --- text exports ---------------------------------------------------------------------------

def _footer_start(lines: list[str], start: int) -> int:
    """Index of the first line of the page footer at or after start (len(lines) if none)."""
    for i in range(start, len(lines)):
        line = lines[i]
        if not line:
            continue
        if _FOOTER_HARD.match(_fold(line)):
            return i
        if _is_field_label(line):
            following = [x for x in lines[i + 1 : i + 12] if x][:4]
            if sum(_is_field_label(x) for x in following) >= 2:
                return i
    return len(lines)


def parse_portal_text(text: str, source_id: str) -> Article:
    """Parse the text export of one portal article page; raises RecordError if it has none.

    `source_id` becomes the Article id (text exports carry no URL).
    """
    lines = [_clean(x) for x in unicodedata.normalize("NFC", text).splitlines()]
    content = [i for i, x in enumerate(lines) if x and not _is_chrome(x)]
    if not content:
        raise RecordError(source_id, "no text in page")
    source = ""
    for x in lines[:20]:
        m = _WELCOME.match(_fold(x))
        if m:  # "Chào mừng quý vị đến với <portal>!" names the site
            source = x[len(m.group(0)):].strip(" !.")
            break

    # The head: everything up to the font-size tool, or the first dozen content lines.
    font = next((i for i in range(len(lines)) if _FONT_TOOL.match(_fold(lines[i]))), None)
    head = [i for i in content if font is None or i < font][:12]
    dated = [(i, d) for i in head if (d := _as_date(lines[i])) is not None]
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
    tail = _finish([x for x in lines[body_start:end]], title)
    if not tail.paragraphs:
        raise RecordError(source_id, "no article text between the title and the page footer")
    views = _views(lines[end:])
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


# --- HTML pages -----------------------------------------------------------------------------

_DROP_TAGS = [
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed",
    "nav", "header", "footer", "aside", "menu", "button", "input", "select", "textarea",
    "label", "link", "meta",
]
# SharePoint wraps the whole page in <form id="aspnetForm">: forms are never dropped whole.
_NEGATIVE = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|menu|topmenu|ribbon|s4-ribbon\w*|breadcrumbs?|crumbs?|footer|"
    r"header|sidebar|side|leftpanel|quicklaunch|share|social|comments?|related|relate|"
    r"tinkhac|othernews|other|banner|advert\w*|ads?|promo|login|search|toolbar|tools?|"
    r"pager|pagination|widget|cookie|popup|modal|skip|print|fontsize|textsize|rating|"
    r"vote|copyright|titlerow|s4-title\w*|sitemap\w*|welcome|views?|counter)"
    r"(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "tbody", "thead", "tr", "td", "th", "blockquote", "pre", "section", "article",
    "main", "figure", "figcaption", "hr", "address", "center", "form", "fieldset",
})
_PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote", "li", "td", "div", "dd"})
_KEEP = frozenset({"html", "body", "main", "article"})


def _meta(tree: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        value = attrs.get("content")
        if key and value and value.strip():
            found.setdefault(key.strip().lower(), _clean(value))
    return found


def _text(node: LexborNode) -> str:
    return _clean(node.text(deep=True, separator=" "))


def _blocks(node: LexborNode) -> list[str]:
    """The text of node split into paragraphs at block elements and <br>."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = _clean("".join(buf))
        buf.clear()
        if line:
            out.append(line)

    stack: list[tuple[LexborNode, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        if leaving:
            flush()
            continue
        tag = current.tag
        if tag == "-text":
            buf.append(current.text_content or "")
            continue
        if tag in ("-comment", "br", "hr") or tag in _DROP_TAGS:
            if tag in ("br", "hr"):
                flush()
            continue
        if tag in _BLOCK_TAGS:
            flush()
            stack.append((current, True))
        children = list(current.iter(include_text=True))
        stack.extend((c, False) for c in reversed(children))
    flush()
    return out


def _link_density(node: LexborNode, text_len: int) -> float:
    if not text_len:
        return 1.0
    linked = sum(len(_text(a)) for a in node.css("a"))
    return min(1.0, linked / text_len)


def _is_leaf_block(node: LexborNode) -> bool:
    """No block elements inside (lexbor's css() also matches the node itself)."""
    inner = node.css("p, div, table, ul, ol, blockquote, pre, section, article")
    return all(n.mem_id == node.mem_id for n in inner)


def _best_container(body: LexborNode) -> tuple[LexborNode | None, dict[int, float]]:
    """The container whose paragraphs carry the most text (Readability-style scoring)."""
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    for node in body.css(", ".join(sorted(_PARAGRAPH_TAGS))):
        if node.tag in ("div", "td") and not _is_leaf_block(node):
            continue
        text = _text(node)
        if len(text) < 25:
            continue
        score = 1 + text.count(",") + min(len(text) // 100, 3)
        parent = node.parent
        for share in (1.0, 0.5):
            if parent is None or parent.tag in ("html", "-document"):
                break
            nodes[parent.mem_id] = parent
            scores[parent.mem_id] = scores.get(parent.mem_id, 0.0) + score * share
            parent = parent.parent
    best, best_score = None, 0.0
    for key, node in nodes.items():
        text_len = len(_text(node))
        final = scores[key] * (1 - _link_density(node, text_len))
        scores[key] = final
        if final > best_score:
            best, best_score = node, final
    return best, scores


def _article_nodes(best: LexborNode, scores: dict[int, float]) -> list[LexborNode]:
    """best plus the siblings that belong to the same article (a lead in its own div)."""
    parent = best.parent
    if parent is None:
        return [best]
    threshold = max(10.0, scores.get(best.mem_id, 0.0) * 0.2)
    chosen = []
    for sib in parent.iter():
        if sib.mem_id == best.mem_id:
            chosen.append(sib)
            continue
        if scores.get(sib.mem_id, 0.0) >= threshold:
            chosen.append(sib)
            continue
        if sib.tag in ("p", "div") and _is_leaf_block(sib):
            text = _text(sib)
            if len(text) > 80 and _link_density(sib, len(text)) < 0.25 and text[-1:] in ".!?”\"…)":
                chosen.append(sib)
    return chosen


def _decompose_all(nodes: Iterable[LexborNode]) -> None:
    """Remove nodes, skipping those inside another removed node (freed with it)."""
    nodes = list(nodes)
    chosen = {n.mem_id for n in nodes}
    for node in nodes:
        anc = node.parent
        while anc is not None and anc.mem_id not in chosen:
            anc = anc.parent
        if anc is None:
            node.decompose()


_INVISIBLE = ["script", "style", "noscript", "template", "link", "meta", "svg", "canvas"]


def _strip_invisible(tree: LexborHTMLParser) -> None:
    """Scripts, styles and comments: never text a reader sees."""
    _decompose_all(tree.css(", ".join(_INVISIBLE)))
    if tree.root is not None:
        _decompose_all(n for n in tree.root.traverse(include_text=True) if n.tag == "-comment")


def _label(node: LexborNode) -> str:
    attrs = node.attributes
    return f"{attrs.get('class') or ''} {attrs.get('id') or ''}"


def _is_furniture(node: LexborNode) -> bool:
    if node.tag in _KEEP:
        return False
    role = node.attributes.get("role") or ""
    return bool(_NEGATIVE.search(_label(node))) or role in (
        "navigation", "banner", "contentinfo", "search", "complementary")


def _strip_furniture(tree: LexborHTMLParser) -> None:
    """Navigation, ribbon, headers, footers, sidebars, share and related-news boxes."""
    _decompose_all(tree.css(", ".join(_DROP_TAGS)))
    _decompose_all(n for n in tree.css("[class], [id], [role]") if _is_furniture(n))


def _site_title(doc_title: str, site_names: Iterable[str]) -> str:
    """The <title> without its " - Site name" part."""
    for name in site_names:
        for sep in (" - ", " | ", " – ", " :: "):
            if name and doc_title.endswith(sep + name):
                return doc_title[: -len(sep + name)].strip()
    for sep in (" | ", " - ", " – "):
        if sep in doc_title:
            head = doc_title.rsplit(sep, 1)[0].strip()
            if len(head) >= 20:
                return head
    return doc_title


def _breadcrumb_parts(tree: LexborHTMLParser) -> list[str]:
    for node in tree.css(
        "[class*=breadcrumb], [id*=breadcrumb], [class*=Breadcrumb], [id*=Breadcrumb], "
        ".ms-sitemapdirectional, nav[aria-label*=readcrumb]"
    ):
        items = [_text(a) for a in node.css("a, li, span")] or [_text(node)]
        parts: list[str] = []
        for item in items:
            for piece in re.split(r"\s*(?:›|»|>|/|\u2192)\s*", item):
                piece = piece.strip()
                if piece and piece not in parts and _fold(piece) not in (
                        "trang chu", "home", "trang nhat"):
                    parts.append(piece)
        if parts:
            return parts
    return []


def _first_date(*texts: str) -> Any:
    for text in texts:
        found = find_date(text) if text else None
        if found is not None:
            return found
    return None


def parse_portal_html(html: str, source_id: str, url: str = "") -> Article:
    """Parse one saved article page; raises RecordError when no article text is found.

    The id is the page's canonical URL when it declares one (stable across re-crawls and
    file moves), else `source_id`.
    """
    tree = LexborHTMLParser(unicodedata.normalize("NFC", html))
    if tree.body is None:
        raise RecordError(source_id, "HTML page has no <body>")
    meta = _meta(tree)
    canonical = ""
    for node in tree.css("link[rel]"):
        if "canonical" in (node.attributes.get("rel") or "").lower().split():
            canonical = (node.attributes.get("href") or "").strip()
            break
    canonical = canonical or meta.get("og:url", "")
    doc_title_node = tree.css_first("title")
    doc_title = _text(doc_title_node) if doc_title_node else ""

    # Facts read before the page furniture goes: meta, byline, breadcrumb, site name.
    author = meta.get("author") or meta.get("article:author") or meta.get("dc.creator") or ""
    if author.startswith("http"):
        author = ""
    if not author:
        byline = tree.css_first("[class*=author], [class*=byline], [rel=author], [itemprop=author]")
        if byline is not None:
            author = _BYLINE_PREFIX.sub("", _text(byline))
    date = None
    for key in ("article:published_time", "og:published_time", "datepublished", "pubdate",
                "publishdate", "date", "dc.date.issued", "dc.date", "dcterms.created"):
        try:
            date = parse_date(meta.get(key))
        except ValueError:
            continue
        if date is not None:
            break
    for node in tree.css("time[datetime]") if date is None else []:
        try:
            date = parse_date(node.attributes.get("datetime"))
        except ValueError:
            continue
        if date is not None:
            break
    crumbs = _breadcrumb_parts(tree)
    site_names = [meta.get("og:site_name", "")]
    headings: list[str] = []
    for node in tree.css("h1"):
        # An <h1> in the site's title bar names the site; one in <article>/<main> (even in
        # the article's own <header>) or outside any page furniture names the article.
        furniture = in_article = False
        anc = node.parent
        while anc is not None and anc.tag not in ("body", "html"):
            in_article = in_article or anc.tag in ("article", "main")
            furniture = furniture or anc.tag in ("header", "nav", "footer", "aside") \
                or _is_furniture(anc)
            anc = anc.parent
        text = _text(node)
        if text:
            (headings if in_article or not furniture else site_names).append(text)

    _strip_invisible(tree)
    page_text = _text(tree.body)
    views = _views([page_text])
    _strip_furniture(tree)

    title = meta.get("og:title") or meta.get("twitter:title") or next(iter(headings), "")
    if not title:
        heading = tree.css_first("[class*=title] h2, h2[class*=title]")
        title = _text(heading) if heading is not None else ""
    if not title:
        title = _site_title(doc_title, site_names)  # may stay "": the text still counts
    category = meta.get("article:section", "") or next(
        (c for c in reversed(crumbs) if c != title), "")

    best, scores = _best_container(tree.body)
    # No paragraph-like element at all: the page is bare text, take what is left of it.
    nodes = _article_nodes(best, scores) if best is not None else [tree.body]
    paragraphs = [p for node in nodes for p in _blocks(node)]
    if date is None:  # "Thứ 3, Ngày 30/12/2014, 07:42" near the article, then anywhere
        around = nodes[0].parent.parent if nodes[0].parent and nodes[0].parent.parent \
            else nodes[0]
        date = _first_date(" ".join(paragraphs), _text(around), _text(tree.body), page_text)
    tail = _finish(paragraphs, title, find_author=not author)
    if not tail.paragraphs:
        raise RecordError(source_id, "no article text found in HTML page")
    if views is not None:
        tail.extras["views"] = views
    summary = tail.summary or meta.get("og:description", "") or (
        meta.get("description", "") if meta.get("og:type") == "article" else "")
    body = "\n\n".join(tail.paragraphs)
    return Article(
        id=canonical or source_id,
        title=title,
        body=body,
        summary=summary,
        date=date,
        categories=[category] if category else [],
        author=author or tail.author,
        url=canonical or url,
        source=next((s for s in site_names if s), ""),
        doc_number=find_doc_number(title, body),
        extras=tail.extras,
    )


# --- files -----------------------------------------------------------------------------------

class _Undecodable(Exception):
    pass


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode(data: bytes, is_html: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, a declared HTML charset, then legacy."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _Undecodable(f"invalid UTF-16: {exc.reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    if is_html:
        m = _CHARSET.search(data[:4096])
        if m:
            name = m.group(1).decode("ascii", "replace").lower()
            try:
                if codecs.lookup(name).name not in ("utf-8", "utf-16"):
                    return unicodedata.normalize("NFC", data.decode(name))
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        from indexer.legacy import LegacyDecodeError, decode_bytes
    except ImportError as exc:
        raise _Undecodable(
            f"{utf8_error}, and legacy decoding is unavailable (indexer.legacy: {exc})"
        ) from None
    try:
        return decode_bytes(data)
    except LegacyDecodeError as exc:
        raise _Undecodable(
            f"{utf8_error}, nor a known legacy Vietnamese encoding: {exc.reason}"
        ) from None


def read_portal_file(
    path: Path, max_bytes: int = DEFAULT_MAX_PAGE_BYTES
) -> Iterator[Article | RecordError]:
    """Yield the Article of one .txt/.html/.htm page, or a RecordError(str(path), reason).

    The id is the page's canonical URL if it has one, else the absolute path, so
    re-indexing the same files gives the same ids whatever the working directory.
    """
    path = Path(path)
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in PORTAL_SUFFIXES:
        yield RecordError(where, f"unsupported page type {suffix or '(none)'!r}")
        return
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield RecordError(where, f"page of {size} bytes exceeds max_bytes={max_bytes}")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield RecordError(where, f"cannot read file: {exc.strerror or exc}")
        return
    is_html = suffix in (".html", ".htm")
    try:
        text = _decode(data, is_html)
    except _Undecodable as exc:
        yield RecordError(where, str(exc))
        return
    source_id = str(path.resolve())
    try:
        if is_html:
            article = parse_portal_html(text, source_id)
        else:
            article = parse_portal_text(text, source_id)
    except RecordError as exc:
        yield RecordError(where, exc.reason)
        return
    except RecursionError:
        yield RecordError(where, "page nested too deeply to parse")
        return
    article.extras.setdefault("file", source_id)
    yield article
