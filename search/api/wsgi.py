"""gunicorn entry point: ``gunicorn -c config/gunicorn.conf.py search.api.wsgi:application``.

Importing this module loads the settings and builds the app; it opens nothing heavy:
the search engine (pyvi/CRF models, Whoosh readers) is opened by each worker on its first
request, after fork (`search.api.app.EngineHolder`), and refreshed at most every
``[search] refresh_interval`` seconds (by requests, and by the applier thread's ticks).

`start_background` (called from gunicorn's post_fork hook, see config/gunicorn.conf.py)
starts this worker's spool applier thread (`indexer.spool.Applier`). Every worker runs
one; the flock on spool/applier.lock lets one at a time apply, and when that worker dies
another takes over. A write accepted by a worker wakes that worker's thread at once.
Under another WSGI server, call `start_background()` once per process yourself.
"""
from __future__ import annotations

import logging
import os
import threading

from config.settings import load_settings
from indexer.spool import Applier, Spool
from search.api.app import create_app

__all__ = ["application", "settings", "spool", "start_background", "stop_background"]

if not logging.getLogger().handlers:  # our loggers (spool applier, API) to stderr, like gunicorn's
    logging.basicConfig(level=os.environ.get("VNSEARCH_LOGLEVEL", "info").upper(),
                        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")

settings = load_settings()
spool = Spool(settings.index.spool)
application = create_app(settings, spool=spool)

_lock = threading.Lock()
_applier: Applier | None = None
_applier_pid: int | None = None


def start_background() -> Applier:
    """Start this process's applier thread (idempotent per process)."""
    global _applier, _applier_pid
    with _lock:
        if _applier is not None and _applier_pid == os.getpid():
            return _applier
        engines = application.vnsearch.engines

        def after_commit() -> None:  # this worker sees its own applier's commits at once
            if engines.opened:
                engines.refresh()

        _applier = Applier(settings.index.path, spool, settings.index.lock_timeout,
                           batch_docs=settings.index.batch_size, on_applied=after_commit,
                           embed=_embedder() if settings.search.semantic else None)
        spool.add_listener(_applier.wake)
        interval = min(0.5, max(0.05, settings.search.refresh_interval))
        _applier.start_thread(interval, on_tick=engines.maybe_refresh)
        _applier_pid = os.getpid()
        return _applier


def _embedder():  # noqa: ANN202
    """Passage vectors for documents written through the API, right after their commit."""
    from indexer.embedding import E5Encoder, embed_documents
    from indexer.store import live_dir

    encoder = E5Encoder()

    def embed(ids: list[str]) -> None:
        live = live_dir(settings.index.path)
        if live is not None:
            embed_documents(live, ids, encoder)

    return embed


def stop_background(timeout: float | None = 10.0) -> None:
    """Stop the applier thread after its current pass (gunicorn worker_exit)."""
    with _lock:
        if _applier is not None and _applier_pid == os.getpid():
            _applier.stop(timeout)
