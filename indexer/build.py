"""Indexing runs: read sources, analyse and write segments in worker processes, commit in
batches.

Data flow: sources -> (Article | RecordError) -> batches (`indexer.batching`: the last
ones cut so that the workers finish together) -> worker pool: per batch,
`schema.prepare` (normalize, segment, encode postings) and the batch written as one
segment (`indexer.parts`) -> this process, in batch order: delete the documents the
batch replaces, adopt its segment, merge (tiered), commit. With `workers=1` the same
steps run in this process (`_write_batch`).
- Memory stays bounded: at most 4 x `workers` + 1 batches are in flight (being written
  by the workers, waiting for them as input, or written and waiting to be adopted as a
  file), and one more is held back by `batching`, whatever the input size.
- A killed run loses only its uncommitted batches; every committed batch is searchable,
  and re-running updates documents by id, so it never duplicates. A killed worker (the
  OOM killer's usual victim) stops the run the same way (`AnalysisWorkerDied`).
- `rebuild` writes a new generation and swaps it in atomically (`indexer.store`).
"""
from __future__ import annotations

import gc
import json
import multiprocessing
import multiprocessing.pool
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from indexer.batching import batches as cut_batches
from indexer.parts import Part, adopt, gather, iter_in_order, parts_dir, write_part
from indexer.record import Article, RecordError
from indexer.schema import prepare
from indexer.store import (
    delete_replaced, gc_paused, new_generation, open_index, open_or_create, open_writer,
    prune_generations, swap_in,
)

__all__ = ["AnalysisWorkerDied", "BuildOptions", "BuildStats", "build", "delete_documents", "index_articles"]


@dataclass(frozen=True)
class BuildOptions:
    batch_size: int = 4000
    workers: int = 0  # 0: one per CPU; 1: analyse in this process
    rebuild: bool = False
    lock_timeout: float = 30.0
    max_body_chars: int = 10_000_000
    rejects_path: Path | None = None
    progress: str = "auto"  # auto | bar | lines | quiet


@dataclass
class BuildStats:
    added: int = 0
    updated: int = 0
    rejected: int = 0
    commits: int = 0
    seconds: float = 0.0
    rejects: list[RecordError] = field(default_factory=list)  # the first few, for the summary

    @property
    def indexed(self) -> int:
        return self.added + self.updated

    @property
    def docs_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, rejected {self.rejected}, "
                f"{self.seconds:.1f} s, {self.docs_per_second:.0f} docs/s")


Prepared = tuple[str, dict[str, Any]]

# Batches submitted to the pool beyond the one being adopted, per worker. While this
# process merges segments (minutes on a large index) the workers go on writing parts;
# a finished part is a file and a small result, so what waits in memory is the input of
# the batches not yet started (a few MB per 1,000 articles).
BATCHES_AHEAD_PER_WORKER = 4


class AnalysisWorkerDied(RuntimeError):
    """A pool worker exited while the run still needed it (killed by the OOM killer or an
    operator): the batch it held is lost, so the run stops instead of waiting for it."""

    def __init__(self, pid: int, exitcode: int) -> None:
        self.pid, self.exitcode = pid, exitcode
        if exitcode < 0:
            try:
                how = f"was killed by {signal.Signals(-exitcode).name}"
            except ValueError:
                how = f"was killed by signal {-exitcode}"
            if exitcode == -signal.SIGKILL:
                how += " (out of memory?)"
        else:
            how = f"exited with status {exitcode}"
        super().__init__(f"analysis worker {pid} {how}")


# How often a run waiting for a batch checks that the workers are still there.
WORKER_CHECK_SECONDS = 0.5


def _prepare(item: Article | RecordError, max_body_chars: int) -> Prepared | RecordError:
    """Worker side: heavy analysis; errors come back as values, never kill the run."""
    if isinstance(item, RecordError):
        return item
    where = str(item.extras.get("_where", item.id)) if item.extras else item.id
    try:
        if len(item.body) > max_body_chars:
            return RecordError(where, f"body too large ({len(item.body)} characters, "
                                      f"limit {max_body_chars})")
        if item.extras:
            item.extras.pop("_where", None)
        return item.id, prepare(item)
    except Exception as exc:  # a bug in analysis must not lose the rest of the input
        return RecordError(where, f"analysis failed: {type(exc).__name__}: {exc}")


