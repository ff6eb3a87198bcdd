"""Dates as Vietnamese sources write them, turned into naive datetimes.

Sources mix ISO 8601 (the JSONL corpora, HTML meta tags) with day-first forms
("30/12/2014 07:42"), the SharePoint portal form ("Thứ 3, Ngày 30/12/2014, 07:42")
and the long form of official documents ("Hà Nội, ngày 30 tháng 12 năm 2014",
sometimes typed without diacritics). The index compares dates from all of them, so
they all come out the same way: naive, in Vietnam's wall-clock time (UTC+7). A
timestamp that carries an offset or "Z" is converted to UTC+7 first, so that
"2014-12-30T00:42:00Z" and the portal's "30/12/2014, 07:42" are the same instant.

Day-first is the only numeric order accepted: "12/30/2014" is an error, never
silently read as month-first.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

__all__ = ["LOCAL_TZ", "parse_date", "find_date"]

#: Vietnam has kept UTC+7 without daylight saving since 1975.
LOCAL_TZ = dt.timezone(dt.timedelta(hours=7))

_FORMS = (
    "ISO 8601, DD/MM/YYYY (or - .) with optional HH:MM, "
    "'Thứ N, Ngày DD/MM/YYYY, HH:MM' or 'ngày D tháng M năm YYYY'"
)

# All patterns below run on *folded* text: lowercase, no diacritics, đ -> d, so the
# unaccented "ngay 30 thang 12 nam 2014" needs no patterns of its own.


def _time_re(p: str = "") -> str:
    """Time of day: "07:42", "7h42", "07:42:10", "7:42 PM" / "SA" / "CH" (groups named p+H...)."""
    return (rf"(?P<{p}H>\d{{1,2}})\s*[:hg]\s*(?P<{p}M>\d{{2}})(?:\s*:\s*(?P<{p}S>\d{{2}}))?"
            rf"(?:\s*(?P<{p}ampm>am|pm|sa|ch))?")


_TIME = _time_re()
_WEEKDAY = r"(?:thu\s*(?:[2-8]|hai|ba|tu|bon|nam|sau|bay)|chu\s*nhat|cn)"
_NUMERIC_DATE = r"(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})"
_LONG_DATE = r"ngay\s*(?P<d>\d{1,2})\s+thang\s*(?P<m>\d{1,2})\s*,?\s+nam\s*(?P<y>\d{4})"

# "30/12/2014", "Thứ 3, Ngày 30/12/2014, 07:42", "30/12/2014 - 07:42", "07:42 30/12/2014".
_NUMERIC_RE = re.compile(
    rf"(?:{_WEEKDAY}\s*[,-]?\s*)?(?:ngay\s*)?"
    rf"(?:(?P<tb>{_time_re('b')})\s*[,-]?\s*)?"
    rf"{_NUMERIC_DATE}"
    rf"(?:\s*(?:[,-]|luc)?\s*{_TIME})?"
)
# "ngày 30 tháng 12 năm 2014", with an optional place prefix "Hà Nội, " and weekday.
_LONG_RE = re.compile(
    rf"(?:[^\d,]{{1,60}},\s*)?(?:{_WEEKDAY}\s*,?\s*)?{_LONG_DATE}"
    rf"(?:\s*(?:[,-]|luc)?\s*{_TIME})?"
)

# For find_date(): the same shapes, searched inside a longer text.
_SEARCH_RES = (
    re.compile(rf"(?<!\d){_NUMERIC_DATE}(?:\s*(?:[,-]|luc)?\s*{_TIME})?(?!\d)"),
    re.compile(rf"(?<![a-z]){_LONG_DATE}(?!\d)"),
)


def _fold(text: str) -> str:
    """Lowercase and strip diacritics; keeps length-independent matching simple."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip().lower()


def _build(value: str, y: str, m: str, d: str, hh: str | None, mm: str | None,
           ss: str | None, ampm: str | None) -> dt.datetime:
    """Make the datetime, turning datetime's terse errors into ones that name the input."""
    year, month, day = int(y), int(m), int(d)
    hour, minute, second = int(hh or 0), int(mm or 0), int(ss or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"impossible time in date {value!r}: hour {hour} with {ampm.upper()}")
        if ampm in ("pm", "ch"):  # "CH" = chiều (afternoon)
            hour = hour % 12 + 12
        else:
            hour = hour % 12
    if not 1 <= month <= 12:
        raise ValueError(
            f"impossible date {value!r}: month {month} is not 1-12 (dates are day/month/year)"
        )
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"impossible date {value!r}: {exc}") from None


def _from_iso(text: str) -> dt.datetime | None:
    """ISO 8601 via the standard library; None when the text is not ISO-shaped."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?", text):
        return None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"impossible or malformed ISO 8601 date {text!r}: {exc}") from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(LOCAL_TZ).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"date {text!r} is out of range in UTC+7") from None
    return parsed


def parse_date(value: str | None) -> dt.datetime | None:
    """Parse one date field; None for a missing or blank value.

    Raises ValueError naming the value and the reason when the text is not a date
    in a known form or names an impossible day (31/02/2014).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"date must be a string, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value).replace("\xa0", " ").strip()
    if not text:
        return None
    iso = _from_iso(text)
    if iso is not None:
        return iso
    folded = _fold(text)
    m = _NUMERIC_RE.fullmatch(folded)
    if m:
        g = m.groupdict()
        hh, mm, ss, ampm = g["H"], g["M"], g["S"], g["ampm"]
        if g["tb"]:
            if hh:
                raise ValueError(f"unrecognised date {value!r}: two times of day")
            hh, mm, ss, ampm = g["bH"], g["bM"], g["bS"], g["bampm"]
        return _build(value, g["y"], g["m"], g["d"], hh, mm, ss, ampm)
    m = _LONG_RE.fullmatch(folded)
    if m:
        g = m.groupdict()
        return _build(value, g["y"], g["m"], g["d"], g["H"], g["M"], g["S"], g["ampm"])
    raise ValueError(f"unrecognised date {value!r}: expected {_FORMS}")


def find_date(text: str) -> dt.datetime | None:
    """First valid day-first or long-form date inside running text, else None.

    For pages whose date is only in the visible text (a byline, a header line);
    impossible dates found along the way are skipped, not raised.
    """
    folded = _fold(unicodedata.normalize("NFC", text))
    best: tuple[int, dt.datetime] | None = None
    for pattern in _SEARCH_RES:
        for m in pattern.finditer(folded):
            if best is not None and m.start() >= best[0]:
                break
            g = m.groupdict()
            try:
                found = _build(m.group(0), g["y"], g["m"], g["d"], g.get("H"), g.get("M"),
                               g.get("S"), g.get("ampm"))
            except ValueError:
                continue
            best = (m.start(), found)
            break
    return best[1] if best else None
