"""The article record every source produces and the index stores, and the one set of rules
that turns a decoded JSON object into an Article.

`article_from_dict` is used both by the corpus reader (`indexer.sources.jsonl`, one object
per line) and by the HTTP API (`search.api.validation`, PUT/POST /documents), so a document
gets the same Article, doc_number included, however it arrives. The limits below are also
the ones `search.api.openapi` publishes.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from indexer.dates import parse_date
from indexer.docnumber import find_doc_number

__all__ = [
    "Article", "RecordError", "article_from_dict", "valid_id", "json_type",
    "ID_PATTERN", "ID_MAX_CHARS", "CATEGORY_MAX_CHARS", "MAX_CATEGORIES", "OPTIONAL_TEXT_FIELDS",
]

# No control characters; no ASCII space or control at either end (so never blank).
ID_PATTERN = r"^[^\u0000-\u0020\u007F]([^\u0000-\u001F\u007F]*[^\u0000-\u0020\u007F])?$"
_ID_RE = re.compile(ID_PATTERN)
ID_MAX_CHARS = 512
CATEGORY_MAX_CHARS = 200
MAX_CATEGORIES = 100  # per document
#: Optional string fields: absent or null -> "".
OPTIONAL_TEXT_FIELDS = ("summary", "url", "author", "source", "doc_number")
_KNOWN = frozenset({"id", "title", "body", "date", "category", "extras", *OPTIONAL_TEXT_FIELDS})
_NUMBER_PREFIXES = ("số", "so", "luật số")


@dataclass(slots=True)
class Article:
    """One document to index. Text fields are Unicode (legacy encodings already converted)."""

    id: str
    title: str
    body: str
    summary: str = ""
    date: dt.datetime | None = None
    categories: list[str] = field(default_factory=list)
    author: str = ""
    url: str = ""
    source: str = ""
    doc_number: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


class RecordError(ValueError):
    """A source record that cannot be indexed; `where` is "file:line" (or the path)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Rejects travel between processes (the indexing pool); pickle's default for an
        # exception re-creates it from `args`, one string, which __init__ does not accept:
        # the pool's result thread died on it and the run waited for ever.
        return (RecordError, (self.where, self.reason))


def valid_id(doc_id: str) -> bool:
    """1 to ID_MAX_CHARS characters, no control characters, no spaces at either end."""
    return len(doc_id) <= ID_MAX_CHARS and bool(_ID_RE.fullmatch(doc_id))


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, with its article: "an array", "null"."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


def _check_id(doc_id: Any) -> str:
    if doc_id is None:
        raise ValueError("field 'id' is required")
    if not isinstance(doc_id, str):
        raise ValueError(f"field 'id' must be a string, not {json_type(doc_id)}")
    if valid_id(doc_id):  # ID_PATTERN decides (the API publishes it); the rest picks a message
        return doc_id
    if not doc_id.strip():
        raise ValueError("field 'id' is blank")
    if len(doc_id) > ID_MAX_CHARS:
        raise ValueError(f"field 'id' is longer than {ID_MAX_CHARS} characters")
    raise ValueError("field 'id' must have no control characters and no spaces at either end")


def _required_text(obj: dict[str, Any], key: str) -> str:
    if key not in obj:
        raise ValueError(f"field '{key}' is required")
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"field '{key}' must be a string, not {json_type(value)}")
    return value


def _optional_text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field '{key}' must be a string or null, not {json_type(value)}")
    return value


def _date(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field 'date' must be a string or null, not {json_type(value)}")
    if not value.strip():
        raise ValueError("field 'date' is blank: use null (or leave it out) for no date")
    try:
        return parse_date(value)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"field 'date' cannot be read: {exc}") from None


def _categories(value: Any) -> list[str]:
    """A string or an array of strings; values are stripped and blank ones dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, list):
        bad = next((v for v in value if not isinstance(v, str)), None)
        if bad is not None:
            raise ValueError("field 'category' must be a string or an array of strings; "
                             f"the array holds {json_type(bad)}")
        values = value
    else:
        raise ValueError("field 'category' must be a string or an array of strings, "
                         f"not {json_type(value)}")
    categories = [c.strip() for c in values if c.strip()]
    if len(categories) > MAX_CATEGORIES:
        raise ValueError(f"field 'category' has {len(categories)} values: "
                         f"at most {MAX_CATEGORIES} categories per document")
    if any(len(c) > CATEGORY_MAX_CHARS for c in categories):
        raise ValueError(f"field 'category' has a value longer than {CATEGORY_MAX_CHARS} "
                         "characters")
    return categories


def _extras(obj: dict[str, Any]) -> dict[str, Any]:
    """The 'extras' object, with every unknown top-level key merged in (those win)."""
    extras = obj.get("extras")
    if extras is None:
        extras = {}
    elif not isinstance(extras, dict):
        raise ValueError(f"field 'extras' must be an object or null, not {json_type(extras)}")
    return {**extras, **{k: v for k, v in obj.items() if k not in _KNOWN}}


def _strip_number_prefix(number: str) -> str:
    """Keep "52/2014/QH13" whether the source wrote that or "Số: 52/2014/QH13"."""
    head, sep, rest = number.partition(":")
    if sep and head.strip().lower() in _NUMBER_PREFIXES:
        return rest.strip()
    return number.strip()


def article_from_dict(obj: Any, doc_id: str | None = None) -> Article:
    """Validate one decoded JSON value and build its Article; ValueError names the field.

    The id is obj["id"], or `doc_id` when the caller has it from elsewhere (a URL; the
    caller decides what a differing obj["id"] means). title and body are required strings;
    either may be empty (the ViRE passage sets have no titles, some ALQAC articles have
    their whole text in the title), not both: a record with no text cannot be found by any
    query. date, category, summary, url, author, source, doc_number and extras are
    optional, null meaning absent; any other key is kept in extras. A doc_number written
    "Số: 52/2014/QH13" is kept as "52/2014/QH13"; a missing one is looked for in the
    header of the body, then in the title.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"a document must be a JSON object, not {json_type(obj)}")
    doc_id = _check_id(obj.get("id") if doc_id is None else doc_id)
    title, body = _required_text(obj, "title"), _required_text(obj, "body")
    if not title.strip() and not body.strip():
        raise ValueError("fields 'title' and 'body' are both empty: nothing to index")
    date = _date(obj.get("date"))
    categories = _categories(obj.get("category"))
    fields = {key: _optional_text(obj, key) for key in OPTIONAL_TEXT_FIELDS}
    doc_number = _strip_number_prefix(fields.pop("doc_number")) or find_doc_number(title, body)
    return Article(id=doc_id, title=title, body=body, date=date, categories=categories,
                   doc_number=doc_number, extras=_extras(obj), **fields)
