"""Portal pages: the real seed text export, HTML fixtures built from it, and file reading."""
from __future__ import annotations

import datetime as dt
import re
import sys
import types
import unicodedata
from pathlib import Path

import pytest

from indexer.record import Article, RecordError
from indexer.sources.portal import parse_portal_html, parse_portal_text, read_portal_file

SHARED = Path(__file__).resolve().parents[4] / "shared"
SEED = SHARED / "seeds" / "portal-article-an-giang-2014.txt"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SHAREPOINT_HTML = FIXTURES / "portal-an-giang-sharepoint.html"
NEWS_HTML = FIXTURES / "portal-an-giang-news.html"

TITLE = ("Huyện ủy An Phú đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh "
         "trở thành hoạt động thường xuyên")
DATE = dt.datetime(2014, 12, 30, 7, 42)
FINAL = ("Những cách làm trên của Huyện ủy An Phú đã mang lại hiệu quả thiết thực, góp phần "
         "đưa việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh trở thành hoạt động thường "
         "xuyên trong từng chi bộ, cơ quan, đơn vị đúng theo tinh thần Chỉ thị số 03-CT/TW của "
         "Bộ Chính trị.")
CHROME = [
    "Skip Ribbon Commands", "Skip to main content", "Chào mừng quý vị", "Cỡ chữ", "Font size",
    "Lượt người xem", "Views", "1639", "Manage Permissions", "Version History",
    "Tiêu đề", "Hình ảnh", "Link thay thế nội dung", "Số lượt người đọc", "Approval Status",
    "Attachments", "Content Type", "Version:", "Created at", "Last modified at", "Thành Nhân",
]


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"{SEED} not present")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Article:
    return parse_portal_text(seed_text, "seed-id")


def assert_seed_body(article: Article) -> None:
    body = article.body
    for chrome in CHROME:
        assert chrome not in body, chrome
    paragraphs = body.split("\n\n")
    assert paragraphs[0].startswith("(TGAG)- Nhiều năm qua")  # the lead is article text too
    assert paragraphs[-1] == FINAL
    numbered = [p for p in paragraphs if re.match(r"^\d- ", p)]
    assert [p[:2] for p in numbered] == [f"{i}-" for i in range(1, 8)]
    assert numbered[4].startswith("5- Đề cao vai trò nêu gương")  # adjacent 5-/6- stay apart
    assert numbered[5].startswith("6- Trong báo cáo tổng kết năm")
    assert len(paragraphs) == 15  # lead, 5 paragraphs, 1- to 7-, 2 closing paragraphs
    assert "\xa0" not in body and "  " not in body


# --- text export ---------------------------------------------------------------------------

def test_seed_page(seed: Article) -> None:
    assert seed.id == "seed-id"
    assert seed.title == TITLE
    assert seed.date == DATE
    assert seed.categories == ["Xây dựng Đảng"]
    assert seed.author == "Thành Nhân"
    assert seed.extras == {"views": 1639}
    assert seed.summary.startswith("(TGAG)-")
    assert seed.summary.endswith("trong đó có Đảng bộ huyện An Phú.")
    assert seed.source == "Cổng thông tin điện tử Đảng bộ tỉnh An Giang"
    assert seed.doc_number == ""  # an article about Chỉ thị 03-CT/TW is not that directive
    assert_seed_body(seed)


def lines_without(text: str, *patterns: str) -> str:
    return "\n".join(x for x in text.splitlines() if not any(re.match(p, x) for p in patterns))


def test_without_author(seed_text: str, seed: Article) -> None:
    article = parse_portal_text(lines_without(seed_text, r"^Thành Nhân$"), "x")
    assert article.author == ""
    assert article.body == seed.body
    assert article.extras == {"views": 1639}


def test_without_views_and_field_list(seed_text: str, seed: Article) -> None:
    cut = seed_text[: seed_text.index("Lượt người xem")]
    article = parse_portal_text(cut, "x")
    assert article.extras == {}
    assert article.author == "Thành Nhân"
    assert article.body == seed.body


def test_without_views_keeps_the_field_list_out(seed_text: str, seed: Article) -> None:
    text = lines_without(seed_text, r"^Lượt người xem", r"^Manage Permissions", r"^\|$",
                         r"^Version History")
    article = parse_portal_text(text, "x")
    assert article.extras == {}
    assert article.author == "Thành Nhân"
    assert article.body == seed.body


def test_other_section_and_date(seed_text: str) -> None:
    text = (seed_text.replace("Xây dựng Đảng", "Tin tức - Sự kiện")
            .replace("Thứ 3, Ngày 30/12/2014, 07:42", "Chủ nhật, Ngày 04/01/2015, 16:05")
            .replace("30/12/2014\n", "04/01/2015\n"))
    article = parse_portal_text(text, "x")
    assert article.categories == ["Tin tức - Sự kiện"]
    assert article.date == dt.datetime(2015, 1, 4, 16, 5)
    assert article.title == TITLE


