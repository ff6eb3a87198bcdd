"""The furniture rules shared by both portal parsers, line by line."""
from __future__ import annotations

import datetime as dt

import pytest

from indexer.sources.page_rules import (
    as_date, clean_line, finish, fold_key, is_chrome, is_dateline, is_field_label, view_count,
)

TITLE = "Huyện ủy An Phú học tập và làm theo Bác"


def test_fold_key_matches_labels_however_typed() -> None:
    assert fold_key("Lượt Người Xem") == "luot nguoi xem"
    assert fold_key("ĐẢNG BỘ") == "dang bo"
    assert fold_key("Lu\u031b\u0323o\u031b\u0300t") == "luot"  # NFD input


def test_clean_line_collapses_every_kind_of_space() -> None:
    assert clean_line("  Huyện\u00a0ủy \u200b An\u3000Phú \ufeff") == "Huyện ủy An Phú"


@pytest.mark.parametrize("line", ["Skip Ribbon Commands", "Cỡ chữ", "Font size", "Gửi email",
                                  "Chia sẻ", "Trang chủ", "Giảm (A-)"])
def test_page_chrome(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize("line", [TITLE, "Chia sẻ kinh nghiệm làm theo Bác", "Email của huyện"])
def test_article_lines_are_not_chrome(line: str) -> None:
    assert not is_chrome(line)


def test_field_labels_are_whole_lines() -> None:
    assert is_field_label("Tiêu đề") and is_field_label("Ngày xuất bản") and is_field_label("Version:")
    assert not is_field_label("Tiêu đề của bài viết")


def test_dates() -> None:
    assert as_date("Thứ 3, Ngày 30/12/2014, 07:42") == dt.datetime(2014, 12, 30, 7, 42)
    assert as_date("Ngày 30/12/2014 Huyện ủy An Phú tổ chức hội nghị tổng kết công tác "
                   "năm và đề ra phương hướng") is None  # a sentence, not a date line
    assert is_dateline("Cập nhật: Thứ Sáu, 15/05/2015 09:30")
    assert not is_dateline("Hội nghị diễn ra ngày 15/05/2015.")


def test_view_count() -> None:
    assert view_count(["Thành Nhân", "Lượt người xem: 1.639"]) == 1639
    assert view_count(["Views: 12,004"]) == 12004
    assert view_count(["Thành Nhân", "Số trang: 3"]) is None


def test_finish_drops_repeats_and_chrome_takes_byline_and_lead() -> None:
    lines = [TITLE, "Thứ 3, Ngày 30/12/2014, 07:42", "(TGAG)- Nhiều năm qua, huyện làm tốt.",
             "In bài viết", "Đoạn thứ hai của bài.", "Thành Nhân"]
    tail = finish(lines, TITLE)
    assert tail.paragraphs == ["(TGAG)- Nhiều năm qua, huyện làm tốt.", "Đoạn thứ hai của bài."]
    assert tail.author == "Thành Nhân"
    assert tail.summary == "(TGAG)- Nhiều năm qua, huyện làm tốt."


def test_finish_keeps_the_last_line_when_the_author_is_known() -> None:
    tail = finish(["Đoạn đầu của bài.", "Thành Nhân"], TITLE, find_author=False)
    assert tail.paragraphs == ["Đoạn đầu của bài.", "Thành Nhân"] and tail.author == ""
    assert tail.summary == ""


def test_a_sentence_is_not_a_byline() -> None:
    tail = finish(["Đoạn đầu của bài.", "Bài viết kết thúc ở đây."], TITLE)
    assert tail.author == "" and len(tail.paragraphs) == 2


def test_byline_prefix_is_dropped() -> None:
    assert finish(["Đoạn đầu của bài.", "Tác giả: Minh Hiển (TGAG)"], TITLE).author == "Minh Hiển (TGAG)"
