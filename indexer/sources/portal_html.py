"""Saved HTML of portal and news article pages, reduced to one Article.

Meta tags are read first (og:title, article:published_time, author, canonical URL), then
the body is taken from the most text-dense container, scored the way Readability does:
each paragraph credits its parent and grandparent, links count against. Trafilatura
would do this more thoroughly but is not a dependency. The lines found go through the
same furniture rules as text exports (`page_rules`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from indexer.dates import find_date, parse_date
from indexer.docnumber import find_doc_number
from indexer.record import Article, RecordError
from indexer.sources.page_rules import BYLINE_PREFIX, clean_line, finish, fold_key, view_count

__all__ = ["parse_portal_html"]


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
            found.setdefault(key.strip().lower(), clean_line(value))
    return found


def _text(node: LexborNode) -> str:
    return clean_line(node.text(deep=True, separator=" "))


def _blocks(node: LexborNode) -> list[str]:
    """The text of node split into paragraphs at block elements and <br>."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = clean_line("".join(buf))
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
                if piece and piece not in parts and fold_key(piece) not in (
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
            author = BYLINE_PREFIX.sub("", _text(byline))
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
    views = view_count([page_text])
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
    tail = finish(paragraphs, title, find_author=not author)
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
