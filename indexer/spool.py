"""The durable write queue between the HTTP API and the index's single Whoosh writer.

Several gunicorn workers accept writes, but a Whoosh index has one writer at a time. So a
worker never writes the index while answering a request: it writes the operation into the
spool and answers 202 with the operation id, and one applier (in whichever worker holds
the applier lock) replays the spool into the index.

Layout of a spool directory S (``[index] spool``, e.g. var/spool):

    S/pending/<op>.json   accepted, not yet committed to the index (applied in name order)
    S/applied/<op>        empty marker: committed (the newest ``keep_applied`` are kept)
    S/failed/<op>.json    could not be applied, moved aside; S/failed/<op>.reason.txt says why
    S/tmp/                files being written (never read by the applier)
    S/applier.lock        flock held by the applier that is running now
    S/sequence            last op stamp handed out (flock-protected; keeps names increasing)

An op id is ``<20-digit stamp>-<8 hex>``; the stamp is ``max(time_ns, last stamp + 1)``
taken under a lock on S/sequence, so ids sort in acceptance order across all processes
(if that small file is lost, stamps fall back to the wall clock: "monotonic-ish").

Durability: `Spool.enqueue` writes the op to S/tmp, fsyncs it, renames it into S/pending
and fsyncs the directory *before* it returns, so an acknowledged write survives a crash
or power loss. One op file holds one or many actions (a bulk POST is one op, accepted or
refused as a whole); an action is ``{"action": "upsert", "doc": {...}}`` or
``{"action": "delete", "id": "..."}``.

Applying (`Applier.run_once`): take ``flock(LOCK_EX | LOCK_NB)`` on S/applier.lock (if
another process or thread holds it, return 0 at once); read the oldest pending ops (up to
``batch_ops`` ops / ``batch_docs`` actions); analyse them (`indexer.schema.prepare`);
collapse the actions per document id so the last one wins (Whoosh cannot see documents
added earlier in the same uncommitted writer, so an id is written at most once per
commit); write them with one writer (``update_document`` / ``delete_by_term("id", ...)``);
commit; then mark each op applied and unlink its pending file, fsyncing both directories.
An op that cannot be applied (unreadable file, invalid record, analysis error) moves to
S/failed with its reason and never blocks the ops behind it.

Crash safety: the flock is released by the kernel when its holder dies, so when the worker
that was applying is killed, another worker's applier thread takes over on its next tick.
A crash between commit and unlink leaves applied ops pending; applying them again gives
the same index (upserts and deletes by id are idempotent, and their order is kept).

When a write becomes searchable: after the applier's next commit (an applier thread polls
every ``interval`` seconds, and is woken at once by writes accepted in its own worker),
plus the reader's reopen, which each worker does at most every ``[search]
refresh_interval`` seconds. Typically that is under interval + batch time +
refresh_interval (~2 s with the defaults). A client that needs read-your-writes asks for
it (``?wait=1`` in the HTTP API): the request polls `Spool.status` until the op is applied
and then refreshes its worker's reader.

A rebuild (``vnsearch index --rebuild``) swaps in a new generation built from the source
files: API writes applied to the previous generation are not carried over.
"""
from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from indexer.record import Article

__all__ = [
    "Spool", "Applier", "SpoolError", "OP_ID_RE", "article_to_json", "article_from_json",
]

log = logging.getLogger(__name__)

OP_ID_RE = re.compile(r"[0-9]{20}-[0-9a-f]{8}")
_TMP_MAX_AGE = 3600.0  # seconds before a leftover tmp file (from a crashed writer) is removed


class SpoolError(ValueError):
    """An op that cannot be applied; the message is recorded in failed/<op>.reason.txt."""


def article_to_json(article: Article) -> dict[str, Any]:
    """An Article as a JSON object (date as ISO 8601, naive local time)."""
    return {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "summary": article.summary,
        "date": article.date.isoformat() if article.date is not None else None,
        "categories": list(article.categories),
        "author": article.author,
        "url": article.url,
        "source": article.source,
        "doc_number": article.doc_number,
        "extras": dict(article.extras),
    }


