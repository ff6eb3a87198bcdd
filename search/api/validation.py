"""Request validation: query parameters, document bodies, body reading.

The limits here are the ones `search.api.openapi` publishes; both read them from here or
from Settings, so the spec and the checks cannot drift apart. Documents are checked by
`indexer.record.article_from_dict` (re-exported limits: ID_PATTERN, ID_MAX_CHARS,
CATEGORY_MAX_CHARS, MAX_CATEGORIES, valid_id), the same rules as corpus files.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

import falcon

from config.settings import Settings
from indexer.record import (
    CATEGORY_MAX_CHARS, ID_MAX_CHARS, ID_PATTERN, MAX_CATEGORIES, Article, article_from_dict,
    valid_id,
)
from search.api.errors import ApiError, bad_request

__all__ = [
    "SORTS", "ID_PATTERN", "ID_MAX_CHARS", "CATEGORY_MAX_CHARS", "MAX_CATEGORIES", "MAX_FILTERS",
    "MAX_JSON_DEPTH", "MAX_WAIT_SECONDS", "SUGGEST_MAX_CHARS", "SUGGEST_MAX_LIMIT",
    "search_request", "suggest_params", "wait_params", "valid_id", "read_body", "parse_json",
    "parse_ndjson", "document_to_article", "ItemError",
]

SORTS = ("relevance", "newest", "oldest")
# ID_PATTERN, ID_MAX_CHARS, CATEGORY_MAX_CHARS and MAX_CATEGORIES (document limits) come
# from indexer.record, which applies them to corpus records too.
MAX_FILTERS = 20  # category= values per search
MAX_JSON_DEPTH = 32
MAX_WAIT_SECONDS = 20.0  # below gunicorn's 30 s timeout
DEFAULT_WAIT_SECONDS = 10.0
SUGGEST_MAX_CHARS = 100
SUGGEST_MAX_LIMIT = 20
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT_RE = re.compile(r"[0-9]{1,9}")
_BOOLS = {"1": True, "true": True, "0": False, "false": False}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# -- query parameters ---------------------------------------------------------------------
def _single(req: falcon.Request, name: str) -> str | None:
    value = req.params.get(name)
    if isinstance(value, list):
        raise bad_request(f"parameter '{name}' may be given only once", field=name)
    return value


def _int(req: falcon.Request, name: str, default: int, low: int, high: int) -> int:
    raw = _single(req, name)
    if raw is None:
        return default
    if not _INT_RE.fullmatch(raw):
        raise bad_request(f"parameter '{name}' must be an integer from {low} to {high}", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise bad_request(f"parameter '{name}' must be from {low} to {high}, not {value}", field=name)
    return value


def _bool(req: falcon.Request, name: str, default: bool) -> bool:
    raw = _single(req, name)
    if raw is None:
        return default
    value = _BOOLS.get(raw.lower())
    if value is None:
        raise bad_request(f"parameter '{name}' must be true, false, 1 or 0", field=name)
    return value


def _date(req: falcon.Request, name: str) -> dt.date | None:
    raw = _single(req, name)
    if raw is None:
        return None
    if not _DATE_RE.fullmatch(raw):
        raise bad_request(f"parameter '{name}' must be a date YYYY-MM-DD", field=name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"parameter '{name}': no such day {raw}", field=name) from None


def _clean_text(value: str) -> str:
    """Control characters (never meaningful in a query) become spaces."""
    return _CONTROL.sub(" ", value).strip()


def _request_class():
    try:
        from search.engine import SearchRequest
    except ImportError:  # the engine module is not there (unit tests with a fake engine)
        return _FallbackSearchRequest
    return SearchRequest


@dataclass(frozen=True)
class _FallbackSearchRequest:
    q: str = ""
    categories: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    highlight: bool = True
    facets: bool = True


def search_request(req: falcon.Request, settings: Settings):
    """A SearchRequest from GET /search parameters; ApiError 400 when one is invalid.
    Unknown parameters are ignored."""
    s = settings.search
    q = _single(req, "q") or ""
    if len(q) > s.max_query_chars:
        raise bad_request(f"parameter 'q' is longer than {s.max_query_chars} characters", field="q")
    q = _clean_text(unicodedata.normalize("NFC", q))
    raw_cats = req.params.get("category", [])
    raw_cats = [raw_cats] if isinstance(raw_cats, str) else raw_cats
    if len(raw_cats) > MAX_FILTERS:
        raise bad_request(f"at most {MAX_FILTERS} 'category' values", field="category")
    categories = []
    for cat in raw_cats:
        if len(cat) > CATEGORY_MAX_CHARS:
            raise bad_request(f"a 'category' value is longer than {CATEGORY_MAX_CHARS} characters",
                              field="category")
        cat = _clean_text(unicodedata.normalize("NFC", cat))
        if cat and cat not in categories:
            categories.append(cat)
    date_from, date_to = _date(req, "date_from"), _date(req, "date_to")
    if date_from and date_to and date_from > date_to:
        raise bad_request("'date_from' is after 'date_to'", field="date_from")
    sort = _single(req, "sort")
    if sort is None:
        sort = "relevance" if q else "newest"  # no query: browse the filtered set, newest first
    elif sort not in SORTS:
        raise bad_request(f"parameter 'sort' must be one of {', '.join(SORTS)}", field="sort")
    per_page = _int(req, "per_page", min(s.per_page, s.max_per_page), 1, s.max_per_page)
    page = _int(req, "page", 1, 1, s.max_depth)
    if page * per_page > s.max_depth:
        raise bad_request(f"results deeper than {s.max_depth} cannot be paged to "
                          f"(page * per_page = {page * per_page})", field="page")
    return _request_class()(
        q=q, categories=tuple(categories), date_from=date_from, date_to=date_to, sort=sort,
        page=page, per_page=per_page, highlight=_bool(req, "highlight", True),
        facets=_bool(req, "facets", True),
    )


def suggest_params(req: falcon.Request) -> tuple[str, int]:
    q = _single(req, "q") or ""
    if len(q) > SUGGEST_MAX_CHARS:
        raise bad_request(f"parameter 'q' is longer than {SUGGEST_MAX_CHARS} characters", field="q")
    return _clean_text(unicodedata.normalize("NFC", q)), _int(req, "limit", 8, 1, SUGGEST_MAX_LIMIT)


def wait_params(req: falcon.Request) -> float | None:
    """Seconds to wait for a write to become searchable (None: answer at once)."""
    if not _bool(req, "wait", False):
        if _single(req, "timeout") is not None:
            _timeout(req)  # still validated, so a typo is reported
        return None
    return _timeout(req)


def _timeout(req: falcon.Request) -> float:
    raw = _single(req, "timeout")
    if raw is None:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw) if len(raw) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= MAX_WAIT_SECONDS:  # also false for NaN
        raise bad_request(f"parameter 'timeout' must be a number of seconds from 0 to "
                          f"{MAX_WAIT_SECONDS:g}", field="timeout")
    return value


# -- bodies ------------------------------------------------------------------------------
def read_body(req: falcon.Request, max_bytes: int, media_types: Iterable[str]) -> tuple[str, bytes]:
    """(media type, body bytes): 415 for another or missing type or a charset other than
    UTF-8; 413 when Content-Length says too much or more arrives than max_bytes (never
    reads more than max_bytes + 1); 400 for an empty body."""
    media_type, params = falcon.parse_header(req.content_type or "")
    media_type = media_type.strip().lower()
    if media_type not in media_types:
        raise ApiError(falcon.HTTP_415, "Unsupported media type",
                       f"Content-Type must be {' or '.join(media_types)}")
    charset = params.get("charset", "utf-8").strip().lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(falcon.HTTP_415, "Unsupported media type", "the body must be UTF-8")
    length = req.content_length  # falcon: 400 if the header is not a non-negative integer
    too_large = ApiError(falcon.HTTP_413, "Body too large",
                         f"request bodies are limited to {max_bytes} bytes")
    if length is not None and length > max_bytes:
        raise too_large
    if length is None and "chunked" in (req.get_header("Transfer-Encoding") or "").lower():
        # No length: gunicorn's wsgi.input ends at the last chunk, so read it directly
        # (falcon's bounded_stream would read nothing), still never more than max + 1.
        data = req.stream.read(max_bytes + 1)
    else:
        data = req.bounded_stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    if not data.strip():
        raise bad_request("the request body is empty")
    return media_type, data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_json(value: Any) -> None:
    """Depth at most MAX_JSON_DEPTH and only UTF-8-encodable strings (no lone surrogates)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            item.encode("utf-8")  # UnicodeEncodeError is a ValueError
        elif isinstance(item, dict):
            for k, v in item.items():
                k.encode("utf-8")
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def parse_json(data: bytes | str) -> Any:
    """Decode one JSON document; ValueError with a readable reason when it is not valid."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_reject_constant)
        _check_json(value)
    except UnicodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc.reason if hasattr(exc, 'reason') else exc}") from None
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return value


def parse_ndjson(data: bytes) -> list[tuple[int, Any | ValueError]]:
    """(line number, value or the ValueError) for every non-blank line."""
    out: list[tuple[int, Any | ValueError]] = []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            out.append((lineno, parse_json(line)))
        except ValueError as exc:
            out.append((lineno, exc))
    return out


class ItemError(ValueError):
    """A document body that cannot be indexed."""


def document_to_article(obj: Any, doc_id: str | None = None) -> Article:
    """An Article from a PUT body (doc_id from the path) or a bulk item (id in the object).

    The document rules are `indexer.record.article_from_dict`'s, the same the corpus
    reader applies; this adds only the API's own check that an id in a PUT body matches
    the one in the URL. Every problem is an ItemError (a 400 for the caller)."""
    if isinstance(obj, dict) and doc_id is not None:
        body_id = obj.get("id")
        if body_id is not None and body_id != doc_id:
            raise ItemError("field 'id' differs from the id in the URL")
    try:
        return article_from_dict(obj, doc_id)
    except ValueError as exc:
        raise ItemError(str(exc)) from None
