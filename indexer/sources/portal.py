"""Article page files of news and party portals: text exports and saved HTML.

A page comes as a .txt export or a saved .html/.htm page, in UTF-8, UTF-16 with a BOM, a
charset the HTML declares, or a legacy Vietnamese encoding (`indexer.legacy`). Each file
gives one Article (`portal_text`, `portal_html`) or a RecordError naming the file.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from indexer.record import Article, RecordError
from indexer.sources.portal_html import parse_portal_html
from indexer.sources.portal_text import parse_portal_text

__all__ = [
    "parse_portal_text",
    "parse_portal_html",
    "read_portal_file",
    "PORTAL_SUFFIXES",
    "DEFAULT_MAX_PAGE_BYTES",
]

PORTAL_SUFFIXES = (".txt", ".html", ".htm")
DEFAULT_MAX_PAGE_BYTES = 20 * 1024 * 1024


class _Undecodable(Exception):
    pass


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode(data: bytes, is_html: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, a declared HTML charset, then legacy."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _Undecodable(f"invalid UTF-16: {exc.reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    if is_html:
        m = _CHARSET.search(data[:4096])
        if m:
            name = m.group(1).decode("ascii", "replace").lower()
            try:
                if codecs.lookup(name).name not in ("utf-8", "utf-16"):
                    return unicodedata.normalize("NFC", data.decode(name))
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        from indexer.legacy import LegacyDecodeError, decode_bytes
    except ImportError as exc:
        raise _Undecodable(
            f"{utf8_error}, and legacy decoding is unavailable (indexer.legacy: {exc})"
        ) from None
    try:
        return decode_bytes(data)
    except LegacyDecodeError as exc:
        raise _Undecodable(
            f"{utf8_error}, nor a known legacy Vietnamese encoding: {exc.reason}"
        ) from None


def read_portal_file(
    path: Path, max_bytes: int = DEFAULT_MAX_PAGE_BYTES
) -> Iterator[Article | RecordError]:
    """Yield the Article of one .txt/.html/.htm page, or a RecordError(str(path), reason).

    The id is the page's canonical URL if it has one, else the absolute path, so
    re-indexing the same files gives the same ids whatever the working directory.
    """
    path = Path(path)
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in PORTAL_SUFFIXES:
        yield RecordError(where, f"unsupported page type {suffix or '(none)'!r}")
        return
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield RecordError(where, f"page of {size} bytes exceeds max_bytes={max_bytes}")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield RecordError(where, f"cannot read file: {exc.strerror or exc}")
        return
    is_html = suffix in (".html", ".htm")
    try:
        text = _decode(data, is_html)
    except _Undecodable as exc:
        yield RecordError(where, str(exc))
        return
    source_id = str(path.resolve())
    try:
        if is_html:
            article = parse_portal_html(text, source_id)
        else:
            article = parse_portal_text(text, source_id)
    except RecordError as exc:
        yield RecordError(where, exc.reason)
        return
    except RecursionError:
        yield RecordError(where, "page nested too deeply to parse")
        return
    article.extras.setdefault("file", source_id)
    yield article
