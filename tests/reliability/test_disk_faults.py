"""Disk full and read-only index directories: a clear error, the live index untouched.

Real faults where the machine allows it: the index lives on a small tmpfs (tests run as
root, where chmod stops nothing; mount does), filled up with a filler file, or remounted
read-only. Where mounting is not allowed those tests skip, and the injected faults below
(ENOSPC / EROFS raised by Whoosh's file storage in a subprocess) still run.
"""
from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path
from typing import Iterator

import falcon.testing
import pytest

from tests.reliability.conftest import (
    AUTH, PYTHON, ROOT, TOKEN, articles, child_env, index_ids, requires_corpus, write_jsonl,
)

pytestmark = requires_corpus

FIRST, MORE = 100, 200
FS_SIZE = "64m"  # the index takes ~15-30 kB per (short) article, more while segments merge
VNSEARCH = [PYTHON, "-c", "import sys; from search.cli import main; sys.exit(main(sys.argv[1:]))"]


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(fs: Path, leave: int = 0) -> Path:
    """Fill the filesystem up, leaving about `leave` bytes free; the filler file."""
    filler = fs / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def vnsearch(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*VNSEARCH, *args], cwd=ROOT, env=env or child_env(), capture_output=True,
                          text=True, timeout=timeout)


def state(index: Path) -> tuple[str, int, list[str]]:
    from indexer.store import index_version

    ids = index_ids(index)
    return index_version(index), len(ids), ids


def assert_clear_failure(done: subprocess.CompletedProcess, *reasons: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert any(r in done.stderr for r in reasons), done.stderr
    assert done.stderr.startswith("vnsearch "), done.stderr


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    recs = articles(FIRST + MORE, body_chars=300)
    root = tmp_path_factory.mktemp("disk-inputs")
    return (write_jsonl(root / "first.jsonl", recs[:FIRST]), write_jsonl(root / "more.jsonl", recs[FIRST:]),
            recs)


# -- real faults on a tmpfs ----------------------------------------------------------------
def test_disk_full_incremental_index_fails_clearly_and_keeps_the_live_index(tmp_path, inputs) -> None:
    first, more, recs = inputs
    with tmpfs(tmp_path / "fs", FS_SIZE) as fs:
        index = fs / "index"
        done = vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first))
        assert done.returncode == 0, done.stderr
        before = state(index)
        assert before[1] == FIRST
        filler = fill(fs)
        done = vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", "--batch-size",
                        "100", str(more))
        assert_clear_failure(done, "No space left on device")
        assert "every batch committed before it is kept" in done.stderr, done.stderr
        assert state(index) == before  # opens; same version, same documents
        # Some room: a few batches commit, then the disk fills; committed batches stay whole.
        os.truncate(filler, max(0, filler.stat().st_size - 1_500_000))
        done = vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", "--batch-size",
                        "50", str(more))
        assert done.returncode in (0, 1), done.stderr
        assert "Traceback" not in done.stderr
        if done.returncode == 1:  # an incremental run keeps what it committed, and says so
            assert "every batch committed before it is kept" in done.stderr, done.stderr
            assert "live index was not changed" not in done.stderr, done.stderr
        version, count, ids = state(index)
        assert len(ids) == len(set(ids))
        assert (count - FIRST) % 50 == 0 or count == FIRST + MORE, count  # whole batches only
        assert set(ids) == {r["id"] for r in recs[:count]}
        # Space again: a re-run completes, every document once.
        filler.unlink()
        done = vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(more))
        assert done.returncode == 0, done.stderr
        _, count, ids = state(index)
        assert count == FIRST + MORE and len(set(ids)) == FIRST + MORE


def test_disk_full_rebuild_fails_clearly_keeps_the_live_index_and_frees_its_space(tmp_path, inputs) -> None:
    from indexer.store import generations_dir

    first, more, _ = inputs
    with tmpfs(tmp_path / "fs", FS_SIZE) as fs:
        index = fs / "index"
        assert vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first)).returncode == 0
        before = state(index)
        gens_before = sorted(p.name for p in generations_dir(index).iterdir())
        filler = fill(fs, leave=400_000)  # room to start a new generation, not to finish it
        done = vnsearch("index", "--index", str(index), "--rebuild", "--workers", "1", "--quiet",
                        "--batch-size", "50", str(more))
        assert_clear_failure(done, "No space left on device")
        assert "live index was not changed" in done.stderr
        assert state(index) == before
        # The half-built generation is removed: it would only hold on to the space.
        assert sorted(p.name for p in generations_dir(index).iterdir()) == gens_before
        filler.unlink()
        done = vnsearch("index", "--index", str(index), "--rebuild", "--workers", "1", "--quiet", str(more))
        assert done.returncode == 0, done.stderr
        assert state(index)[1] == MORE


def test_read_only_index_directory_fails_clearly_and_stays_searchable(tmp_path, inputs) -> None:
    first, more, _ = inputs
    with tmpfs(tmp_path / "fs", FS_SIZE) as fs:
        index = fs / "index"
        assert vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first)).returncode == 0
        before = state(index)
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        try:
            for args in (["index", str(more)], ["index", "--rebuild", str(more)]):
                done = vnsearch(args[0], "--index", str(index), "--workers", "1", "--quiet",
                                "--rejects", str(tmp_path / "rejects.jsonl"), *args[1:])
                assert_clear_failure(done, "Read-only file system")
                assert state(index) == before
            done = vnsearch("search", "--index", str(index), "--json", "việt nam")
            assert done.returncode == 0, done.stderr  # reading still works
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(fs)], capture_output=True)


