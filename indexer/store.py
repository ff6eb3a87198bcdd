"""The index on disk: generations behind a symlink, the writer lock, atomic swaps.

Layout for an index path P (e.g. var/index):
    P                 symlink -> P.generations/<name>   (what readers open)
    P.generations/    one Whoosh index directory per generation
A rebuild writes a new generation and then replaces the symlink with `os.replace`, which
is atomic: a reader sees the old index or the new one, never a half-built one. Whoosh
allows one writer per index; its lock is an fcntl lock, released by the kernel when a
writer dies, so a lock left by a killed run is never stale: the lock file may stay, the
lock does not.
"""
from __future__ import annotations

import contextlib
import gc
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator

from whoosh import index as windex
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter
from whoosh.system import emptybytes
from whoosh.util.numeric import byte_to_length

from indexer import whoosh_mmap
from indexer.inverter import MergeSource, write_terms
from indexer.merge_policy import merge_tiered
from indexer.schema import SCHEMA_VERSION, Postings, build_schema
from indexer.termpool import TermPool

whoosh_mmap.install()

__all__ = [
    "IndexBusy", "generations_dir", "live_dir", "open_index", "open_or_create",
    "new_generation", "swap_in", "open_writer", "index_version", "prune_generations",
    "gc_paused", "delete_replaced",
]

WRITER_MEMORY_MB = 256


class IndexBusy(RuntimeError):
    """Another process holds the writer lock for longer than we were willing to wait."""


def generations_dir(path: Path) -> Path:
    return path.with_name(path.name + ".generations")


def live_dir(path: Path) -> Path | None:
    """The directory readers should open now (the symlink target), or None if no index."""
    if path.is_symlink() or path.is_dir():
        real = path.resolve()
        if real.is_dir() and windex.exists_in(str(real)):
            return real
    return None


def open_index(path: Path) -> windex.Index:
    real = live_dir(path)
    if real is None:
        raise FileNotFoundError(f"no index at {path}")
    return windex.open_dir(str(real))