def test_without_section_font_tool_or_ribbon(seed_text: str, seed: Article) -> None:
    text = lines_without(seed_text, r"^Skip ", r"^Xây dựng Đảng$", r"^Cỡ chữ", r"^Chào mừng")
    article = parse_portal_text(text, "x")
    assert article.title == TITLE
    assert article.categories == []
    assert article.date == DATE
    assert article.source == ""
    assert article.body == seed.body


def test_title_before_date(seed_text: str, seed: Article) -> None:
    date_line = "Thứ 3, Ngày 30/12/2014, 07:42"
    text = seed_text.replace(date_line + "\n" + TITLE, TITLE + "\n" + date_line)
    assert text != seed_text
    article = parse_portal_text(text, "x")
    assert (article.title, article.date, article.categories) == (TITLE, DATE, ["Xây dựng Đảng"])
    assert article.body == seed.body


def test_title_before_date_without_font_tool(seed_text: str, seed: Article) -> None:
    date_line = "Thứ 3, Ngày 30/12/2014, 07:42"
    text = lines_without(seed_text.replace(date_line + "\n" + TITLE, TITLE + "\n" + date_line),
                         r"^Cỡ chữ", r"^30/12/2014$")
    article = parse_portal_text(text, "x")
    assert (article.title, article.date) == (TITLE, DATE)
    assert article.body == seed.body


def test_a_different_article_on_the_same_template() -> None:
    page = "\n".join([
        "Skip Ribbon Commands", "Skip to main content", "", "Tin tức - Sự kiện", "",
        "Chào mừng quý vị đến với Cổng thông tin điện tử Đảng bộ tỉnh An Giang!",
        "Tin tức - Sự kiện", "Thứ Hai, Ngày 05/01/2015, 15:10",
        "Nghị quyết số 05-NQ/TU về phát triển nông nghiệp",
        "Cỡ chữ: Font size: Giảm (A-) Mặc định (A) Tăng (A+)", "05/01/2015", "",
        "Ngày 5/1, Tỉnh ủy ban hành Nghị quyết về phát triển nông nghiệp giai đoạn 2015-2020.",
        "", "Nghị quyết đặt mục tiêu tăng trưởng 4% mỗi năm.", "",
        "Lượt người xem:  Views:   1.204", "Manage PermissionsManage Permissions", "|",
        "Version HistoryVersion History", "", "Tiêu đề", "", "Hình ảnh", "", "Tóm tắt", "",
        "Content Type: Tin Tức Mở Rộng", "Version:", "Created at by", "Last modified at by",
    ])
    article = parse_portal_text(page, "p2")
    assert article.title == "Nghị quyết số 05-NQ/TU về phát triển nông nghiệp"
    assert article.doc_number == "05-NQ/TU"
    assert article.date == dt.datetime(2015, 1, 5, 15, 10)
    assert article.categories == ["Tin tức - Sự kiện"]
    assert article.extras == {"views": 1204}
    assert article.summary == ""  # no "(TAG)-" lead
    assert article.author == ""  # the last paragraph is a sentence, not a byline
    assert article.body.split("\n\n") == [
        "Ngày 5/1, Tỉnh ủy ban hành Nghị quyết về phát triển nông nghiệp giai đoạn 2015-2020.",
        "Nghị quyết đặt mục tiêu tăng trưởng 4% mỗi năm.",
    ]


