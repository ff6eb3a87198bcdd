"""Segments written by the analysis workers, adopted by the writing process.

With one writer, writing a batch's segment (inverting and encoding its postings) runs in
the single process that also merges and commits, while the workers only analyse: that
process was the bottleneck (indexing_stages: write 5.9 + unpickle 0.9 + merges ~5 ms of
CPU per article in it, against 4.1 + 1.5 in each worker). Here a worker takes a whole
batch, analyses it and writes it as a finished Whoosh segment (the same `store` writer,
codec and bytes) in a private directory, and returns only the segment's description.
The writing process then, in batch order and under the index lock:
- deletes the committed documents the batch replaces (update by id; the last version of
  an id in a batch wins),
- moves the segment's file into the index directory and adds the segment to the commit,
  with the tiered merge policy (`merge_policy.merge_tiered`, every commit's),
so what is committed is what one writer would have committed, batch after batch.

Safety: a part is invisible until the commit's table of contents names it; a run killed
before that leaves only files no table of contents names (the part directory, removed by
the next run; a moved file, removed by the next commit, as Whoosh cleans unreferenced
segment files). Parts live in a hidden directory inside the index directory (same file
system: the move is a rename; Whoosh's cleaning skips hidden names).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from whoosh import index as windex

from indexer.record import Article, RecordError
from indexer.schema import build_schema
from indexer.store import (
    WRITER_MEMORY_MB, _codec, _Writer, delete_replaced, gc_paused, open_writer,
)

__all__ = ["Part", "gather", "write_part", "adopt", "parts_dir", "iter_in_order"]

PARTS_PREFIX = ".parts-"


@dataclass
class Part:
    """One batch analysed and written by a worker: its segment (None if no document was
    accepted), the ids in the segment's document order, the rejected records, and how
    many records a later one of the same batch replaced."""

    count: int  # records in the batch
    segment: Any = None  # whoosh.codec.whoosh3.W3Segment, its file in `folder`
    folder: str = ""
    ids: list[str] = field(default_factory=list)
    rejects: list[RecordError] = field(default_factory=list)
    replaced_in_batch: int = 0


def parts_dir(index_dir: Path) -> Path:
    """A new private directory for this run's parts, in the index directory; parts left
    by runs that are no longer running are removed first."""
    for old in index_dir.glob(PARTS_PREFIX + "*"):
        pid = old.name[len(PARTS_PREFIX):].split("-", 1)[0]
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    path = index_dir / f"{PARTS_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Explicit per-process cache: the worker's scratch index (schema and storage for its
# segments) in each parts directory it has written to.
_SCRATCH: dict[str, Any] = {}


def _scratch_index(root: Path) -> Any:
    key = str(root)
    ix = _SCRATCH.get(key)
    if ix is None:
        folder = root / str(os.getpid())
        folder.mkdir(exist_ok=True)
        ix = _SCRATCH[key] = windex.create_in(str(folder), build_schema())
    return ix


def gather(results: Iterable[tuple[str, dict[str, Any]] | RecordError]
           ) -> tuple[dict[str, dict[str, Any]], list[RecordError], int]:
    """A batch's analysed records as (documents by id, in input order; rejects; how many
    records a later one with the same id replaced): the last version of an id wins."""
    docs: dict[str, dict[str, Any]] = {}
    rejects: list[RecordError] = []
    replaced = 0
    for result in results:
        if isinstance(result, RecordError):
            rejects.append(result)
            continue
        if result[0] in docs:
            replaced += 1
        docs[result[0]] = result[1]
    return docs, rejects, replaced


def write_part(batch: list[Article | RecordError], root: str,
               prepare: Callable[[Article | RecordError], Any]) -> Part:
    """Worker side: analyse `batch` with `prepare` (a (id, fields) pair or a RecordError
    per item) and write the accepted documents as one segment under `root`."""
    with gc_paused():  # analysis and inversion: millions of containers, few cycles
        docs, rejects, replaced = gather(prepare(item) for item in batch)
        part = Part(count=len(batch), rejects=rejects, replaced_in_batch=replaced)
        if not docs:
            return part
        ix = _scratch_index(Path(root))
        writer = _Writer(ix, _lk=False, limitmb=WRITER_MEMORY_MB, codec=_codec())
        try:
            for fields in docs.values():
                writer.add_document(**fields)
            part.segment = writer._finalize_segment()  # noqa: SLF001 - no commit: no TOC here
        except BaseException:
            with contextlib.suppress(Exception):
                writer.cancel()
            raise
        finally:
            with contextlib.suppress(Exception):
                writer._tempstorage.destroy()  # noqa: SLF001
        part.ids = list(docs)
        # the batch's postings go before the collector is back: its first collection
        # after the pause walks every container made during it that is still alive
        del docs, fields, writer
    part.folder = ix.storage.folder
    return part


def adopt(ix: Any, part: Part, lock_timeout: float) -> tuple[int, int]:
    """Writing side: commit `part` into `ix` (see the module docstring); (added, updated)."""
    segment = part.segment
    name = segment.make_filename(segment.COMPOUND_EXT)
    source = Path(part.folder) / name
    target = Path(ix.storage.folder) / name
    with open_writer(ix, lock_timeout) as writer:
        added, updated = delete_replaced(ix, writer, part.ids)
        if target.exists():  # two segments with one random name: never overwrite one
            raise FileExistsError(f"segment file {target} exists already")
        os.replace(source, target)
        writer.segments.append(segment)
        writer._setup_doc_offsets()  # noqa: SLF001 - the segment list changed
        writer.commit()
    return added, updated


def iter_in_order(submit: Callable[[list], Any], batches: Iterator[list], ahead: int,
                  result: Callable[[Any], Any] = lambda job: job.get()) -> Iterator[Any]:
    """`result(submit(batch))` of each batch in batch order, at most `ahead` batches in
    flight (the pool's own imap would read the whole input ahead)."""
    pending: list[Any] = []
    for batch in batches:
        pending.append(submit(batch))
        if len(pending) > ahead:
            yield result(pending.pop(0))
    while pending:
        yield result(pending.pop(0))
