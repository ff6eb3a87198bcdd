"""Text exports of portal pages: the real seed page, variants of its template, and pages
without an article."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from indexer.record import Article, RecordError
from indexer.sources.portal_text import parse_portal_text
from tests.indexer.sources.seed_page import DATE, TITLE, assert_seed_body


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
