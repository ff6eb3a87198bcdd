"""Segments written by the workers and adopted in batch order (`indexer.parts`), through
`index_articles` with a worker pool, and the pieces on their own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest

from indexer import parts as parts_mod
from indexer.build import BuildOptions, index_articles
from indexer.parts import PARTS_PREFIX, Part, adopt, iter_in_order, parts_dir, write_part
from indexer.record import Article, RecordError
from indexer.schema import prepare
from indexer.sources.jsonl import read_jsonl
from indexer.store import IndexBusy, index_version, live_dir, open_index, open_or_create, open_writer
from tests.indexer.test_build import DANTRI, _count, _dantri_lines
from tests.indexer.test_build import _opts as build_opts
from tests.indexer.test_build import corpus  # noqa: F401 - the 60-article fixture

pytestmark = pytest.mark.skipif(not any(DANTRI.parent.glob("corpus.jsonl*")), reason="shared data absent")


def _opts(**kw) -> BuildOptions:
    kw.setdefault("workers", 2)
    kw.setdefault("batch_size", 5)
    return build_opts(**kw)


def _everything(index_path: Path) -> tuple:
    """Every field's terms with their document frequency, and every stored document."""
    ix = open_index(index_path)
    with ix.searcher() as s:
        r = s.reader()
        terms = [(f, t, r.doc_frequency(f, t)) for f, t in r.all_terms()]
        docs = sorted((json.dumps(d, ensure_ascii=False, sort_keys=True, default=str)
                       for d in s.documents()))
    return terms, docs


def test_pooled_parts_give_the_index_of_one_writer(tmp_path: Path, corpus: Path) -> None:
    # batches of 5: 12 parts, so the tiered policy merges 8 of them on the way
    inline = index_articles(read_jsonl(corpus), tmp_path / "a", _opts(workers=1))
    pooled = index_articles(read_jsonl(corpus), tmp_path / "b", _opts())
    assert (inline.added, inline.commits) == (pooled.added, pooled.commits) == (60, 12)
    assert len(open_index(tmp_path / "b")._segments()) < 12  # noqa: SLF001 - merged
    assert _everything(tmp_path / "a") == _everything(tmp_path / "b")
    assert not list(live_dir(tmp_path / "b").glob(PARTS_PREFIX + "*"))  # parts cleaned up


def test_reindexing_with_parts_updates_by_id(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(read_jsonl(corpus), idx, _opts())
    again = index_articles(read_jsonl(corpus), idx, _opts())
    assert (again.added, again.updated) == (0, 60)
    assert _count(idx) == 60


def test_an_id_in_batches_written_side_by_side_keeps_its_last_version(tmp_path: Path) -> None:
    # batches of 2 on two workers: versions 0-1 and 2-3 are written at the same time; the
    # later batch is adopted later and replaces the earlier one's document
    path = tmp_path / "dup.jsonl"
    rows = [{"id": "x", "title": f"Bản {i}", "body": f"nội dung số {i}"} for i in range(4)]
    rows.append({"id": "y", "title": "Khác", "body": "khác"})
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    stats = index_articles(read_jsonl(path), tmp_path / "i", _opts(batch_size=2))
    assert _count(tmp_path / "i") == 2
    with open_index(tmp_path / "i").searcher() as s:
        assert s.document(id="x")["title"] == "Bản 3"
    assert (stats.added, stats.updated) == (2, 3)


def test_rejects_come_back_in_input_order(tmp_path: Path) -> None:
    good = _dantri_lines(4)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([good[0], "{not json", good[1], json.dumps({"id": "t", "body": "x"}),
                               good[2], "[]", good[3]]) + "\n", encoding="utf-8")
    seen: list[RecordError] = []
    stats = index_articles(read_jsonl(path), tmp_path / "i", _opts(batch_size=2), on_reject=seen.append)
    assert (stats.added, stats.rejected) == (4, 3)
    assert [e.where for e in seen] == [f"{path}:2", f"{path}:4", f"{path}:6"]


