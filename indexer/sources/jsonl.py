"""JSON Lines corpora (the /work/shared/data format), plain or gzip/xz compressed.

One object per line: id, title, body, date, category (string or list), url, source,
optional summary/author/doc_number/extras, and any other keys, kept in `Article.extras`.
Each object is checked and converted by `indexer.record.article_from_dict`, the same
rules the HTTP API applies to PUT/POST /documents.

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
from typing import IO

from indexer.record import Article, RecordError, article_from_dict

__all__ = ["read_jsonl", "DEFAULT_MAX_RECORD_BYTES", "JSONL_SUFFIXES"]

DEFAULT_MAX_RECORD_BYTES = 10 * 1024 * 1024
#: Name endings this reader handles (lowercase).
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.xz", ".json")

_SKIP_CHUNK = 1024 * 1024  # how much of an oversized line is held at a time while skipping it


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


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
                    yield article_from_dict(obj)
                except ValueError as exc:
                    yield RecordError(where, str(exc))
    except FileNotFoundError:
        yield RecordError(str(path), "no such file")
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a truncated .gz/.xz ends in EOFError.
        where = f"{path}:{lineno + 1}" if lineno else str(path)
        yield RecordError(where, f"cannot read file: {type(exc).__name__}: {exc}")