@pytest.mark.parametrize(
    "page",
    ["", "\n\n", "Skip Ribbon Commands\nSkip to main content\n",
     "Xây dựng Đảng\nThứ 3, Ngày 30/12/2014, 07:42\nTiêu đề bài\nLượt người xem: Views: 5\n"],
)
def test_pages_without_article_text_are_errors(page: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_portal_text(page, "bad-page")
    assert info.value.where == "bad-page"
    assert info.value.reason


# --- HTML ----------------------------------------------------------------------------------

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

def test_read_text_file_id_is_the_absolute_path(tmp_path: Path, seed_text: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "pages" / "an-phu.txt"
    page.parent.mkdir()
    page.write_text(seed_text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (first,) = read_portal_file(Path("pages/an-phu.txt"))  # relative, as a user would type it
    monkeypatch.chdir(page.parent)
    (second,) = read_portal_file(Path("an-phu.txt"))
    assert isinstance(first, Article) and isinstance(second, Article)
    assert first.id == second.id == str(page.resolve())
    assert first.title == TITLE and first.extras["views"] == 1639
    assert first.extras["file"] == str(page.resolve())


def test_read_html_file_id_is_the_canonical_url(tmp_path: Path) -> None:
    page = tmp_path / "saved.htm"
    page.write_bytes(NEWS_HTML.read_bytes())
    (article,) = read_portal_file(page)
    assert isinstance(article, Article)
    assert article.id.startswith("https://angiang.dcs.vn/")
    (sharepoint,) = read_portal_file(SHAREPOINT_HTML)
    assert isinstance(sharepoint, Article) and sharepoint.id == str(SHAREPOINT_HTML.resolve())


def test_read_utf8_with_bom_and_utf16(tmp_path: Path, seed_text: str) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + seed_text.encode("utf-8"))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(seed_text.replace("\n", "\r\n").encode("utf-16"))  # as VNTC shipped
    for path in (bom, utf16):
        (article,) = read_portal_file(path)
        assert isinstance(article, Article), article
        assert article.title == TITLE and article.date == DATE


def cp1258_bytes(text: str) -> bytes:
    """Windows-1258 spelling: precomposed base letters (ê, ơ, ư) plus separate tone marks."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def test_html_declared_legacy_charset(tmp_path: Path) -> None:
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=windows-1258"><title>Tỉnh ủy An Giang sơ kết công tác Đảng</title></head>'
            "<body><div><p>Ngày 30 tháng 12 năm 2014, Tỉnh ủy An Giang tổ chức hội nghị sơ kết "
            "công tác xây dựng Đảng, đánh giá kết quả học tập và làm theo Bác.</p></div>"
            "</body></html>")
    page = tmp_path / "old.html"
    page.write_bytes(cp1258_bytes(html))
    (article,) = read_portal_file(page)
    assert isinstance(article, Article), article
    assert article.title == "Tỉnh ủy An Giang sơ kết công tác Đảng"
    assert unicodedata.is_normalized("NFC", article.body)
    assert article.body.startswith("Ngày 30 tháng 12 năm 2014, Tỉnh ủy")
    assert article.date == dt.datetime(2014, 12, 30)


BAD_UTF8 = b"Ti\xeau \xf0\x28 \xff\xfe page\n"


def test_invalid_utf8_without_legacy_module(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", None)  # import now fails
    page = tmp_path / "legacy.txt"
    page.write_bytes(BAD_UTF8)
    (error,) = read_portal_file(page)
    assert isinstance(error, RecordError)
    assert error.where == str(page)
    assert "not valid UTF-8" in error.reason and "indexer.legacy" in error.reason


def fake_legacy(result: str | None) -> types.ModuleType:
    module = types.ModuleType("indexer.legacy")

    class LegacyDecodeError(UnicodeDecodeError):
        def __init__(self, data: bytes, reason: str) -> None:
            super().__init__("vietnamese-legacy", data, 0, len(data), reason)

    def decode_bytes(data: bytes) -> str:
        if result is None:
            raise LegacyDecodeError(data, "no encoding gives Vietnamese text")
        return result

    module.LegacyDecodeError = LegacyDecodeError  # type: ignore[attr-defined]
    module.decode_bytes = decode_bytes  # type: ignore[attr-defined]
    return module


def test_invalid_utf8_goes_to_legacy_decoder(tmp_path: Path, seed_text: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake_legacy(seed_text))
    page = tmp_path / "legacy.txt"
    page.write_bytes(BAD_UTF8)
    (article,) = read_portal_file(page)
    assert isinstance(article, Article) and article.title == TITLE


def test_legacy_decoder_failure_is_a_record_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "indexer.legacy", fake_legacy(None))
    page = tmp_path / "binary.html"
    page.write_bytes(BAD_UTF8)
    (error,) = read_portal_file(page)
    assert isinstance(error, RecordError) and error.where == str(page)
    assert "nor a known legacy Vietnamese encoding" in error.reason
    assert "no encoding gives Vietnamese text" in error.reason


def test_real_legacy_module_decodes_a_vni_export(tmp_path: Path, seed_text: str) -> None:
    legacy = pytest.importorskip("indexer.legacy")
    if not hasattr(legacy, "encode_legacy"):
        pytest.skip("indexer.legacy has no encode_legacy to build the input")
    page = tmp_path / "vni.txt"
    page.write_bytes(legacy.encode_legacy(seed_text, "vni"))
    (article,) = read_portal_file(page)
    assert isinstance(article, Article), article
    assert article.title == TITLE and article.date == DATE and article.author == "Thành Nhân"


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    (error,) = read_portal_file(missing)
    assert isinstance(error, RecordError) and error.where == str(missing)
    assert "cannot read file" in error.reason

    other = tmp_path / "page.pdf"
    other.write_bytes(b"%PDF-1.4")
    (error,) = read_portal_file(other)
    assert isinstance(error, RecordError) and "unsupported page type '.pdf'" in error.reason

    big = tmp_path / "big.html"
    big.write_bytes(b"<p>" + b"a" * 2000 + b"</p>")
    (error,) = read_portal_file(big, max_bytes=1000)
    assert isinstance(error, RecordError) and "exceeds max_bytes=1000" in error.reason

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    (error,) = read_portal_file(empty)
    assert isinstance(error, RecordError) and error.where == str(empty)
    assert error.reason == "no text in page"