def test_spool_on_a_full_disk_answers_503_and_keeps_nothing_half_written(tmp_path) -> None:
    from config.settings import ApiSettings, IndexSettings, ServerSettings, Settings
    from indexer.spool import Spool
    from search.api.app import create_app

    with tmpfs(tmp_path / "fs", "1m") as fs:
        spool = Spool(fs / "spool")
        settings = Settings(index=IndexSettings(path=tmp_path / "index", spool=fs / "spool"),
                            server=ServerSettings(max_body_bytes=200_000), api=ApiSettings(token=TOKEN))
        client = falcon.testing.TestClient(create_app(settings, engine=object(), spool=spool))
        filler = fill(fs)
        doc = {"title": "Tiêu đề", "body": "nội dung " * 2000}
        r = client.simulate_put("/documents/full-1", json=doc, headers=AUTH)
        assert r.status_code == 503, r.text
        assert r.headers.get("Retry-After") and r.json["title"] == "Write queue unavailable"
        assert spool.pending_ops() == [] and list((fs / "spool" / "tmp").iterdir()) == []
        filler.unlink()
        r = client.simulate_put("/documents/full-1", json=doc, headers=AUTH)
        assert r.status_code == 202, r.text
        assert len(spool.pending_ops()) == 1


def test_applier_on_a_full_index_disk_keeps_writes_pending_and_resumes(tmp_path, inputs) -> None:
    """A commit that fails for lack of space loses no accepted write, and once there is space
    again the same process applies them (the failed writer let go of the index lock)."""
    from indexer.spool import Applier, Spool
    from indexer.store import open_index

    first, _, recs = inputs
    with tmpfs(tmp_path / "fs", FS_SIZE) as fs:
        index = fs / "index"
        assert vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first)).returncode == 0
        before = state(index)
        spool = Spool(tmp_path / "spool")  # the queue is on another disk; the index's is full
        applier = Applier(index, spool, lock_timeout=2.0)
        ops = [spool.upsert(_article(r)) for r in recs[FIRST:FIRST + 100]]
        filler = fill(fs)
        for _ in range(2):
            with pytest.raises(OSError) as info:
                applier.run_once()
            assert info.value.errno == errno.ENOSPC
        assert spool.pending_ops() == ops and spool.failed_count() == 0
        assert state(index) == before
        filler.unlink()
        assert applier.run_once() == len(ops)
        assert spool.pending_ops() == [] and all(spool.status(op) == "applied" for op in ops)
        version, count, ids = state(index)
        assert count == FIRST + 100 and len(set(ids)) == FIRST + 100
        ix = open_index(index)  # and the lock is free for anyone else
        with ix.writer(timeout=1.0) as w:
            w.delete_by_term("id", recs[0]["id"])
        ix.close()


def _article(rec: dict):
    from indexer.spool import article_from_json

    return article_from_json({**rec, "date": rec.get("date"), "categories": [rec["category"]]
                              if rec.get("category") else []})


# -- injected faults (no mount needed) ---------------------------------------------------------
INJECT = r'''
import errno, os, sys
from whoosh.filedb import filestore

mode, limit = os.environ["FAULT"], int(os.environ.get("FAULT_BYTES", "0"))
written = [0]

class Faulty:
    def __init__(self, f):
        self._f = f
    def write(self, data):
        written[0] += len(data)
        if written[0] > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._f.name)
        return self._f.write(data)
    def __getattr__(self, name):
        return getattr(self._f, name)

orig_create = filestore.FileStorage.create_file

def create_file(self, name, *a, **k):
    if mode == "erofs":
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.path.join(self.folder, name))
    stream = orig_create(self, name, *a, **k)
    stream.file = Faulty(stream.file)
    return stream

filestore.FileStorage.create_file = create_file
from search.cli import main
sys.exit(main(sys.argv[1:]))
'''


@pytest.mark.parametrize("fault, limit, reason", [
    ("enospc", 0, "No space left on device"),
    ("enospc", 200_000, "No space left on device"),
    ("erofs", 0, "Read-only file system"),
])
def test_injected_write_faults_fail_clearly_and_keep_the_live_index(tmp_path, inputs, fault, limit, reason) -> None:
    first, more, _ = inputs
    index = tmp_path / "index"
    assert vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first)).returncode == 0
    before = state(index)
    for extra in ([], ["--rebuild"]):
        done = subprocess.run(
            [PYTHON, "-c", INJECT, "index", "--index", str(index), "--workers", "1", "--quiet",
             "--batch-size", "1000", *extra, str(more)],
            cwd=ROOT, env=child_env(FAULT=fault, FAULT_BYTES=str(limit)), capture_output=True,
            text=True, timeout=120)
        assert_clear_failure(done, reason)
        assert state(index) == before, extra
    done = vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(more))
    assert done.returncode == 0, done.stderr
    assert state(index)[1] == FIRST + MORE


def test_delete_on_a_read_only_index_fails_clearly(tmp_path, inputs) -> None:
    first, _, _ = inputs
    with tmpfs(tmp_path / "fs", FS_SIZE) as fs:
        index = fs / "index"
        assert vnsearch("index", "--index", str(index), "--workers", "1", "--quiet", str(first)).returncode == 0
        before = state(index)
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        try:
            done = vnsearch("delete", "--index", str(index), before[2][0])
            assert state(index) == before
            assert_clear_failure(done, "Read-only file system")
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(fs)], capture_output=True)
