"""kill -9 of `vnsearch index` at random moments and exactly inside commits and rebuild swaps.

The child (`CHILD`, run as a subprocess) is `vnsearch index` (`search.cli.main`) with two
additions: it appends to a side file, before and after each batch commit, the ids of that
batch ("inflight", then "committed" once `_write_batch`, or with workers `adopt`, has
returned), and it can kill
itself with SIGKILL at a chosen point inside Whoosh's commit or the rebuild swap.

After every kill the parent checks, on the index left behind:
- it opens (Whoosh and our store), no id appears twice;
- every id of every committed batch is there and searchable (by id and by a title term);
- nothing else is there except, all or nothing, the one batch whose commit was cut off;
- after a killed rebuild the live index is the old one or the complete new one.
Then re-runs finish: count == total, no duplicates, leftovers pruned.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    PYTHON, ROOT, articles, child_env, index_ids, requires_corpus, write_jsonl,
)

pytestmark = [pytest.mark.slow, requires_corpus]

SEED = 20240917
TOTAL = 1000  # real articles (bodies cut at ~300 characters to fit the time budget)
BATCH = 100
REBUILD_SUBSET = 300
RANDOM_KILLS = 10

CHILD = r'''
import os, signal, sys, time, json
from pathlib import Path

side = os.open(os.environ["KILL_SIDE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
run = os.environ["KILL_RUN"]
hook = os.environ.get("KILL_HOOK", "")  # "<point>:<n>" or ""

def record(event, ids=()):
    line = json.dumps({"run": run, "event": event, "ids": list(ids), "t": time.monotonic()})
    os.write(side, (line + "\n").encode())

def die(where):
    record("killed", [where])
    os.kill(os.getpid(), signal.SIGKILL)

import indexer.build as build
import indexer.store as store
import whoosh.index as windex
import whoosh.writing as wwriting
from whoosh.filedb.filestore import FileStorage

_write_batch = build._write_batch
commits = 0

def write_batch(ix, docs, lock_timeout, stats):
    global commits
    commits += 1
    record("inflight", docs)
    _write_batch(ix, docs, lock_timeout, stats)
    record("committed", docs)

build._write_batch = write_batch

_adopt = build.adopt  # the pooled path: a worker-written segment committed in this process

def adopt(ix, part, lock_timeout):
    global commits
    commits += 1
    record("inflight", part.ids)
    result = _adopt(ix, part, lock_timeout)
    record("committed", part.ids)
    return result

build.adopt = adopt

point, _, nth = hook.partition(":")
nth = int(nth or 0)
main_pid = os.getpid()

def armed():  # in the nth batch commit of this run, or later; in the indexer, not a worker
    return commits >= nth and os.getpid() == main_pid

if point == "commit-start":
    orig_commit = wwriting.SegmentWriter.commit
    def commit(self, *a, **k):
        if armed():
            die(point)
        return orig_commit(self, *a, **k)
    wwriting.SegmentWriter.commit = commit
elif point == "toc-write":  # segment files written, no TOC yet
    orig_toc = windex.TOC.write
    def toc_write(self, *a, **k):
        if armed():
            die(point)
        return orig_toc(self, *a, **k)
    windex.TOC.write = toc_write
elif point in ("toc-rename", "toc-renamed"):  # temp TOC complete / TOC in place, commit not returned
    orig_rename = FileStorage.rename_file
    def rename_file(self, frm, to, safe=False):
        if armed() and to.endswith(".toc") and point == "toc-rename":
            die(point)
        result = orig_rename(self, frm, to, safe)
        if armed() and to.endswith(".toc") and point == "toc-renamed":
            die(point)
        return result
    FileStorage.rename_file = rename_file
elif point == "merge":  # in the middle of merging older segments into the new one
    orig_add_reader = store._Writer.add_reader  # the indexer's writer (its own add_reader)
    def add_reader(self, reader):
        if armed():
            die(point)
        return orig_add_reader(self, reader)
    store._Writer.add_reader = add_reader
elif point == "assemble":  # building the compound segment file (parts deleted), no TOC yet
    orig_delete = FileStorage.delete_file
    def delete_file(self, name):
        orig_delete(self, name)
        if armed():
            die(point)
    FileStorage.delete_file = delete_file
elif point == "clean-files":  # after the TOC, while files of merged segments are deleted
    orig_delete = FileStorage.delete_file
    orig_clean = windex.clean_files
    cleaning = False
    def delete_file(self, name):
        orig_delete(self, name)
        if cleaning and armed():
            die(point)
    def clean_files(*a, **k):
        global cleaning
        cleaning = True
        orig_clean(*a, **k)
        if armed():
            die(point)  # nothing was left to delete: still before the writer lets go
        cleaning = False
    FileStorage.delete_file = delete_file
    windex.clean_files = clean_files
elif point in ("swap-before", "swap-after"):
    index_name = Path(os.environ["KILL_INDEX"]).name
    orig_replace = os.replace
    def replace(src, dst, *a, **k):
        live = Path(dst).name == index_name
        if live and point == "swap-before":
            die(point)
        result = orig_replace(src, dst, *a, **k)
        if live and point == "swap-after":
            die(point)
        return result
    store.os.replace = replace
elif point == "prune":  # half-way through deleting an old generation
    # (store.shutil is the shutil module: only a generation's deletion is cut short. A
    # generation left by a run killed mid-commit can hold a directory, Whoosh's temporary
    # storage; unlinking it made this run end with an error instead of the kill.)
    real_rmtree = store.shutil.rmtree
    generations = store.generations_dir(Path(os.environ["KILL_INDEX"]))
    def rmtree(path, *args, **kwargs):
        if Path(path).parent != generations:
            return real_rmtree(path, *args, **kwargs)
        entries = sorted(Path(path).iterdir())
        for f in entries[: len(entries) // 2]:
            if f.is_dir() and not f.is_symlink():
                real_rmtree(f)
            else:
                f.unlink()
        die(point)
    store.shutil.rmtree = rmtree

record("ready")
from search.cli import main
sys.exit(main(sys.argv[1:]))
'''


@dataclass
class Outcome:
    run: str
    hook: str
    delay: float | None
    killed: bool
    returncode: int
    commits: int
    committed: list[list[str]] = field(default_factory=list)
    inflight: list[str] | None = None  # a batch whose commit did not return
    seconds: float = 0.0
    batch_seconds: float | None = None


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.index = tmp / "index"
        self.side = tmp / "side.jsonl"
        self.script = tmp / "child.py"
        self.script.write_text(CHILD)
        self.runs = 0
        self.log: list[Outcome] = []

    def run(self, corpus: Path, *, hook: str = "", delay: float | None = None,
            rebuild: bool = False, workers: int = 1, batch: int = BATCH) -> Outcome:
        self.runs += 1
        run_id = f"r{self.runs}"
        offset = self.side.stat().st_size if self.side.exists() else 0
        env = child_env(KILL_SIDE=str(self.side), KILL_RUN=run_id, KILL_HOOK=hook,
                        KILL_INDEX=str(self.index), VNSEARCH_INDEX_LOCK_TIMEOUT="10")
        argv = [PYTHON, str(self.script), "index", "--index", str(self.index), "--batch-size",
                str(batch), "--workers", str(workers), "--quiet", str(corpus)]
        if rebuild:
            argv.append("--rebuild")
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            if delay is not None:
                ready_at = self._wait_ready(run_id, offset, proc)
                remaining = ready_at + delay - time.monotonic()
                try:
                    proc.wait(max(0.0, remaining))
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)  # the indexer only, as an OOM killer would
            try:
                _, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"indexer run {run_id} hung") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._no_orphans(proc.pid)
        try:
            outcome = self._outcome(run_id, offset, hook, delay, proc.returncode,
                                    time.monotonic() - started)
        except AssertionError as e:  # e.g. a kill point never reached: say why the run ended
            raise AssertionError(f"{e}; stderr: {err.decode('utf-8', 'replace')[-3000:]}") from None
        if not outcome.killed:
            assert proc.returncode in (0, 2), err.decode("utf-8", "replace")[-3000:]
        self.log.append(outcome)
        return outcome

    def _wait_ready(self, run_id: str, offset: int, proc: subprocess.Popen) -> float:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for ev in self._events(offset):
                if ev["run"] == run_id and ev["event"] == "ready":
                    return time.monotonic()
            if proc.poll() is not None:
                return time.monotonic()
            time.sleep(0.02)
        raise AssertionError("indexer child never became ready")

    def _no_orphans(self, pid: int) -> None:
        """Analysis workers of a killed indexer must not live on (pool children exit)."""
        def leftovers() -> list[int]:
            out = []
            for p in Path("/proc").iterdir():
                if p.name.isdigit():
                    try:
                        cmd = (p / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if str(self.script).encode() in cmd:
                        out.append(int(p.name))
            return out
        deadline = time.monotonic() + 10
        while (left := leftovers()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in left:  # ours (started by this test): clean up, then fail
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not left, f"processes of a killed indexer left running: {left}"

    def _events(self, offset: int = 0) -> list[dict]:
        if not self.side.exists():
            return []
        with open(self.side, "rb") as f:
            f.seek(offset)
            return [json.loads(line) for line in f.read().splitlines() if line.endswith(b"}")]

    def _outcome(self, run_id: str, offset: int, hook: str, delay: float | None, rc: int,
                 seconds: float) -> Outcome:
        events = [e for e in self._events(offset) if e["run"] == run_id]
        out = Outcome(run_id, hook, delay, rc == -signal.SIGKILL, rc, 0, seconds=seconds)
        current: list[str] | None = None
        ready = next((e["t"] for e in events if e["event"] == "ready"), None)
        last_commit = None
        for ev in events:
            if ev["event"] == "inflight":
                current = ev["ids"]
            elif ev["event"] == "committed":
                out.committed.append(ev["ids"])
                current = None
                last_commit = ev["t"]
        out.commits = len(out.committed)
        out.inflight = current
        if ready is not None and last_commit is not None and out.commits:
            out.batch_seconds = (last_commit - ready) / out.commits
        if hook and hook.split(":")[0] != "random":
            fired = any(e["event"] == "killed" for e in events)
            assert fired and out.killed, f"kill point {hook} never reached (rc {rc})"
        return out


def _check_searchable(index: Path, ids: list[str], records: dict[str, dict], rng: random.Random) -> None:
    """A sample of ids: found by id, and by a term of their title in the title field."""
    from whoosh.query import Term

    from indexer.analysis import analyze
    from indexer.store import open_index

    ix = open_index(index)
    try:
        with ix.searcher() as s:
            for doc_id in rng.sample(sorted(ids), min(15, len(ids))):
                hits = s.search(Term("id", doc_id), limit=None)
                assert len(hits) == 1, doc_id
                docnum = hits[0].docnum
                title = records[doc_id].get("title") or ""
                terms = [t.text for t in analyze(title).syllables] if title else []
                if terms:
                    found = {h.docnum for h in s.search(Term("title", terms[0]), limit=None)}
                    assert docnum in found, (doc_id, terms[0])
    finally:
        ix.close()


def _toc_generation(index: Path) -> int:
    from indexer.store import latest_commit, live_dir

    real = live_dir(index)
    return -1 if real is None else latest_commit(real)


def _check_after_kill(index: Path, committed: set[str], out: Outcome, toc_before: int,
                      records: dict[str, dict], rng: random.Random) -> str:
    """Check the index a (killed) run left; returns what became of its in-flight batch.

    Whoosh writes one TOC generation per commit, so the run's committed batches plus the
    in-flight one, if its commit got through, account for every new generation; that tells
    an update batch (ids already present) that committed from one that did not."""
    if _toc_generation(index) < 0:  # killed before the first generation existed
        assert not committed and not out.commits
        return "no index yet"
    ids = index_ids(index)
    assert len(ids) == len(set(ids)), "duplicate ids in the index"
    present = set(ids)
    missing = committed - present
    assert not missing, f"{len(missing)} documents of committed batches are missing"
    new_commits = _toc_generation(index) - max(0, toc_before)  # 0: the empty index's TOC
    inflight = out.inflight if out.killed else None
    assert new_commits in (out.commits, out.commits + (inflight is not None)), (new_commits, out)
    extra = present - committed
    if inflight is not None and new_commits == out.commits + 1:
        assert set(inflight) <= present, "a batch is in the index only in part"
        assert extra <= set(inflight), f"{len(extra)} unexpected documents"
        state = "in-flight batch committed"
    else:
        assert not extra, f"{len(extra)} documents of an uncommitted batch are visible"
        state = "in-flight batch absent" if inflight is not None else "clean"
    _check_searchable(index, list(present), records, rng)
    return state


def test_kill_9_indexer_at_random_points_and_inside_commits_and_swaps(tmp_path: Path) -> None:
    from indexer.store import generations_dir, index_version, live_dir, open_index

    rng = random.Random(SEED)
    recs = articles(TOTAL, body_chars=300)
    records = {r["id"]: r for r in recs}
    assert len(records) == TOTAL
    corpus = write_jsonl(tmp_path / "corpus.jsonl", recs)
    subset = write_jsonl(tmp_path / "subset.jsonl", recs[:REBUILD_SUBSET])
    h = Harness(tmp_path)
    committed: set[str] = set()
    report: list[str] = []
    started = time.monotonic()

    # 1. Incremental runs (`vnsearch index` over the same input), killed at seeded random
    #    delays after start-up; each re-run updates what is there and adds more.
    upper = 8.0  # seconds after start-up; lowered to 0.9 x any run that finishes unkilled
    random_kills = runs = 0
    batch_seconds = 0.5
    while random_kills < RANDOM_KILLS and runs < RANDOM_KILLS + 4:
        runs += 1
        delay = rng.uniform(0.05, upper)
        toc = _toc_generation(h.index)
        out = h.run(corpus, hook="random", delay=delay, workers=1 + runs % 2)
        for batch in out.committed:
            committed |= set(batch)
        state = _check_after_kill(h.index, committed, out, toc, records, rng)
        if state == "in-flight batch committed":
            committed |= set(out.inflight)
        if out.killed:
            random_kills += 1
        else:
            upper = 0.9 * out.seconds
        if out.batch_seconds:
            batch_seconds = out.batch_seconds
        report.append(f"random {delay:.2f}s w{1 + runs % 2}: {'killed' if out.killed else 'finished'} "
                      f"after {out.commits} commits, {state}, {len(committed)} docs committed "
                      f"[{out.seconds:.1f}s]")

    # 2. Exactly inside Whoosh's commit of the nth batch of a run.
    # Every other point with two workers: their segments are adopted by the same commit.
    for i, point in enumerate(("commit-start", "merge", "assemble", "toc-write", "toc-rename",
                               "toc-renamed", "clean-files")):
        workers = 1 + i % 2
        # A commit merges only when 8 small segments pile up (`merge_policy.merge_tiered`): for
        # the merge point, batches of 20 make that happen within the run.
        nth = 1 if point == "merge" else rng.randint(1, 4)
        toc = _toc_generation(h.index)
        out = h.run(corpus, hook=f"{point}:{nth}", batch=20 if point == "merge" else BATCH,
                    workers=workers)
        for batch in out.committed:
            committed |= set(batch)
        state = _check_after_kill(h.index, committed, out, toc, records, rng)
        if state == "in-flight batch committed":
            committed |= set(out.inflight)
        if point in ("toc-renamed", "clean-files"):
            assert state == "in-flight batch committed"  # durable once the TOC is renamed
        else:
            assert state != "in-flight batch committed"
        report.append(f"{point} w{workers} (commit {out.commits + 1}): {state}, {len(committed)} docs committed "
                      f"[{out.seconds:.1f}s]")

    # 3. A re-run completes: every document once.
    out = h.run(corpus, workers=2)
    assert not out.killed
    ids = index_ids(h.index)
    assert len(ids) == TOTAL and set(ids) == set(records)
    report.append(f"re-run: {len(ids)} docs, no duplicates")

    # 4. Rebuilds (--rebuild with a 300-article input) killed while building, inside a
    #    commit of the new generation, just before and just after the symlink swap, and
    #    half-way through pruning an old generation.
    sub_ids = {r["id"] for r in recs[:REBUILD_SUBSET]}
    for point in ("random", "toc-write:2", "swap-before", "swap-after", "prune"):
        old_version, old_ids = index_version(h.index), set(index_ids(h.index))
        old_dir = live_dir(h.index)
        delay = rng.uniform(0.05, batch_seconds * REBUILD_SUBSET / BATCH) if point == "random" else None
        out = h.run(subset, hook=point if point != "random" else "random", delay=delay, rebuild=True)
        assert out.killed or point == "random"
        ix = open_index(h.index)
        ix.close()
        ids = index_ids(h.index)
        assert len(ids) == len(set(ids))
        if live_dir(h.index) == old_dir:
            assert index_version(h.index) == old_version and set(ids) == old_ids
            state = "old index live, unchanged"
            assert point not in ("swap-after", "prune")
        else:
            assert set(ids) == sub_ids, "a swapped-in generation must be complete"
            state = "new index live, complete"
            assert point not in ("toc-write:2", "swap-before")
        _check_searchable(h.index, ids, records, rng)
        report.append(f"rebuild {point}{f' {delay:.2f}s' if delay else ''}: {state} ({len(ids)} docs) "
                      f"[{out.seconds:.1f}s]")

    # 5. Re-runs complete: a full rebuild, then an incremental run over it.
    out = h.run(corpus, rebuild=True, workers=2)
    assert not out.killed
    out = h.run(corpus, workers=2)
    ids = index_ids(h.index)
    assert len(ids) == TOTAL and set(ids) == set(records), "duplicates or losses after re-runs"
    gens = [g for g in generations_dir(h.index).iterdir() if g.is_dir()]
    assert len(gens) <= 2, f"old generations not pruned: {sorted(g.name for g in gens)}"
    report.append(f"final rebuild + re-run: {len(ids)} docs, no duplicates, {len(gens)} generations kept")
    kills = sum(1 for o in h.log if o.killed)
    report.append(f"{kills} kills in {len(h.log)} runs, {time.monotonic() - started:.0f}s")
    print("\n".join(report))
    assert kills >= 20
