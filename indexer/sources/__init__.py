"""Every input the indexer accepts, as one stream of Articles and RecordErrors.

`iter_articles` takes files and directories, walks directories in a fixed (sorted)
order so two runs over the same tree index documents in the same order, and picks
the reader by file name. Bad input never stops the stream: it is yielded as a
RecordError for the caller to count and report.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from indexer.record import Article, RecordError
from indexer.sources.jsonl import JSONL_SUFFIXES, read_jsonl
from indexer.sources.portal import PORTAL_SUFFIXES, read_portal_file

__all__ = ["iter_articles", "reader_for", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = JSONL_SUFFIXES + PORTAL_SUFFIXES


Reader = Callable[[Path], Iterator[Article | RecordError]]


def reader_for(path: Path) -> Reader | None:
    """The reader for a file name (read_jsonl or read_portal_file), or None."""
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return read_jsonl
    if name.endswith(PORTAL_SUFFIXES):
        return read_portal_file
    return None


def _walk(directory: Path) -> Iterator[Path]:
    """Supported files under directory in path order (entries sorted by name at each level,
    subdirectories in place); hidden entries and symlinked directories are skipped."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file() and reader_for(Path(entry.name)) is not None:
            yield Path(entry.path)


def iter_articles(paths: Iterable[Path]) -> Iterator[Article | RecordError]:
    """Articles from files and directory trees, in the order given, then sorted within trees.

    Files in a directory that no reader handles are skipped; a file named explicitly
    that no reader handles, a directory with no file any reader handles (a wrong path
    would otherwise index nothing without a word), or a path that does not exist, yields
    a RecordError.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files: list[Path] = list(_walk(path))
            if not files:
                yield RecordError(str(path), "no file to index in this directory (supported: "
                                             f"{', '.join(SUPPORTED_SUFFIXES)})")
                continue
        elif path.exists():
            if reader_for(path) is None:
                yield RecordError(
                    str(path),
                    f"unsupported file type (supported: {', '.join(SUPPORTED_SUFFIXES)})",
                )
                continue
            files = [path]
        else:
            yield RecordError(str(path), "no such file or directory")
            continue
        for file in files:
            reader = reader_for(file)
            assert reader is not None
            yield from reader(file)
