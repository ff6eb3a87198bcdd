"""Plain renderings of a SearchResult: the JSON body of /search, and text for the shell."""
from __future__ import annotations

import html
import re
from dataclasses import asdict
from typing import Any

__all__ = ["result_json", "result_text"]

_MARK = re.compile(r"</?mark>")


def result_json(result: Any) -> dict[str, Any]:
    """Exactly the `/search` response body."""
    return {
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "took_ms": round(result.took_ms, 2),
        "hits": [asdict(h) for h in result.hits],
        "facets": {name: [{"value": f.value, "count": f.count} for f in values]
                   for name, values in result.facets.items()},
        "suggestion": result.suggestion,
    }


def _plain(fragment: str) -> str:
    """Snippet HTML -> terminal text, marks shown as [brackets]."""
    return html.unescape(_MARK.sub(lambda m: "]" if m.group().startswith("</") else "[", fragment))


def result_text(result: Any) -> str:
    lines = [f"{result.total} kết quả cho «{result.query}» ({result.took_ms:.0f} ms), "
             f"trang {result.page}"]
    if result.suggestion:
        lines.append(f"Có phải bạn muốn tìm: {result.suggestion}")
    first = (result.page - 1) * result.per_page
    for n, hit in enumerate(result.hits, first + 1):
        meta = " · ".join(x for x in (hit.date or "", ", ".join(hit.category), hit.author) if x)
        lines.append("")
        lines.append(f"{n}. {_plain(hit.title_html)}")
        if meta:
            lines.append(f"   {meta}")
        lines.append(f"   id: {hit.id}" + (f"  {hit.url}" if hit.url else ""))
        if hit.snippet:
            lines.append(f"   {_plain(hit.snippet)}")
    for name, values in result.facets.items():
        if values:
            lines.append("")
            lines.append(f"{name}: " + ", ".join(f"{v.value} ({v.count})" for v in values[:10]))
    return "\n".join(lines)