def _warm_up() -> None:
    """Pool worker start: load the segmenter, then move everything loaded so far (models,
    dictionaries) out of the garbage collector's view: its full collections, triggered by
    the millions of short-lived objects analysis allocates, walk every tracked object, and
    skipping the loaded ones made analysis ~25% cheaper (1,500 VNTC articles: 12.4 -> 9.2 s).

    Workers also run at a lower priority than the process writing the index: that single
    writer is the serial stage, and the workers use whatever CPU it leaves (12,000 VNTC
    articles on 2 cores: 132 -> 122 s)."""
    from indexer.segment import get_segmenter

    get_segmenter()
    gc.freeze()
    os.nice(10)


def _part(batch: list[Article | RecordError], root: str, max_body_chars: int) -> Part:
    """Pool job: a whole batch analysed and written as a segment (`indexer.parts`)."""
    return write_part(batch, root, lambda item: _prepare(item, max_body_chars))


class _Analyser:
    """Analysis in this process (workers=1), or a pool of workers that each analyse and
    write whole batches as segments (`indexer.parts`)."""

    def __init__(self, workers: int, max_body_chars: int) -> None:
        self.max_body_chars = max_body_chars
        self.pool = None
        self.workers = 1
        self.processes: list[multiprocessing.process.BaseProcess] = []
        if workers != 1:
            ctx = multiprocessing.get_context("fork")
            self.workers = workers or os.cpu_count() or 1
            before = set(multiprocessing.active_children())
            self.pool = ctx.Pool(self.workers, initializer=_warm_up)
            # The pool replaces a worker that dies, but the batch that worker held never
            # comes back and `get()` would wait for it for ever; so the run watches its
            # workers itself (the pool has no public way to say one died).
            self.processes = [p for p in multiprocessing.active_children() if p not in before]

    def batches(self, batches: Iterator[list[Article | RecordError]]):
        """Prepared documents of each batch, in this process."""
        for batch in batches:
            yield [_prepare(item, self.max_body_chars) for item in batch]

    def parts(self, batches: Iterator[list[Article | RecordError]], root: Path) -> Iterator[Part]:
        """Each batch as a written part, in batch order."""
        assert self.pool is not None
        pool, args = self.pool, (str(root), self.max_body_chars)
        return iter_in_order(lambda b: pool.apply_async(_part, (b, *args)), batches,
                             self.workers * BATCHES_AHEAD_PER_WORKER, result=self._result)

    def _result(self, job: multiprocessing.pool.AsyncResult) -> Part:
        """The job's part; `AnalysisWorkerDied` as soon as any of the workers is gone (even
        one that held no batch: a run under memory pressure stops at the first loss)."""
        while True:
            for process in self.processes:
                if process.exitcode is not None:
                    raise AnalysisWorkerDied(process.pid, process.exitcode)
            if job.ready():
                return job.get()
            job.wait(WORKER_CHECK_SECONDS)

    def close(self, failed: bool = False) -> None:
        if self.pool is not None:
            if failed:  # parts still being written would never be adopted
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()