def article_from_json(obj: Any) -> Article:
    """The inverse of `article_to_json`; SpoolError if the object is not one."""
    if not isinstance(obj, dict):
        raise SpoolError(f"document must be an object, not {type(obj).__name__}")
    doc_id = obj.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise SpoolError("document without a string 'id'")
    text = {}
    for key in ("title", "body", "summary", "author", "url", "source", "doc_number"):
        value = obj.get(key) or ""
        if not isinstance(value, str):
            raise SpoolError(f"document {doc_id!r}: {key!r} must be a string")
        text[key] = value
    categories = obj.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise SpoolError(f"document {doc_id!r}: 'categories' must be a list of strings")
    date = obj.get("date")
    if date is not None:
        try:
            date = dt.datetime.fromisoformat(date)
        except (TypeError, ValueError):
            raise SpoolError(f"document {doc_id!r}: bad date {date!r}") from None
    extras = obj.get("extras") or {}
    if not isinstance(extras, dict):
        raise SpoolError(f"document {doc_id!r}: 'extras' must be an object")
    return Article(id=doc_id, date=date, categories=list(categories), extras=dict(extras), **text)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Enqueue side (every worker) and status queries over one spool directory."""

    def __init__(self, spool_dir: Path, *, fsync: bool = True, keep_applied: int = 10_000) -> None:
        self.dir = Path(spool_dir)
        self.pending = self.dir / "pending"
        self.applied = self.dir / "applied"
        self.failed = self.dir / "failed"
        self.tmp = self.dir / "tmp"
        self.fsync = fsync
        self.keep_applied = keep_applied
        for d in (self.pending, self.applied, self.failed, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self._listeners: list[Callable[[], None]] = []

    # -- enqueue ------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (in the enqueuing thread) after every enqueue, e.g. to wake an applier."""
        self._listeners.append(callback)

    def _next_stamp(self) -> int:
        fd = os.open(self.dir / "sequence", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 32, 0).strip()
            last = int(raw) if raw.isdigit() else 0
            stamp = max(time.time_ns(), last + 1)
            os.pwrite(fd, b"%020d\n" % stamp, 0)
            return stamp
        finally:
            os.close(fd)  # closing releases the flock

    def enqueue(self, actions: Sequence[dict[str, Any]]) -> str:
        """Write one op durably into pending/ and return its id (raises OSError on I/O errors)."""
        if not actions:
            raise ValueError("an op needs at least one action")
        for action in actions:
            if action.get("action") not in ("upsert", "delete"):
                raise ValueError(f"unknown action {action.get('action')!r}")
        op_id = f"{self._next_stamp():020d}-{secrets.token_hex(4)}"
        payload = json.dumps({"op": op_id, "accepted": time.time(), "actions": list(actions)},
                             ensure_ascii=False, allow_nan=False).encode("utf-8")
        tmp = self.tmp / f"{op_id}.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(tmp, self.pending / f"{op_id}.json")
        if self.fsync:
            _fsync_dir(self.pending)
        for callback in self._listeners:
            try:
                callback()
            except Exception:  # a listener must not turn an accepted write into an error
                log.exception("spool listener failed")
        return op_id

    def upsert(self, articles: Article | Iterable[Article]) -> str:
        if isinstance(articles, Article):
            articles = [articles]
        return self.enqueue([{"action": "upsert", "doc": article_to_json(a)} for a in articles])

    def delete(self, doc_id: str) -> str:
        return self.enqueue([{"action": "delete", "id": doc_id}])

    # -- status -------------------------------------------------------------------------
    def status(self, op_id: str) -> str:
        """"pending", "applied", "failed" or "unknown" (never issued, or pruned long ago).

        The applier creates the applied marker before it unlinks the pending file, and moves
        failed ops with one rename, so an op is never seen in no state while it moves.
        """
        if not isinstance(op_id, str) or not OP_ID_RE.fullmatch(op_id):
            return "unknown"
        if (self.pending / f"{op_id}.json").exists():
            return "pending"
        if (self.failed / f"{op_id}.json").exists():
            return "failed"
        if (self.applied / op_id).exists():
            return "applied"
        return "unknown"

    def failure(self, op_id: str) -> str | None:
        """Why a failed op could not be applied (None if it did not fail)."""
        if not isinstance(op_id, str) or not OP_ID_RE.fullmatch(op_id):
            return None
        try:
            return (self.failed / f"{op_id}.reason.txt").read_text("utf-8")
        except FileNotFoundError:
            return "failed" if (self.failed / f"{op_id}.json").exists() else None

    def pending_ops(self) -> list[str]:
        """Ids of the pending ops, oldest first."""
        try:
            names = os.listdir(self.pending)
        except FileNotFoundError:
            return []
        return sorted(n[:-5] for n in names if n.endswith(".json") and OP_ID_RE.fullmatch(n[:-5]))

    def pending_count(self) -> int:
        return len(self.pending_ops())

    def failed_count(self) -> int:
        try:
            return sum(1 for n in os.listdir(self.failed) if n.endswith(".json"))
        except FileNotFoundError:
            return 0

    def oldest_pending_age(self) -> float | None:
        """Seconds since the oldest pending op was accepted (from its stamp), or None."""
        ops = self.pending_ops()
        if not ops:
            return None
        return max(0.0, time.time() - int(ops[0][:20]) / 1e9)

    # -- applier side (used by Applier, under the applier lock) ---------------------------
    def _mark_applied(self, op_ids: list[str]) -> None:
        for op_id in op_ids:
            os.close(os.open(self.applied / op_id, os.O_WRONLY | os.O_CREAT, 0o644))
        if self.fsync:
            _fsync_dir(self.applied)
        for op_id in op_ids:
            (self.pending / f"{op_id}.json").unlink(missing_ok=True)
        if self.fsync:
            _fsync_dir(self.pending)

    def _move_failed(self, op_id: str, reason: str) -> None:
        log.error("spool op %s failed, moved to %s: %s", op_id, self.failed, reason)
        (self.failed / f"{op_id}.reason.txt").write_text(reason + "\n", "utf-8")
        try:
            os.rename(self.pending / f"{op_id}.json", self.failed / f"{op_id}.json")
        except FileNotFoundError:
            pass
        if self.fsync:
            _fsync_dir(self.failed)
            _fsync_dir(self.pending)

    def _prune(self) -> None:
        markers = sorted(n for n in os.listdir(self.applied) if OP_ID_RE.fullmatch(n))
        for name in markers[:max(0, len(markers) - self.keep_applied)]:
            (self.applied / name).unlink(missing_ok=True)
        now = time.time()
        for name in os.listdir(self.tmp):
            path = self.tmp / name
            try:
                if now - path.stat().st_mtime > _TMP_MAX_AGE:
                    path.unlink()
            except FileNotFoundError:
                pass


