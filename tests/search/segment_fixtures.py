"""Small real indexes of several segments (Dân trí articles), for the per-segment caches
(the `three_segments` fixture in conftest.py builds one)."""
from __future__ import annotations

import contextlib
import gzip
import itertools
import json
from pathlib import Path
from typing import Iterator

import pytest
from whoosh import index
from whoosh.searching import Searcher

from indexer.build import BuildOptions, index_articles
from indexer.record import Article
from tests.search.conftest import DANTRI


def dantri_articles(start: int, stop: int) -> list[Article]:
    if not DANTRI.exists():
        pytest.skip(f"{DANTRI} not present")
    with gzip.open(DANTRI, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, start, stop)]
    return [Article(id=d["id"], title=d["title"] or "", body=d["body"] or "",
                    categories=[d["category"]] if d.get("category") else []) for d in rows]


def build(path: Path, articles: list[Article], batch: int) -> None:
    """Add `articles` to the index at `path`, one segment per `batch` of them."""
    index_articles(articles, path, BuildOptions(batch_size=batch, workers=1, progress="quiet"))


@contextlib.contextmanager
def open_leaves(path: Path) -> Iterator[tuple[Searcher, list]]:
    """A searcher on the index at `path` and its segments' readers, closed afterwards."""
    s = index.open_dir(str(path)).searcher()
    try:
        yield s, [leaf for leaf, _ in s.reader().leaf_readers()]
    finally:
        s.close()
