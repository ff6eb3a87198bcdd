"""Saved HTML pages: SharePoint and news fixtures built from the seed page, and pages
without an article."""
from __future__ import annotations

import datetime as dt

import pytest

from indexer.record import Article, RecordError
from indexer.sources.portal_html import parse_portal_html
from tests.indexer.sources.seed_page import DATE, NEWS_HTML, SHAREPOINT_HTML, TITLE, assert_seed_body


def test_sharepoint_html_without_meta(seed: Article) -> None:
    """SharePoint 2010 page: no og: tags, a site-name <h1>, the whole page inside a <form>."""
    html = SHAREPOINT_HTML.read_text(encoding="utf-8")
    article = parse_portal_html(html, "sp-id")
    assert article.id == "sp-id" and article.url == ""
    assert article.title == TITLE
    assert article.date == DATE  # from "Thứ 3, Ngày 30/12/2014, 07:42", not the ribbon comment
    assert article.categories == ["Xây dựng Đảng"]
    assert article.author == "Thành Nhân"
    assert article.extras == {"views": 1639}
    assert article.summary == seed.summary
    assert article.source == "Cổng thông tin điện tử Đảng bộ tỉnh An Giang"
    assert_seed_body(article)
    assert article.body == seed.body
    for junk in ["Browse", "Đăng nhập", "WebForm_OnSubmit", "_spPageContextInfo", "margin",
                 "Tin mới", "Công tác kiểm tra", "Các tin khác", "Thị ủy Tân Châu",
                 "Cơ quan chủ quản", "Trang chủ", "Giới thiệu", "Liên hệ", "01/01/2015"]:
        assert junk not in article.body, junk


def test_news_html_with_meta(seed: Article) -> None:
    html = NEWS_HTML.read_text(encoding="utf-8")
    article = parse_portal_html(html, "/tmp/whatever.html", url="file:///tmp/whatever.html")
    canonical = "https://angiang.dcs.vn/xaydungdang/Lists/TinTucMoRong/DispForm.aspx?ID=2914"
    assert article.id == canonical and article.url == canonical
    assert article.title == TITLE
    assert article.date == DATE  # article:published_time 00:42Z is 07:42 in Vietnam
    assert article.categories == ["Xây dựng Đảng"]
    assert article.author == "Thành Nhân"
    assert article.summary == seed.summary  # the tagged lead beats og:description
    assert article.extras == {}
    assert article.body == seed.body
    for junk in ["Chia sẻ", "In bài viết", "Từ khóa", "Tin liên quan", "Đọc nhiều",
                 "Tìm kiếm", "dataLayer", "schema.org", "Điện thoại", "tags and related"]:
        assert junk not in article.body, junk


def test_minimal_html_falls_back_to_title_tag_and_text_date() -> None:
    html = """<html><head><title>Đại hội Đảng bộ huyện Tri Tôn lần thứ XI | Báo An Giang</title>
    </head><body><div id="menu"><a href="/">Trang chủ</a> <a href="/x">Thời sự</a></div>
    <div class="content"><div class="date">Cập nhật: Thứ Sáu, 15/05/2015 09:30</div>
    <div>Sáng 15-5, Đảng bộ huyện Tri Tôn tổ chức Đại hội đại biểu lần thứ XI, nhiệm kỳ
    2015-2020, với 250 đại biểu tham dự, đại diện cho hơn 3.000 đảng viên trong toàn huyện.</div>
    <div>Đại hội bầu Ban Chấp hành Đảng bộ huyện khóa mới gồm 35 đồng chí, tiếp tục đẩy mạnh
    phát triển kinh tế, xã hội, bảo đảm quốc phòng, an ninh.</div></div>
    <div class="footer">Báo An Giang, 12 Trần Hưng Đạo, Long Xuyên</div></body></html>"""
    article = parse_portal_html(html, "min")
    assert article.title == "Đại hội Đảng bộ huyện Tri Tôn lần thứ XI"
    assert article.date == dt.datetime(2015, 5, 15, 9, 30)
    assert article.body.split("\n\n") == [
        "Sáng 15-5, Đảng bộ huyện Tri Tôn tổ chức Đại hội đại biểu lần thứ XI, nhiệm kỳ "
        "2015-2020, với 250 đại biểu tham dự, đại diện cho hơn 3.000 đảng viên trong toàn huyện.",
        "Đại hội bầu Ban Chấp hành Đảng bộ huyện khóa mới gồm 35 đồng chí, tiếp tục đẩy mạnh "
        "phát triển kinh tế, xã hội, bảo đảm quốc phòng, an ninh.",
    ]
    assert "Trang chủ" not in article.body and "Trần Hưng Đạo" not in article.body


def test_html5_article_header_h1_beats_the_site_h1() -> None:
    html = """<!doctype html><html><head><title>Báo An Giang</title></head><body>
    <header class="site"><h1><a href="/">Báo An Giang điện tử</a></h1>
      <nav><a href="/">Trang chủ</a> <a href="/xa-hoi">Xã hội</a></nav></header>
    <main><article><header class="article-header"><h1>Lũ về sớm ở đầu nguồn An Phú</h1>
      <time datetime="2015-08-20T06:15:00+07:00">20/08/2015</time></header>
      <div class="hidden-xs col-md-8"><p>Những ngày qua, nước lũ đầu nguồn sông Hậu về sớm,
      người dân xã Khánh An, huyện An Phú đã chủ động gia cố nhà cửa, đê bao.</p>
      <p>Ngành nông nghiệp khuyến cáo nông dân thu hoạch lúa Hè Thu sớm, trước khi lũ lên cao,
      nhằm tránh thiệt hại.</p></div></article></main>
    <footer><p>Báo An Giang, 12 Trần Hưng Đạo, Long Xuyên.</p></footer></body></html>"""
    article = parse_portal_html(html, "h5")
    assert article.title == "Lũ về sớm ở đầu nguồn An Phú"
    assert article.source == "Báo An Giang điện tử"
    assert article.date == dt.datetime(2015, 8, 20, 6, 15)
    assert len(article.body.split("\n\n")) == 2  # a "hidden-xs" wrapper is not furniture
    assert article.body.startswith("Những ngày qua") and "Trần Hưng Đạo" not in article.body


def test_html_bare_text_without_title_is_kept_with_an_empty_title() -> None:
    """As in the JSONL corpora, a document with text but no title is still indexed."""
    article = parse_portal_html("Nội dung<br>dòng hai, không có tiêu đề.", "bare")
    assert article.title == ""
    assert article.body == "Nội dung\n\ndòng hai, không có tiêu đề."


@pytest.mark.parametrize(
    "html",
    ["<html><head><title>Trang trống</title></head><body></body></html>",
     "<html><body><nav><a href='/'>Trang chủ</a></nav><script>var x = 1;</script></body></html>"],
)
def test_html_without_article_text_is_an_error(html: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_portal_html(html, "empty")
    assert info.value.where == "empty" and "no" in info.value.reason


# --- files ---------------------------------------------------------------------------------
