"""Renderings of a search result: the /search JSON body and the shell's text."""
from __future__ import annotations

import json

from search.engine import FacetValue, Hit, SearchResult
from search.render import result_json, result_text


def _result(**over) -> SearchResult:  # noqa: ANN003
    hit = Hit(id="a1", title="Huyện ủy <An Phú>", title_html="<mark>Huyện ủy</mark> &lt;An Phú&gt;",
              snippet="… họp <mark>Huyện ủy</mark> &amp; HĐND …", url="https://x.vn/a1",
              date="2025-03-01", category=["Thời sự", "Chính trị"], author="P.V", score=3.25)
    bare = Hit(id="b2", title="Tin khác", title_html="Tin khác", snippet="", url="", date=None,
               category=[], author="", score=1.0)
    fields = dict(query="huyện ủy", total=12, page=2, per_page=2, took_ms=3.14159, hits=[hit, bare],
                  facets={"category": [FacetValue("Thời sự", 7)], "year": []}, suggestion=None)
    fields.update(over)
    return SearchResult(**fields)


def test_json_body_has_the_documented_keys_and_is_serializable() -> None:
    body = result_json(_result())
    assert list(body) == ["query", "total", "page", "per_page", "took_ms", "hits", "facets", "suggestion"]
    assert body["took_ms"] == 3.14
    assert body["hits"][0]["title_html"] == "<mark>Huyện ủy</mark> &lt;An Phú&gt;"
    assert body["hits"][1]["date"] is None
    assert body["facets"] == {"category": [{"value": "Thời sự", "count": 7}], "year": []}
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body


def test_text_shows_marks_as_brackets_and_unescapes() -> None:
    text = result_text(_result(suggestion="huyện ủy an phú"))
    lines = text.splitlines()
    assert lines[0] == "12 kết quả cho «huyện ủy» (3 ms), trang 2"
    assert lines[1] == "Có phải bạn muốn tìm: huyện ủy an phú"
    # numbering continues from the page: page 2 of 2 per page starts at 3
    assert "3. [Huyện ủy] <An Phú>" in lines
    assert "   2025-03-01 · Thời sự, Chính trị · P.V" in lines
    assert "   id: a1  https://x.vn/a1" in lines
    assert "   … họp [Huyện ủy] & HĐND …" in lines
    assert "4. Tin khác" in lines and "   id: b2" in lines
    assert lines[-1] == "category: Thời sự (7)"  # an empty facet is not shown
    assert "<mark>" not in text and "&amp;" not in text
