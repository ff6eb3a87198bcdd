"""Indexing runs: batches, updates by id, rejects, atomic rebuild, delete, writer lock."""
from __future__ import annotations

import gzip
import json
import lzma
import multiprocessing
import pickle
import time
from itertools import islice
from pathlib import Path

import pytest
from whoosh.query import Term

from indexer.build import BuildOptions, delete_documents, index_articles
from indexer.record import RecordError
from indexer.sources.jsonl import read_jsonl
from indexer.store import IndexBusy, index_version, live_dir, open_index, open_writer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DANTRI = SHARED / "unc-dantri-news" / "corpus.jsonl"

pytestmark = pytest.mark.skipif(not any(DANTRI.parent.glob("corpus.jsonl*")), reason="shared data absent")


def _dantri_lines(n: int) -> list[str]:
    path = next(DANTRI.parent.glob("corpus.jsonl*"))
    opener = {".xz": lzma.open, ".gz": gzip.open}.get(path.suffix, open)
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in islice(f, n)]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(_dantri_lines(60)) + "\n", encoding="utf-8")
    return path


def _count(index_path: Path) -> int:
    ix = open_index(index_path)
    with ix.searcher() as s:
        return s.doc_count()


def _opts(**kw) -> BuildOptions:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", "quiet")
    kw.setdefault("batch_size", 25)
    return BuildOptions(**kw)


def test_index_then_reindex_updates_by_id(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    first = index_articles(read_jsonl(corpus), idx, _opts())
    assert (first.added, first.updated, first.rejected) == (60, 0, 0)
    assert first.commits == 3  # 25 + 25 + 10
    assert _count(idx) == 60
    second = index_articles(read_jsonl(corpus), idx, _opts())
    assert (second.added, second.updated) == (0, 60)
    assert _count(idx) == 60  # no duplicates
    with open_index(idx).searcher() as s:
        doc = json.loads(_dantri_lines(1)[0])
        stored = s.document(id=doc["id"])
        assert stored["title"] == doc["title"]
        assert stored["category"] == doc["category"]


def test_worker_pool_gives_same_index_as_inline(tmp_path: Path, corpus: Path) -> None:
    inline = index_articles(read_jsonl(corpus), tmp_path / "a", _opts(workers=1))
    pooled = index_articles(read_jsonl(corpus), tmp_path / "b", _opts(workers=2))
    assert inline.added == pooled.added == 60
    with open_index(tmp_path / "a").searcher() as a, open_index(tmp_path / "b").searcher() as b:
        for field in ("body", "body_w", "body_f", "title"):
            assert list(a.reader().lexicon(field)) == list(b.reader().lexicon(field))


def test_duplicate_ids_in_one_input_keep_the_last(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    rows = [{"id": "x", "title": f"Bản {i}", "body": f"nội dung số {i}"} for i in range(3)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    stats = index_articles(read_jsonl(path), tmp_path / "i", _opts(batch_size=2))
    assert _count(tmp_path / "i") == 1
    with open_index(tmp_path / "i").searcher() as s:
        assert s.document(id="x")["title"] == "Bản 2"
    assert (stats.added, stats.updated) == (1, 2)  # every record after the first updates it


def test_bad_records_are_reported_and_the_rest_indexed(tmp_path: Path, corpus: Path) -> None:
    good = _dantri_lines(5)
    bad = tmp_path / "mixed.jsonl"
    bad.write_text("\n".join([
        good[0],
        "{not json",
        json.dumps({"id": "no-title", "body": "x"}),
        good[1],
        json.dumps({"id": "bad-date", "title": "T", "body": "B", "date": "31/02/2014"}),
        good[2],
    ]) + "\n", encoding="utf-8")
    seen: list[RecordError] = []
    rejects = tmp_path / "rejects.jsonl"
    stats = index_articles(read_jsonl(bad), tmp_path / "i", _opts(rejects_path=rejects), on_reject=seen.append)
    assert stats.added == 3 and stats.rejected == 3
    assert [e.where for e in seen] == [f"{bad}:2", f"{bad}:3", f"{bad}:5"]
    lines = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert [x["where"] for x in lines] == [e.where for e in seen]
    assert all(x["reason"] for x in lines)


def test_bad_records_with_a_worker_pool(tmp_path: Path) -> None:
    # a reject crosses the pool's pipe: it used to fail to unpickle, and the run hung
    restored = pickle.loads(pickle.dumps(RecordError("a.jsonl:2", "not JSON")))
    assert (restored.where, restored.reason, str(restored)) == ("a.jsonl:2", "not JSON", "a.jsonl:2: not JSON")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([_dantri_lines(1)[0], "{not json"]) + "\n", encoding="utf-8")
    stats = index_articles(read_jsonl(path), tmp_path / "i", _opts(workers=2))
    assert (stats.added, stats.rejected) == (1, 1)
    assert stats.rejects[0].where == f"{path}:2"


def test_oversized_body_is_rejected_not_indexed(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    rows = [{"id": "big", "title": "To", "body": "chữ " * 5000}, {"id": "ok", "title": "Nhỏ", "body": "ngắn"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    stats = index_articles(read_jsonl(path), tmp_path / "i", _opts(max_body_chars=1000))
    assert (stats.added, stats.rejected) == (1, 1)
    assert "body too large" in stats.rejects[0].reason


def test_rebuild_swaps_atomically(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 10), idx, _opts())
    old_dir = live_dir(idx)
    old_reader = open_index(idx).searcher()
    stats = index_articles(read_jsonl(corpus), idx, _opts(rebuild=True))
    assert stats.added == 60
    assert idx.is_symlink() and live_dir(idx) != old_dir
    assert _count(idx) == 60
    assert old_reader.doc_count() == 10  # a reader opened before the swap keeps its snapshot
    old_reader.close()


def _rebuild_in_child(corpus: str, idx: str) -> None:
    index_articles(read_jsonl(Path(corpus)), Path(idx), _opts(rebuild=True, batch_size=5))


def test_readers_never_see_a_half_built_index(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 10), idx, _opts())
    child = multiprocessing.get_context("fork").Process(target=_rebuild_in_child, args=(str(corpus), str(idx)))
    child.start()
    seen = set()
    while child.is_alive():
        seen.add(_count(idx))
        time.sleep(0.01)
    child.join()
    assert child.exitcode == 0
    seen.add(_count(idx))
    assert seen <= {10, 60} and 60 in seen


def test_delete_documents(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(read_jsonl(corpus), idx, _opts())
    first = json.loads(_dantri_lines(1)[0])["id"]
    deleted, missing = delete_documents(idx, [first, "no-such-id"])
    assert (deleted, missing) == (1, ["no-such-id"])
    assert _count(idx) == 59
    with open_index(idx).searcher() as s:
        assert s.document(id=first) is None


def test_second_writer_waits_then_fails_clearly(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 5), idx, _opts())
    version = index_version(idx)
    ix = open_index(idx)
    with open_writer(ix, 1.0):
        with pytest.raises(IndexBusy, match="another writer"):
            index_articles(read_jsonl(corpus), idx, _opts(lock_timeout=0.3))
    assert index_version(idx) == version and _count(idx) == 5


def _hold_lock_and_die(idx: str) -> None:
    import os

    ix = open_index(Path(idx))
    ix.writer()  # take the lock, never release it
    os._exit(9)  # like kill -9: no cleanup


def test_lock_of_a_killed_writer_is_not_stale(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 5), idx, _opts())
    child = multiprocessing.get_context("fork").Process(target=_hold_lock_and_die, args=(str(idx),))
    child.start()
    child.join()
    assert child.exitcode == 9
    stats = index_articles(read_jsonl(corpus), idx, _opts(lock_timeout=2.0))
    assert stats.indexed == 60 and _count(idx) == 60


def test_search_finds_segmented_words(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(read_jsonl(corpus), idx, _opts())
    with open_index(idx).searcher() as s:
        assert s.doc_frequency("body_w", "việt_nam") > 0
        assert s.doc_frequency("body_f", "viet") >= s.doc_frequency("body", "việt")
        hits = s.search(Term("body_w", "việt_nam"), limit=None)
        assert all("việt nam" in h["body"].lower() for h in hits)
