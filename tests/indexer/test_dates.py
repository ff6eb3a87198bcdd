"""parse_date / find_date on the forms the corpora and portals really use."""
from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from indexer.dates import find_date, parse_date

SHARED = Path(__file__).resolve().parents[3] / "shared"

D = dt.datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-12-30", D(2014, 12, 30)),
        ("2014-12-30T07:42:00", D(2014, 12, 30, 7, 42)),
        ("2014-12-30T07:42", D(2014, 12, 30, 7, 42)),
        ("2014-12-30 07:42:15", D(2014, 12, 30, 7, 42, 15)),
        # Offsets are turned into Vietnam wall-clock time (UTC+7), then dropped.
        ("2014-12-30T07:42:00+07:00", D(2014, 12, 30, 7, 42)),
        ("2014-12-30T00:42:00Z", D(2014, 12, 30, 7, 42)),
        ("2014-12-29T20:42:00-04:00", D(2014, 12, 30, 7, 42)),
        ("30/12/2014", D(2014, 12, 30)),
        ("30-12-2014", D(2014, 12, 30)),
        ("30.12.2014", D(2014, 12, 30)),
        ("1/2/2014", D(2014, 2, 1)),
        ("30/12/2014 07:42", D(2014, 12, 30, 7, 42)),
        ("30/12/2014 7:42:09", D(2014, 12, 30, 7, 42, 9)),
        ("30/12/2014 - 07:42", D(2014, 12, 30, 7, 42)),
        ("07:42 30/12/2014", D(2014, 12, 30, 7, 42)),
        ("30/12/2014 7h42", D(2014, 12, 30, 7, 42)),
        ("30/12/2014 07:42 PM", D(2014, 12, 30, 19, 42)),
        ("Thứ 3, Ngày 30/12/2014, 07:42", D(2014, 12, 30, 7, 42)),
        ("Thứ Hai, Ngày 29/12/2014, 16:05", D(2014, 12, 29, 16, 5)),
        ("Thứ hai, ngày 29/12/2014 16:05", D(2014, 12, 29, 16, 5)),
        ("Chủ nhật, ngày 28/12/2014", D(2014, 12, 28)),
        ("Chủ Nhật, 28/12/2014", D(2014, 12, 28)),
        ("Thứ Bảy, 27-12-2014", D(2014, 12, 27)),
        ("ngày 30 tháng 12 năm 2014", D(2014, 12, 30)),
        ("Ngày 30 tháng 12 năm 2014", D(2014, 12, 30)),
        ("Hà Nội, ngày 30 tháng 12 năm 2014", D(2014, 12, 30)),
        ("TP. Hồ Chí Minh, ngày 1 tháng 7 năm 2020", D(2020, 7, 1)),
        ("An Giang, ngày 05 tháng 01 năm 2015", D(2015, 1, 5)),
        ("ngay 30 thang 12 nam 2014", D(2014, 12, 30)),
        ("Ha Noi, ngay 30 thang 12 nam 2014", D(2014, 12, 30)),
        # A real header of the VLC corpus (Luật Điện lực) has no space after "ngày".
        ("Hà Nội, ngày03 tháng 12 năm 2004", D(2004, 12, 3)),
        ("  Thứ\u00a03,  Ngày 30/12/2014,\u00a007:42  ", D(2014, 12, 30, 7, 42)),
        # Decomposed (NFD) input, as pasted from some editors.
        ("Th\u01b0\u0301 3, Nga\u0300y 30/12/2014, 07:42", D(2014, 12, 30, 7, 42)),
    ],
)
def test_accepted_forms(text: str, expected: dt.datetime) -> None:
    got = parse_date(text)
    assert got == expected
    assert got is not None and got.tzinfo is None


@pytest.mark.parametrize("text", [None, "", "   ", "\u00a0"])
def test_missing_values_are_none(text: str | None) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/02/2014", "day is out of range"),
        ("29/02/2014", "day is out of range"),
        ("2014-02-31", "day is out of range"),
        ("ngày 31 tháng 4 năm 2014", "day is out of range"),
        ("12/30/2014", "month 30 is not 1-12"),  # month-first is never guessed
        ("00/12/2014", "day is out of range"),
        ("30/12/2014 25:00", "hour must be in 0..23"),
        ("30/12/2014 07:61", "minute must be in 0..59"),
        ("hôm qua", "unrecognised date"),
        ("2014", "unrecognised date"),
        ("30/12/14", "unrecognised date"),
        ("30/12-2014", "unrecognised date"),
        ("30/12/2014 lúc chiều", "unrecognised date"),
        ("Thứ 3, Ngày 30/12/2014, 07:42 và 08:00", "unrecognised date"),
        ("9999-12-31T23:00:00-05:00", "out of range in UTC+7"),  # not an OverflowError
    ],
)
def test_rejected_forms_name_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_date(text)
    assert reason in str(info.value)
    assert repr(text) in str(info.value)


def test_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_date(20141230)  # type: ignore[arg-type]


def test_leap_day_is_accepted() -> None:
    assert parse_date("29/02/2016") == D(2016, 2, 29)


def test_find_date_in_running_text() -> None:
    page = "Xây dựng Đảng Thứ 3, Ngày 30/12/2014, 07:42 Huyện ủy An Phú … 31/12/2014"
    assert find_date(page) == D(2014, 12, 30, 7, 42)
    header = "QUỐC HỘI\nLuật số: 91/2015/QH13\nHà Nội, ngày 24 tháng 11 năm 2015\nBỘ LUẬT"
    assert find_date(header) == D(2015, 11, 24)
    # Impossible dates are skipped, not raised; the earliest valid one wins.
    assert find_date("hạn 31/02/2014, sau đó ngày 1 tháng 3 năm 2014 và 05/03/2014") == D(2014, 3, 1)
    assert find_date("không có ngày tháng nào, chỉ 24/7 và 2014") is None


def test_vlc_header_dates_match_the_corpus() -> None:
    """The corpus's own date field was parsed from "Hà Nội, ngày … tháng … năm …" headers."""
    corpus = SHARED / "data" / "vlc-vietnamese-laws" / "corpus.jsonl.gz"
    if not corpus.exists():
        pytest.skip(f"{corpus} not present")
    same = checked = 0
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            assert parse_date(doc["date"]) == (
                D.fromisoformat(doc["date"]) if doc["date"] else None
            )
            if not doc["date"]:
                continue
            checked += 1
            same += find_date(doc["body"][:600]) == D.fromisoformat(doc["date"])
    assert checked == 106
    # One law (Luật Điện lực) has header "ngày03 tháng 12 năm 2004" but date 2001-12-25 in
    # the corpus: the corpus is wrong there, so not every header can agree.
    assert same >= checked - 2