class _Progress:
    """tqdm bar on a terminal, a line every 10 s otherwise, nothing when quiet."""

    def __init__(self, mode: str, stream=None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.count = 0
        self.start = self.last = time.monotonic()
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(unit="doc", file=self.stream, smoothing=0.1, dynamic_ncols=True)

    def update(self, n: int, rejected: int) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix(rejected=rejected, refresh=False)
        elif self.mode == "lines" and time.monotonic() - self.last >= 10:
            self.last = time.monotonic()
            rate = self.count / max(1e-9, self.last - self.start)
            print(f"indexed {self.count} documents, {rate:.0f} docs/s, {rejected} rejected",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def index_articles(items: Iterable[Article | RecordError], index_path: Path,
                   options: BuildOptions = BuildOptions(),
                   on_reject: Callable[[RecordError], None] | None = None) -> BuildStats:
    """Index a stream of articles (or source errors) into the index at `index_path`."""
    stats = BuildStats()
    started = time.monotonic()
    target = new_generation(index_path) if options.rebuild else None
    index_path.parent.mkdir(parents=True, exist_ok=True)
    rejects_file = open(options.rejects_path, "a", encoding="utf-8") if options.rejects_path else None
    progress = _Progress(options.progress)
    analyser = _Analyser(options.workers, options.max_body_chars)  # fork before opening files

    def reject(err: RecordError) -> None:
        stats.rejected += 1
        if len(stats.rejects) < 20:
            stats.rejects.append(err)
        if rejects_file is not None:
            rejects_file.write(json.dumps({"where": err.where, "reason": err.reason},
                                          ensure_ascii=False) + "\n")
        if on_reject is not None:
            on_reject(err)

    swapped = failed = False
    try:
        from whoosh import index as windex

        ix = windex.open_dir(str(target)) if target is not None else open_or_create(index_path)
        batches = cut_batches(items, options.batch_size, analyser.workers)
        if analyser.pool is None:
            for batch in analyser.batches(batches):
                docs, rejects, replaced = gather(batch)
                for err in rejects:
                    reject(err)
                stats.updated += replaced
                if docs:
                    _write_batch(ix, docs, options.lock_timeout, stats)
                progress.update(len(batch), stats.rejected)
        else:
            parts = parts_dir(Path(ix.storage.folder))
            try:
                for part in analyser.parts(batches, parts):
                    for err in part.rejects:
                        reject(err)
                    stats.updated += part.replaced_in_batch
                    if part.segment is not None:
                        added, updated = adopt(ix, part, options.lock_timeout)
                        stats.added += added
                        stats.updated += updated
                        stats.commits += 1
                    progress.update(part.count, stats.rejected)
            finally:
                shutil.rmtree(parts, ignore_errors=True)
        if target is not None:
            swap_in(index_path, target)
            swapped = True
            prune_generations(index_path, keep=2)
    except BaseException:
        failed = True
        if target is not None and not swapped:
            # A rebuild that failed (disk full, killed by an exception, ...) leaves the live
            # index as it was; its unfinished generation would only hold on to the space.
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        analyser.close(failed)
        progress.close()
        if rejects_file is not None:
            rejects_file.close()
    stats.seconds = time.monotonic() - started
    return stats


def _write_batch(ix, docs: dict[str, dict[str, Any]], lock_timeout: float, stats: BuildStats) -> None:
    with gc_paused(), open_writer(ix, lock_timeout) as writer:
        added, updated = delete_replaced(ix, writer, docs)
        for doc in docs.values():
            writer.add_document(**doc)
        writer.commit()
    stats.added += added
    stats.updated += updated
    stats.commits += 1


def build(paths: list[Path], index_path: Path, options: BuildOptions = BuildOptions(),
          max_record_bytes: int = 10_000_000) -> BuildStats:
    """`vnsearch index`: every supported file under `paths` into the index."""
    from indexer.sources import iter_articles

    return index_articles(iter_articles(paths), index_path, options)


def delete_documents(index_path: Path, ids: list[str], lock_timeout: float = 30.0) -> tuple[int, list[str]]:
    """Delete documents by id; returns (deleted count, ids that were not in the index)."""
    ix = open_index(index_path)
    missing: list[str] = []
    deleted = 0
    with open_writer(ix, lock_timeout) as writer:
        with ix.searcher() as searcher:
            for doc_id in ids:
                numbers = list(searcher.document_numbers(id=doc_id))
                if not numbers:
                    missing.append(doc_id)
                for docnum in numbers:
                    writer.delete_document(docnum)
                    deleted += 1
        writer.commit()
    return deleted, missing
