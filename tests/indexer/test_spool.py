"""The durable write queue: enqueue, ordering, applier lock, crash replay, failed ops."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from indexer import spool as spool_mod
from indexer.record import Article
from indexer.spool import OP_ID_RE, Applier, Spool, article_from_json, article_to_json
from indexer.store import open_index, open_or_create


def art(doc_id: str, title: str = "Tin tức", body: str = "Quốc hội thông qua luật đất đai") -> Article:
    return Article(id=doc_id, title=title, body=body)


def stored(index_path: Path) -> dict[str, dict]:
    ix = open_index(index_path)
    try:
        with ix.searcher() as s:
            docs = [dict(d) for d in s.documents()]
    finally:
        ix.close()
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)), f"duplicate documents in the index: {ids}"
    return {d["id"]: d for d in docs}


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "index", tmp_path / "spool"


# -- enqueue ---------------------------------------------------------------------------
def test_enqueue_writes_one_complete_file_into_pending(paths):
    _, spool_dir = paths
    sp = Spool(spool_dir)
    a = art("a/1:x", title="Tiêu đề")
    a.date = dt.datetime(2014, 12, 30, 7, 42)
    a.extras = {"lang": "vi", "n": [1, 2]}
    op = sp.upsert(a)
    assert OP_ID_RE.fullmatch(op)
    assert sorted(os.listdir(spool_dir / "pending")) == [f"{op}.json"]
    assert os.listdir(spool_dir / "tmp") == []
    data = json.loads((spool_dir / "pending" / f"{op}.json").read_text("utf-8"))
    assert data["op"] == op
    assert data["actions"] == [{"action": "upsert", "doc": article_to_json(a)}]
    assert article_from_json(data["actions"][0]["doc"]) == a
    assert sp.status(op) == "pending" and sp.pending_count() == 1


def test_failed_write_leaves_nothing_pending(paths, monkeypatch):
    _, spool_dir = paths
    sp = Spool(spool_dir)

    def broken_write(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_mod.os, "write", broken_write)
    with pytest.raises(OSError):
        sp.delete("x")
    monkeypatch.undo()
    assert sp.pending_ops() == [] and os.listdir(spool_dir / "tmp") == []


def test_listener_called_and_its_failure_does_not_fail_the_enqueue(paths):
    sp = Spool(paths[1])
    calls = []
    sp.add_listener(lambda: calls.append(1))
    sp.add_listener(lambda: 1 / 0)
    op = sp.delete("x")
    assert calls == [1] and sp.status(op) == "pending"


def test_op_ids_increase_even_when_the_clock_stands_still_or_goes_back(paths, monkeypatch):
    sp1, sp2 = Spool(paths[1]), Spool(paths[1])  # two workers on one spool
    clock = iter([5_000, 5_000, 4_000, 3_000, 5_000, 1_000] * 10)
    monkeypatch.setattr(spool_mod.time, "time_ns", lambda: next(clock))
    ops = [(sp1 if i % 2 else sp2).delete(f"d{i}") for i in range(12)]
    assert ops == sorted(ops) and len(set(ops)) == len(ops)
    assert sp1.pending_ops() == ops


def test_status_of_unknown_and_malformed_ids(paths):
    sp = Spool(paths[1])
    assert sp.status("00000000000000000001-deadbeef") == "unknown"
    for bad in ("../../etc/passwd", "", "x" * 500, "00000000000000000001-DEADBEEF"):
        assert sp.status(bad) == "unknown"
        assert sp.failure(bad) is None


# -- applying --------------------------------------------------------------------------
def test_run_once_applies_upserts_and_deletes(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    applied_calls = []
    applier = Applier(index_path, sp, lock_timeout=1, on_applied=lambda: applied_calls.append(1))
    assert applier.run_once() == 0  # nothing to do
    op1 = sp.upsert([art("a"), art("b", title="Bóng đá")])
    op2 = sp.delete("a")
    assert applier.run_once() == 2
    docs = stored(index_path)
    assert set(docs) == {"b"} and docs["b"]["title"] == "Bóng đá"
    assert sp.status(op1) == sp.status(op2) == "applied" == applier.status(op1)
    assert sp.pending_ops() == [] and applied_calls == [1]


def test_last_action_per_id_wins_within_and_across_batches(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    sp.upsert(art("x", title="một"))
    sp.delete("x")
    sp.upsert(art("x", title="hai"))
    sp.upsert(art("y", title="một"))
    sp.upsert(art("y", title="hai"))
    sp.upsert(art("z"))
    sp.delete("z")
    assert Applier(index_path, sp).run_once() == 7  # one batch, one writer
    docs = stored(index_path)
    assert set(docs) == {"x", "y"}
    assert docs["x"]["title"] == docs["y"]["title"] == "hai"
    # Same sequence, one op per batch (one commit each): same result.
    index2 = index_path.with_name("index2")
    sp2 = Spool(spool_dir.with_name("spool2"))
    sp2.upsert(art("x", title="một"))
    sp2.delete("x")
    sp2.upsert(art("x", title="hai"))
    one_by_one = Applier(index2, sp2, batch_ops=1)
    assert [one_by_one.run_once() for _ in range(4)] == [1, 1, 1, 0]
    assert {k: v["title"] for k, v in stored(index2).items()} == {"x": "hai"}


def test_batch_limits_take_the_oldest_ops_first(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    ops = [sp.upsert(art(f"d{i}")) for i in range(5)]
    applier = Applier(index_path, sp, batch_docs=2)
    assert applier.run_once() == 2
    assert [sp.status(o) for o in ops] == ["applied"] * 2 + ["pending"] * 3
    assert applier.run_once() == 2 and applier.run_once() == 1
    assert set(stored(index_path)) == {f"d{i}" for i in range(5)}


def test_crash_between_commit_and_unlink_replays_idempotently(paths, monkeypatch):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    sp.upsert(art("keep"))
    assert Applier(index_path, sp).run_once() == 1
    ops = [sp.upsert(art("x", title="một")), sp.delete("keep"), sp.upsert(art("x", title="hai")),
           sp.upsert(art("y"))]

    class Crash(BaseException):
        pass

    def crash(self, op_ids):
        raise Crash()

    monkeypatch.setattr(Spool, "_mark_applied", crash)
    with pytest.raises(Crash):
        Applier(index_path, sp).run_once()
    monkeypatch.undo()
    after_crash = stored(index_path)
    assert set(after_crash) == {"x", "y"}  # committed...
    assert sp.pending_ops() == ops  # ...but still pending
    # A new applier (another worker) replays them: same index, no duplicates.
    assert Applier(index_path, Spool(spool_dir)).run_once() == 4
    replayed = stored(index_path)
    assert set(replayed) == {"x", "y"} and replayed["x"]["title"] == "hai"
    assert all(sp.status(o) == "applied" for o in ops)


def test_bad_ops_move_to_failed_and_never_block_the_queue(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    good1 = sp.upsert(art("ok1"))
    garbage = sp.delete("placeholder")
    (spool_dir / "pending" / f"{garbage}.json").write_bytes(b"{not json")
    no_id = sp.enqueue([{"action": "upsert", "doc": {"title": "t", "body": "b"}}])
    analysis_breaks = sp.upsert(art("boom"))
    good2 = sp.upsert(art("ok2"))

    def prepare(article):
        if article.id == "boom":
            raise RuntimeError("segmenter crashed")
        from indexer.schema import prepare as real
        return real(article)

    applier = Applier(index_path, sp, prepare=prepare)
    assert applier.run_once() == 5
    assert set(stored(index_path)) == {"ok1", "ok2"}
    assert [sp.status(o) for o in (good1, garbage, no_id, analysis_breaks, good2)] == \
        ["applied", "failed", "failed", "failed", "applied"]
    assert "unreadable op file" in sp.failure(garbage)
    assert "id" in sp.failure(no_id)
    assert "segmenter crashed" in sp.failure(analysis_breaks)
    assert sp.failed_count() == 3 and sp.pending_count() == 0


def test_an_op_that_breaks_the_writer_is_set_aside_and_the_rest_retried(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    first = sp.upsert(art("a"))
    bad = sp.upsert(art("bad"))
    last = sp.upsert(art("c"))

    def prepare(article):
        from indexer.schema import prepare as real
        fields = real(article)
        if article.id == "bad":
            fields["no_such_field"] = "x"  # Whoosh raises in update_document
        return fields

    applier = Applier(index_path, sp, prepare=prepare)
    assert applier.run_once() == 1  # the bad op, nothing committed
    assert sp.status(bad) == "failed" and "no_such_field" in sp.failure(bad)
    assert sp.status(first) == sp.status(last) == "pending"
    assert applier.run_once() == 2
    assert set(stored(index_path)) == {"a", "c"}


def test_busy_index_writer_keeps_ops_pending(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    op = sp.upsert(art("a"))
    ix = open_or_create(index_path)
    writer = ix.writer()  # e.g. a `vnsearch index` run holding the Whoosh lock
    try:
        assert Applier(index_path, sp, lock_timeout=0).run_once() == 0
        assert sp.status(op) == "pending"
    finally:
        writer.cancel()
        ix.close()
    assert Applier(index_path, sp, lock_timeout=0).run_once() == 1


def test_applied_markers_are_pruned(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir, keep_applied=2)
    ops = [sp.delete(f"d{i}") for i in range(4)]
    Applier(index_path, sp).run_once()
    assert sorted(os.listdir(spool_dir / "applied")) == ops[2:]
    assert [sp.status(o) for o in ops] == ["unknown", "unknown", "applied", "applied"]


# -- the applier lock across processes ---------------------------------------------------
def _hold_applier_lock(spool_dir: str, locked, release) -> None:
    fd = os.open(os.path.join(spool_dir, "applier.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    locked.set()
    release.wait(30)


def _drain(index_path: str, spool_dir: str, start, results) -> None:
    start.wait(30)
    applier = Applier(Path(index_path), Path(spool_dir), lock_timeout=30, batch_ops=3)
    done = 0
    deadline = time.monotonic() + 60
    while Spool(Path(spool_dir)).pending_ops() and time.monotonic() < deadline:
        done += applier.run_once()
    results.put(done)


def test_applier_lock_is_exclusive_across_processes_and_freed_when_holder_dies(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    op = sp.upsert(art("a"))
    ctx = multiprocessing.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_applier_lock, args=(str(spool_dir), locked, release))
    holder.start()
    try:
        assert locked.wait(30)
        assert Applier(index_path, sp).run_once() == 0
        assert sp.status(op) == "pending"
    finally:
        holder.kill()  # killed, not released: the kernel drops the flock
        holder.join(30)
    assert Applier(index_path, sp).run_once() == 1
    assert sp.status(op) == "applied"


def test_two_processes_applying_concurrently_apply_every_op_once(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    ops = [sp.upsert(art(f"d{i % 7}", title=f"bản {i}")) for i in range(20)]
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_drain, args=(str(index_path), str(spool_dir), start, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    counts = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(counts) == 20  # each op taken out of pending exactly once
    assert all(sp.status(o) == "applied" for o in ops)
    docs = stored(index_path)  # asserts no duplicates
    assert {k: v["title"] for k, v in docs.items()} == {
        f"d{k}": f"bản {max(i for i in range(20) if i % 7 == k)}" for k in range(7)}


# -- the background thread ---------------------------------------------------------------
def test_thread_applies_new_ops_when_woken_and_stops(paths):
    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    applier = Applier(index_path, sp)
    sp.add_listener(applier.wake)
    ticks = []
    thread = applier.start_thread(interval=30, on_tick=lambda: ticks.append(1))
    assert applier.start_thread(interval=30) is thread  # idempotent
    try:
        op = sp.upsert(art("a"))
        deadline = time.monotonic() + 20
        while sp.status(op) != "applied" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sp.status(op) == "applied"  # long before the 30 s interval: the wake worked
        assert ticks
    finally:
        applier.stop(timeout=10)
    assert not thread.is_alive()


# -- passage vectors for API writes ------------------------------------------------------
def test_upserted_documents_are_embedded_after_their_commit(paths, caplog):
    from indexer.embedding import VectorStore, embed_documents, vectors_dir
    from indexer.store import live_dir
    from tests.indexer.test_embedding import HashEncoder

    index_path, spool_dir = paths
    sp = Spool(spool_dir)
    calls: list[list[str]] = []
    enc = HashEncoder()

    def embed(ids: list[str]) -> None:
        calls.append(ids)
        embed_documents(live_dir(index_path), ids, enc)

    applier = Applier(index_path, sp, lock_timeout=1, embed=embed)
    sp.upsert([art("a"), art("b", title="Bóng đá"), art("c", body="khác")])
    sp.delete("c")
    assert applier.run_once() == 2
    assert calls == [["a", "b"]]  # deleted ids are not encoded
    assert len(VectorStore(vectors_dir(live_dir(index_path)))) == 2
    sp.upsert([art("a")])  # the same text again: nothing new to encode
    applier.run_once()
    assert len(enc.encoded) == 2

    def broken(ids: list[str]) -> None:
        raise RuntimeError("encoder gone")

    failing = Applier(index_path, sp, lock_timeout=1, embed=broken)
    op = sp.upsert([art("d", body="mới")])
    assert failing.run_once() == 1  # the write still lands
    assert sp.status(op) == "applied" and "d" in stored(index_path)
    assert "rank by terms alone" in caplog.text
    assert len(VectorStore(vectors_dir(live_dir(index_path)))) == 2