class _FailingWriter(parts_mod._Writer):  # noqa: SLF001
    def add_document(self, **fields) -> None:
        if fields["id"] == os.environ.get("VNSEARCH_TEST_FAIL_ID"):
            raise OSError(28, "No space left on device")
        super().add_document(**fields)


def test_a_failed_part_stops_the_run_and_keeps_what_was_committed(
        tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 10), idx, _opts())
    before = index_version(idx)
    ids = [json.loads(line)["id"] for line in _dantri_lines(60)]
    monkeypatch.setenv("VNSEARCH_TEST_FAIL_ID", ids[32])  # in the 7th batch of 5
    monkeypatch.setattr(parts_mod, "_Writer", _FailingWriter)  # the workers fork after this
    with pytest.raises(OSError, match="No space left"):
        index_articles(read_jsonl(corpus), idx, _opts())
    assert index_version(idx) != before
    assert 30 <= _count(idx) < 60  # the batches before the failure, nothing half-written
    assert not list(live_dir(idx).glob(PARTS_PREFIX + "*"))
    monkeypatch.delenv("VNSEARCH_TEST_FAIL_ID")
    assert index_articles(read_jsonl(corpus), idx, _opts()).indexed == 60
    assert _count(idx) == 60


def test_a_held_lock_fails_the_pooled_run_clearly(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "index"
    index_articles(islice(read_jsonl(corpus), 5), idx, _opts())
    version = index_version(idx)
    with open_writer(open_index(idx), 1.0):
        with pytest.raises(IndexBusy, match="another writer"):
            index_articles(read_jsonl(corpus), idx, _opts(lock_timeout=0.3))
    assert index_version(idx) == version and _count(idx) == 5
    assert not list(live_dir(idx).glob(PARTS_PREFIX + "*"))


def test_parts_dir_removes_only_parts_of_runs_that_are_gone(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"{PARTS_PREFIX}{dead}-0000"
    live = tmp_path / f"{PARTS_PREFIX}{os.getppid()}-1111"  # a running process's
    odd = tmp_path / f"{PARTS_PREFIX}garbage"
    for d in (stale, live, odd):
        d.mkdir()
        (d / "MAIN_x.seg").write_bytes(b"x")
    made = parts_dir(tmp_path)
    assert made.is_dir() and made.name.startswith(f"{PARTS_PREFIX}{os.getpid()}-")
    assert not stale.exists() and not odd.exists() and live.exists()


def _articles(n: int) -> list[Article]:
    return [Article(id=f"d{i}", title=f"Tin số {i}", body=f"Huyện ủy An Phú họp lần {i}")
            for i in range(n)]


def _prepared(item):  # noqa: ANN001, ANN202
    return item if isinstance(item, RecordError) else (item.id, prepare(item))


def test_write_part_then_adopt(tmp_path: Path) -> None:
    ix = open_or_create(tmp_path / "index")
    root = parts_dir(Path(ix.storage.folder))
    bad = RecordError("x.jsonl:3", "no title")
    part = write_part([*_articles(3), bad, _articles(1)[0]], str(root), _prepared)
    assert isinstance(part, Part)
    assert (part.count, part.ids, part.rejects, part.replaced_in_batch) == (5, ["d0", "d1", "d2"], [bad], 1)
    assert part.segment.doc_count_all() == 3
    assert _count(tmp_path / "index") == 0  # invisible until adopted
    assert adopt(ix, part, 5.0) == (3, 0)
    assert _count(tmp_path / "index") == 3
    again = write_part(_articles(2), str(root), _prepared)
    assert adopt(open_index(tmp_path / "index"), again, 5.0) == (0, 2)
    assert _count(tmp_path / "index") == 3


def test_adopt_never_overwrites_a_segment_file(tmp_path: Path) -> None:
    ix = open_or_create(tmp_path / "index")
    root = parts_dir(Path(ix.storage.folder))
    part = write_part(_articles(2), str(root), _prepared)
    name = part.segment.make_filename(part.segment.COMPOUND_EXT)
    (Path(ix.storage.folder) / name).write_bytes(b"someone else's")
    version = index_version(tmp_path / "index")
    with pytest.raises(FileExistsError):
        adopt(ix, part, 5.0)
    assert index_version(tmp_path / "index") == version
    assert (Path(ix.storage.folder) / name).read_bytes() == b"someone else's"


def test_write_part_of_rejects_only_writes_nothing(tmp_path: Path) -> None:
    part = write_part([RecordError("a:1", "bad")], str(tmp_path), _prepared)
    assert part.segment is None and part.ids == [] and part.count == 1
    assert list(tmp_path.iterdir()) == []


class _Job:
    def __init__(self, log: list, value: int) -> None:
        self.log, self.value = log, value

    def get(self) -> int:
        self.log.append(("get", self.value))
        return self.value


def test_iter_in_order_keeps_at_most_ahead_plus_one_in_flight() -> None:
    log: list = []

    def submit(batch: list[int]) -> _Job:
        log.append(("submit", batch[0]))
        return _Job(log, batch[0])

    out = list(iter_in_order(submit, iter([[i] for i in range(5)]), ahead=2))
    assert out == [0, 1, 2, 3, 4]
    in_flight = peak = 0
    for kind, _ in log:
        in_flight += 1 if kind == "submit" else -1
        peak = max(peak, in_flight)
    assert peak == 3
    assert log[:4] == [("submit", 0), ("submit", 1), ("submit", 2), ("get", 0)]


KILL_A_WORKER = r'''
import os, signal, sys
import indexer.build as build

victim = os.environ["VNSEARCH_TEST_VICTIM"]
prepare = build._prepare

def _prepare(item, max_body_chars):  # in a pool worker (forked after this patch)
    if getattr(item, "id", None) == victim:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would, mid-batch
    return prepare(item, max_body_chars)

build._prepare = _prepare
from search.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _processes_running(script: Path) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and str(script).encode() in (p / "cmdline").read_bytes():
                out.append(int(p.name))
        except OSError:
            continue
    return out


def test_a_killed_worker_stops_the_run_instead_of_hanging(tmp_path: Path, corpus: Path) -> None:
    # The OOM killer's case: the pool replaces the worker, but its batch never comes back
    # (before: the run waited for it for ever).
    script = tmp_path / "kill_a_worker.py"
    script.write_text(KILL_A_WORKER)
    idx = tmp_path / "index"
    argv = [sys.executable, str(script), "index", "--index", str(idx), "--workers", "2",
            "--batch-size", "5", "--quiet", str(corpus)]
    root = Path(__file__).resolve().parents[2]
    victim = json.loads(_dantri_lines(33)[-1])["id"]  # in the 7th batch of 5
    env = {**os.environ, "VNSEARCH_TEST_VICTIM": victim}
    try:
        run = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run hung after one of its workers was killed") from None
    assert run.returncode == 1, run.stderr[-2000:]
    assert "was killed by SIGKILL (out of memory?)" in run.stderr
    assert "run the same command again to finish" in run.stderr
    assert not _processes_running(script)  # the other worker and the replacement are gone
    kept = _count(idx)
    assert kept < 60 and kept % 5 == 0  # whole batches only
    assert not list(live_dir(idx).glob(PARTS_PREFIX + "*"))
    assert index_articles(read_jsonl(corpus), idx, _opts()).indexed == 60
    assert _count(idx) == 60


def test_the_batch_is_gone_when_the_collector_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # its first collection after the pause walks every container made during the pause
    # that is still alive: with the batch's postings, millions in a real batch
    import gc
    import random

    vocabulary = [f"từ{k}" for k in range(400)]
    articles = [Article(id=f"d{i}", title=f"Tin số {i}",
                        body=" ".join(random.Random(i).sample(vocabulary, 400))) for i in range(40)]
    root = parts_dir(Path(open_or_create(tmp_path / "index").storage.folder))
    write_part(articles, str(root), _prepared)  # (the analysis caches fill up)
    young: list[int] = []
    enable = gc.enable
    monkeypatch.setattr(gc, "enable", lambda: (young.append(len(gc.get_objects(0))), enable()))
    assert write_part(articles, str(root), _prepared).segment.doc_count_all() == 40
    # 40 articles x 4 streams x about 400 postings: 64,000 tuples alone, if still alive
    assert len(young) == 1 and young[0] < 5_000
