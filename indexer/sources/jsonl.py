"""JSON Lines corpora (the /work/shared/data format), plain or gzip/xz compressed.

One object per line: id, title, body, date, category (string or list), url, source,
optional summary/author/doc_number, and any other keys, kept in `Article.extras`.

A bad line never stops the file: it comes out as a `RecordError("path:line", reason)`
in the stream and reading goes on with the next line, so one broken record in a
100k-document dump costs one document, not the whole run. Lines are read with a
bounded `readline`, so a runaway line (a 50 MB blob) is skipped without being held in
memory.
"""
from __future__ import annotations

import gzip
import json
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from indexer.dates import parse_date
from indexer.docnumber import find_doc_number
from indexer.record import Article, RecordError

__all__ = ["read_jsonl", "record_to_article", "DEFAULT_MAX_RECORD_BYTES", "JSONL_SUFFIXES"]

DEFAULT_MAX_RECORD_BYTES = 10 * 1024 * 1024
#: Name endings this reader handles (lowercase).
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.xz", ".json")

_SKIP_CHUNK = 1024 * 1024  # how much of an oversized line is held at a time while skipping it
_KNOWN = frozenset(
    {"id", "title", "body", "date", "category", "url", "source", "summary", "author", "doc_number"}
)
_OPTIONAL_TEXT = ("url", "source", "summary", "author", "doc_number")


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def _text(obj: dict[str, Any], key: str) -> str:
    """An optional string field: absent or null -> ""; anything else but a string is an error."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, not {type(value).__name__}")
    return value


def _categories(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ValueError(
                f"field 'category' must be a string or a list of strings; "
                f"the list holds a {type(bad[0]).__name__}"
            )
        return [v for v in value if v.strip()]
    raise ValueError(
        f"field 'category' must be a string or a list of strings, not {type(value).__name__}"
    )


def _strip_number_prefix(number: str) -> str:
    """Keep "52/2014/QH13" whether the source wrote that or "Số: 52/2014/QH13"."""
    head, sep, rest = number.partition(":")
    if sep and head.strip().lower() in ("số", "so", "luật số"):
        return rest.strip()
    return number.strip()


def record_to_article(obj: Any) -> Article:
    """Validate one decoded JSON value and build its Article; ValueError says what is wrong.

    Title and body may each be empty (the ViRE passage sets have no titles, some ALQAC
    articles have their whole text in the title), but not both: a record with no text
    cannot be found by any query.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "id" not in obj or obj["id"] is None:
        raise ValueError("missing field 'id'")
    doc_id = obj["id"]
    if not isinstance(doc_id, str):
        raise ValueError(f"field 'id' must be a string, not {type(doc_id).__name__}")
    if not doc_id.strip():
        raise ValueError("empty field 'id'")
    for key in ("title", "body"):
        if key not in obj:
            raise ValueError(f"missing field {key!r}")
    title, body = _text(obj, "title"), _text(obj, "body")
    if not title.strip() and not body.strip():
        raise ValueError("empty record: both 'title' and 'body' are empty")
    raw_date = obj.get("date")
    if raw_date is not None and not isinstance(raw_date, str):
        raise ValueError(f"field 'date' must be a string, not {type(raw_date).__name__}")
    try:
        date = parse_date(raw_date)
    except ValueError as exc:
        raise ValueError(f"unparseable date: {exc}") from None
    fields = {key: _text(obj, key) for key in _OPTIONAL_TEXT}
    doc_number = _strip_number_prefix(fields.pop("doc_number"))
    if not doc_number:
        doc_number = find_doc_number(title, body)
    return Article(
        id=doc_id,
        title=title,
        body=body,
        date=date,
        categories=_categories(obj.get("category")),
        doc_number=doc_number,
        extras={k: v for k, v in obj.items() if k not in _KNOWN},
        **fields,
    )


def _lines(fh: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, content without the line break, size); content is None when over max_bytes.

    Reads at most max_bytes + 2 bytes of a line at once (room for "\\r\\n"); the rest of an
    oversized line is read and dropped in small chunks.
    """
    lineno = 0
    while True:
        chunk = fh.readline(max_bytes + 2)
        if not chunk:
            return
        lineno += 1
        if chunk.endswith(b"\n") or len(chunk) < max_bytes + 2:
            content = chunk.rstrip(b"\r\n")
            yield lineno, (content if len(content) <= max_bytes else None), len(content)
            continue
        size, tail = len(chunk), chunk[-2:]
        while not tail.endswith(b"\n"):
            rest = fh.readline(_SKIP_CHUNK)
            if not rest:
                break
            size, tail = size + len(rest), (tail + rest)[-2:]
        if tail.endswith(b"\n"):
            size -= 2 if tail == b"\r\n" else 1
        yield lineno, None, size


def read_jsonl(
    path: Path, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> Iterator[Article | RecordError]:
    """Stream the records of a .jsonl / .jsonl.gz / .jsonl.xz / .json file in file order.

    Never raises for bad data: unreadable files, corrupt compression, bad lines all come
    out as RecordError items ("path:line" where a line is known), and good lines after a
    bad one are still read. Blank lines are skipped.
    """
    path = Path(path)
    lineno = 0
    try:
        with _open(path) as fh:
            for lineno, content, size in _lines(fh, max_record_bytes):
                where = f"{path}:{lineno}"
                if content is None:
                    yield RecordError(
                        where, f"record of {size} bytes exceeds max_record_bytes={max_record_bytes}"
                    )
                    continue
                try:
                    text = content.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield RecordError(
                        where, f"invalid UTF-8 at byte {exc.start} of the line: {exc.reason}"
                    )
                    continue
                if lineno == 1:
                    text = text.removeprefix("\ufeff")
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield RecordError(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
                    continue
                except RecursionError:
                    yield RecordError(where, "invalid JSON: nested too deeply")
                    continue
                try:
                    yield record_to_article(obj)
                except ValueError as exc:
                    yield RecordError(where, str(exc))
    except FileNotFoundError:
        yield RecordError(str(path), "no such file")
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a truncated .gz/.xz ends in EOFError.
        where = f"{path}:{lineno + 1}" if lineno else str(path)
        yield RecordError(where, f"cannot read file: {type(exc).__name__}: {exc}")