def _load_op(path: Path) -> list[tuple[str, str, Article | None]]:
    """The actions of one op file as (kind, doc id, article or None); SpoolError if bad."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SpoolError(f"unreadable op file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list) or not data["actions"]:
        raise SpoolError("op file without a list of actions")
    out: list[tuple[str, str, Article | None]] = []
    for i, action in enumerate(data["actions"]):
        kind = action.get("action") if isinstance(action, dict) else None
        if kind == "upsert":
            article = article_from_json(action.get("doc"))
            out.append(("upsert", article.id, article))
        elif kind == "delete":
            doc_id = action.get("id")
            if not isinstance(doc_id, str) or not doc_id:
                raise SpoolError(f"action {i}: delete without a string 'id'")
            out.append(("delete", doc_id, None))
        else:
            raise SpoolError(f"action {i}: unknown action {kind!r}")
    return out


class Applier:
    """Replays pending ops into the index; at most one runs at a time (per spool)."""

    def __init__(self, index_path: Path, spool_dir: Path | Spool, lock_timeout: float = 30.0, *,
                 batch_ops: int = 500, batch_docs: int = 1000,
                 on_applied: Callable[[], None] | None = None,
                 prepare: Callable[[Article], dict[str, Any]] | None = None,
                 embed: Callable[[list[str]], None] | None = None) -> None:
        self.index_path = Path(index_path)
        self.spool = spool_dir if isinstance(spool_dir, Spool) else Spool(Path(spool_dir))
        self.lock_timeout = lock_timeout
        self.batch_ops = max(1, batch_ops)
        self.batch_docs = max(1, batch_docs)
        self.on_applied = on_applied
        self._prepare = prepare
        self._embed = embed  # passage vectors for the upserted ids, after their commit
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def status(self, op_id: str) -> str:
        return self.spool.status(op_id)

    def _prepare_fn(self) -> Callable[[Article], dict[str, Any]]:
        if self._prepare is None:
            from indexer.schema import prepare
            self._prepare = prepare
        return self._prepare

    def run_once(self) -> int:
        """Apply one batch of pending ops; the number of ops taken out of pending/ (applied
        or failed). 0 when there is nothing to do, another applier holds the lock, or the
        index writer lock stays busy for lock_timeout (the ops stay pending)."""
        if not self.spool.pending_ops():
            return 0
        fd = os.open(self.spool.dir / "applier.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return 0
                raise
            return self._apply_batch()
        finally:
            os.close(fd)

    def _apply_batch(self) -> int:
        from indexer.store import IndexBusy, open_or_create, open_writer

        spool = self.spool
        prepare = self._prepare_fn()
        taken: list[str] = []
        failed = 0
        # doc id -> (kind, prepared fields or None, op that wrote it last)
        final: dict[str, tuple[str, dict[str, Any] | None, str]] = {}
        docs = 0
        for op_id in spool.pending_ops()[:self.batch_ops]:
            if taken and docs >= self.batch_docs:
                break
            try:
                actions = _load_op(spool.pending / f"{op_id}.json")
                prepared = [(kind, doc_id, prepare(a) if a is not None else None)
                            for kind, doc_id, a in actions]
            except FileNotFoundError:
                continue  # applied and unlinked by an applier that has since let go
            except Exception as exc:  # SpoolError, or analysis failing on this record
                spool._move_failed(op_id, f"{type(exc).__name__}: {exc}")
                failed += 1
                continue
            for kind, doc_id, fields in prepared:
                final.pop(doc_id, None)  # keep insertion order = order of the last action
                final[doc_id] = (kind, fields, op_id)
            taken.append(op_id)
            docs += len(prepared)
        if not taken:
            return failed
        ix = open_or_create(self.index_path)
        current = None
        try:
            with open_writer(ix, self.lock_timeout) as writer:
                for doc_id, (kind, fields, op_id) in final.items():
                    current = op_id
                    if kind == "upsert":
                        writer.update_document(**fields)
                    else:
                        writer.delete_by_term("id", doc_id)
                current = None
                writer.commit()
        except IndexBusy as exc:
            log.warning("spool: %s; %d op(s) stay pending", exc, len(taken))
            return failed
        except Exception as exc:
            if current is None or isinstance(exc, OSError):
                # The commit failed, or the disk did (full, read-only, I/O error) while
                # documents were written: not the op's fault, so everything stays pending.
                raise
            # One document broke the writer: set its op aside, retry the others next run.
            spool._move_failed(current, f"index write failed: {type(exc).__name__}: {exc}")
            return failed + 1
        finally:
            ix.close()
        spool._mark_applied(taken)
        spool._prune()
        log.info("spool: applied %d op(s), %d document action(s)", len(taken), len(final))
        if self.on_applied is not None:
            try:
                self.on_applied()
            except Exception:
                log.exception("spool on_applied callback failed")
        if self._embed is not None:
            upserted = [doc_id for doc_id, (kind, _, _) in final.items() if kind == "upsert"]
            try:
                if upserted:
                    self._embed(upserted)
            except Exception:  # the documents are indexed; `vnsearch embed` can add vectors later
                log.exception("spool: encoding %d passage(s) failed; they rank by terms alone", len(upserted))
        return failed + len(taken)

    # -- background thread ----------------------------------------------------------------
    def wake(self) -> None:
        """Run the thread's next pass now (e.g. a write was just accepted in this process)."""
        self._wake.set()

    def start_thread(self, interval: float = 0.5,
                     on_tick: Callable[[], None] | None = None) -> threading.Thread:
        """A daemon thread calling run_once in a loop: straight again while there is work,
        else after `interval` seconds or a `wake`. Idempotent per Applier."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    done = self.run_once()
                except Exception:
                    log.exception("spool applier pass failed; retrying in %.1fs", interval)
                    done = 0
                if on_tick is not None:
                    try:
                        on_tick()
                    except Exception:
                        log.exception("spool applier tick callback failed")
                if not done:
                    self._wake.wait(interval)

        self._thread = threading.Thread(target=loop, name="vnsearch-spool-applier", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread after its current pass (waits up to `timeout` seconds)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