def new_generation(path: Path) -> Path:
    """Create an empty index in a fresh generation directory (not yet live)."""
    gens = generations_dir(path)
    gens.mkdir(parents=True, exist_ok=True)
    # names sort in creation order (`prune_generations` keeps the newest), also within one
    # second: microseconds after the seconds. An older name without them (same second)
    # still sorts first, "-" being below the digits.
    now = time.time_ns()
    name = (time.strftime("%Y%m%dT%H%M%S", time.localtime(now // 10**9))
            + f"{now // 1000 % 10**6:06d}-" + uuid.uuid4().hex[:8])
    target = gens / name
    target.mkdir()
    try:
        windex.create_in(str(target), build_schema())
        (target / "VNSEARCH_SCHEMA").write_text(str(SCHEMA_VERSION))
    except BaseException:  # disk full, read-only: leave no half-made generation behind
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def swap_in(path: Path, generation: Path) -> None:
    """Make `generation` live atomically (replace the symlink), then fsync the parent."""
    if path.exists() and not path.is_symlink():
        raise RuntimeError(f"{path} is a plain directory, not a vnsearch index symlink")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(os.path.relpath(generation, path.parent), tmp)
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_or_create(path: Path) -> windex.Index:
    """Open the live index, creating a first generation if there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if live_dir(path) is None:
        if path.is_symlink():
            path.unlink()  # dangling link: its generation was removed by hand
        swap_in(path, new_generation(path))
    return open_index(path)


class _FlushLengths(W3PerDocReader):
    """Per-document reader used while flushing a new segment: block statistics need the
    field length of every posting, so `indexer.inverter` reads each field's length column
    once, as a list."""

    def __init__(self, storage, segment) -> None:
        super().__init__(storage, segment)
        self._lengths: dict[str, list[int] | None] = {}

    def length_list(self, fieldname: str) -> list[int] | None:
        """Every document's length in `fieldname` (None: the field keeps no lengths)."""
        lengths = self._lengths.get(fieldname, emptybytes)
        if lengths is emptybytes:
            column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            lengths = None if column is None else [byte_to_length(b) for b in column]
            self._lengths[fieldname] = lengths
        return lengths


class _Writer(SegmentWriter):
    """Whoosh's segment writer, inverting and merging a posting list at a time
    (`indexer.inverter`) instead of through its per-posting sorting pool; the files it
    writes are the same."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pool = TermPool()
        self._merging: list[MergeSource] = []
        # fields that need Whoosh's own add_document (none in our schema)
        self._whoosh_only = frozenset(n for n, f in self.schema.items()
                                      if f.separate_spelling() or f.vector)

    def per_document_reader(self):
        return _FlushLengths(self.storage, self.get_segment())

    def commit(self, mergetype=None, optimize=None, merge=None) -> None:
        """Whoosh's commit with `merge_tiered` as the default policy for every commit of
        the index (builds, the API's applier, deletes): Whoosh's own default, MERGE_SMALL,
        would merge all of a bulk build's segments at once (see `merge_tiered`).
        `optimize=True`, `merge=False` and an explicit `mergetype` mean what they mean in
        Whoosh."""
        if mergetype is None and not optimize and merge is not False:
            mergetype = merge_tiered
        super().commit(mergetype, optimize, merge)

    def add_document(self, **fields) -> None:
        """Whoosh's `add_document`, except that a pre-analysed field's postings
        (`schema.Postings`) go into the pool a field at a time (`TermPool.add_field`), not
        as a tuple and a call per posting (~900 per VNTC article). Boosts, and spelling or
        vector fields (none in our schema), take Whoosh's own path."""
        schema = self.schema
        if not self._whoosh_only.isdisjoint(fields) or any(k.endswith("_boost") for k in fields):
            return super().add_document(**fields)
        self._check_state()
        perdocwriter, docnum, pool = self.perdocwriter, self.docnum, self.pool
        fieldnames = sorted(n for n in fields if not n.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    if isinstance(value, Postings):
                        length = pool.add_field(fieldname, docnum, value)
                    else:  # (Whoosh multiplies each weight by the field boost, 1.0: a float)
                        length = pool.add_field(fieldname, docnum, (
                            (t, f, w * 1.0, v) for t, f, w, v in field.index(value)))
                    if not field.scorable:
                        length = 0
                stored = fields.get("_stored_" + fieldname, value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                column = field.column_type
                if column and stored is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def add_reader(self, reader) -> None:
        """Copy a segment's documents now; its postings are merged when the segment is
        flushed (`SegmentWriter.add_reader` pushes each of them through the pool). The
        merge reads through a reader of its own: Whoosh's merge policies close theirs as
        soon as `add_reader` returns."""
        self._check_state()
        segment = reader.segment() if reader.is_atomic() else None
        if segment is None:
            raise TypeError("the index writer merges segments: add_reader needs a SegmentReader")
        basedoc = self.docnum
        names = set(self.schema.names()) | {n for n in reader.indexed_field_names() if n in self.schema}
        docmap = self.write_per_doc(names, reader)
        own = SegmentReader(self.storage, self.schema, segment)
        self._merging.append(MergeSource.of(own, basedoc, docmap))
        self._added = True

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            write_terms(self.fieldwriter, self.schema, lengths.length_list, self.pool,
                        self._merging, self.codec)
            self.fieldwriter.close()
        finally:
            lengths.close()
            for source in self._merging:
                source.reader.close()
            self._merging = []


def _codec() -> W3Codec:
    # Posting blocks are small (most terms occur in few documents): zlib-compressing each
    # one costs more CPU at write time than the bytes it saves are worth.
    return W3Codec(compression=0)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is inverted: the batch's postings are
    millions of live containers, which each full collection would walk again (8,000 VNTC
    articles in batches of 2,000: 32.7 s of CPU to add them with the collector, 12.7 s
    without). Whatever cycles a batch leaves are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def delete_replaced(ix: windex.Index, writer: SegmentWriter, ids: Iterable[str]) -> tuple[int, int]:
    """Delete, through `writer`, the committed documents that documents with these ids
    replace (update by id); (added, updated): how many ids are new, how many existed."""
    added = updated = 0
    with ix.searcher() as searcher:  # the committed index: which ids exist already
        for doc_id in ids:
            existing = list(searcher.document_numbers(id=doc_id))
            for docnum in existing:
                writer.delete_document(docnum)
            if existing:
                updated += 1
            else:
                added += 1
    return added, updated


@contextlib.contextmanager
def open_writer(ix: windex.Index, timeout: float) -> Iterator[SegmentWriter]:
    """The index's single writer, waiting up to `timeout` seconds for the lock."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        try:
            writer = _Writer(ix, limitmb=WRITER_MEMORY_MB, codec=_codec())
            break
        except LockError:
            if time.monotonic() >= deadline:
                raise IndexBusy(
                    f"another writer holds the lock on {ix.storage.folder} "
                    f"(waited {timeout:.1f}s); try again when it has finished"
                ) from None
            time.sleep(0.2)
    try:
        yield writer
    except BaseException:
        try:
            writer.cancel()
        except Exception:
            # Cancelling fails for the reason the write did (disk full or read-only while
            # closing segment files): still let go of the lock, or this process (an API
            # worker's applier) would hold it, and block every other writer, for good.
            _abandon(writer)
        raise


def _abandon(writer: SegmentWriter) -> None:
    """Release what a writer holds after a failed cancel; its partial segment files are
    unreferenced and removed by the next successful commit."""
    with contextlib.suppress(Exception):
        writer._tempstorage.destroy()
    lock = getattr(writer, "writelock", None)
    if lock is not None:
        with contextlib.suppress(Exception):
            lock.release()
    writer.is_closed = True


def index_version(path: Path) -> str:
    """Generation name and latest commit number: changes on every commit and every swap."""
    real = live_dir(path)
    if real is None:
        return "none"
    return f"{real.name}:{latest_commit(real)}"


def latest_commit(real: Path) -> int:
    """Whoosh's newest TOC generation in an index directory (-1 if none)."""
    gens = [int(p.name[len("_MAIN_"):-len(".toc")]) for p in real.glob("_MAIN_*.toc")
            if p.name[len("_MAIN_"):-len(".toc")].isdigit()]
    return max(gens, default=-1)


def prune_generations(path: Path, keep: int = 2) -> list[Path]:
    """Delete old generations, keeping the live one and the `keep - 1` newest others."""
    gens = generations_dir(path)
    if not gens.is_dir():
        return []
    live = live_dir(path)
    others = sorted((g for g in gens.iterdir() if g.is_dir() and g != live), reverse=True)
    removed = []
    for old in others[max(0, keep - 1):]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed
