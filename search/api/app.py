"""The Falcon application factory: `create_app(settings, engine=None, spool=None)`.

Routes (see `search.api.openapi` for the full contract, served at /openapi.json):

    GET    /search                   full-text search with filters, facets, paging
    GET    /suggest                  completions for a prefix
    GET    /documents/{id}           a stored document (404 if absent)
    PUT    /documents/{id}           upsert one document       (Bearer token; 202, or 200 with ?wait=1)
    DELETE /documents/{id}           delete one document       (Bearer token; 202, or 200 with ?wait=1)
    POST   /documents                bulk upsert, JSON array or JSON Lines (Bearer token)
    GET    /operations/{op}          state of an accepted write: pending, applied, failed
    GET    /health                   200 ok / 503 degraded, document count, index version, queue
    GET    /metrics                  Prometheus text format 0.0.4 (this worker's counters)
    GET    /openapi.json             OpenAPI 3.0 description of all of the above
    GET    /                         the portal's search page (HTML, search.page)
    GET    /static/{name}            the page's CSS and JavaScript

Writes never touch the index in the request: they go to the spool (`indexer.spool`) and
the applier thread commits them; ``?wait=1`` waits until the write is applied and this
worker's reader has been refreshed. The engine is opened lazily on first use (so a
gunicorn worker opens its own after fork) and `Engine.refresh` is called at most every
``[search] refresh_interval`` seconds, by whichever request comes first.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import falcon
import falcon.media

from config.settings import Settings
from indexer.spool import Spool
from search.api import resources as r
from search.api.errors import EngineUnavailable, dumps, handle_unexpected, is_engine_error, serialize_error
from search.api.metrics import Metrics, MetricsMiddleware
from search.api.openapi import build_spec

__all__ = ["create_app", "App", "Context", "EngineHolder", "SerializedEngine", "OneReadAtATime", "ROUTES"]

log = logging.getLogger("search.api")

#: (Falcon URI template, OpenAPI path, resource class); test_openapi checks they agree.
ROUTES: list[tuple[str, str, type]] = [
    ("/search", "/search", r.SearchResource),
    ("/suggest", "/suggest", r.SuggestResource),
    ("/documents", "/documents", r.DocumentsResource),
    ("/documents/{doc_id:path}", "/documents/{id}", r.DocumentResource),
    ("/operations/{op_id}", "/operations/{op}", r.OperationResource),
    ("/health", "/health", r.HealthResource),
    ("/metrics", "/metrics", r.MetricsResource),
    ("/openapi.json", "/openapi.json", r.OpenAPIResource),
]


class EngineHolder:
    """Opens the engine on first use and refreshes it at most every `refresh_interval`."""

    def __init__(self, factory: Callable[[], Any] | None, refresh_interval: float,
                 engine: Any = None) -> None:
        self._factory = factory
        self._engine = engine
        self.refresh_interval = max(0.0, refresh_interval)
        self._last_refresh = time.monotonic()
        self._open_lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    @property
    def opened(self) -> bool:
        return self._engine is not None

    def get(self) -> Any:
        engine = self._engine
        if engine is None:
            with self._open_lock:
                if self._engine is None:
                    self._engine = self._open()
                    self._last_refresh = time.monotonic()
                return self._engine
        self.maybe_refresh()
        return engine

    def _open(self) -> Any:
        if self._factory is None:
            raise EngineUnavailable("no search engine configured")
        try:
            return self._factory()
        except Exception as exc:
            if is_engine_error(exc, "IndexUnavailable"):
                raise
            log.exception("cannot open the search engine")
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def maybe_refresh(self) -> None:
        """Refresh if refresh_interval has passed and no other thread is refreshing."""
        if self._engine is None or time.monotonic() - self._last_refresh < self.refresh_interval:
            return
        if self._refresh_lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._refresh_lock.release()

    def refresh(self) -> None:
        """Refresh now (after a write this request waited for); opens the engine if needed."""
        if self._engine is None:
            self.get()
            return
        with self._refresh_lock:
            self._refresh()

    def _refresh(self) -> None:
        try:
            self._engine.refresh()
        except Exception:  # keep serving the reader we have
            log.exception("engine refresh failed")
        finally:
            self._last_refresh = time.monotonic()

    def close(self) -> None:
        if self._engine is not None:
            try:
                self._engine.close()
            finally:
                self._engine = None


class SerializedEngine:
    """The engine with its index reads behind one lock per process.

    A gunicorn worker runs several request threads (gthread) over one Engine, whose Whoosh
    readers share file objects (seek, then read): concurrent searches in one process read
    each other's positions and fail (UnpicklingError, EOFError, ... -> 500). Reads are
    CPU-bound under the GIL anyway, so serializing them costs little; what the threads are
    for (``?wait`` polling, slow clients) runs outside the lock. `refresh` opens new
    readers and is not locked."""

    LOCKED = frozenset({"search", "suggest", "get_document", "doc_count", "version"})

    def __init__(self, engine: Any, lock: threading.Lock) -> None:
        self._engine = engine
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if name not in self.LOCKED or not callable(attr):
            return attr
        lock = self._lock

        def locked(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return attr(*args, **kwargs)

        return locked


class OneReadAtATime:
    """Middleware: a worker runs one read (GET/HEAD) request at a time, through its
    responder or error handler (Falcon renders and gunicorn sends the body after its turn),
    while writes and their ``?wait`` polling run beside it.

    The request threads (gthread) exist for waiting writes and slow clients; reads are
    CPU-bound under one GIL, and when four of them ran interleaved a worker served fewer
    of them. HTTP benchmark (8 keep-alive connections, 2 workers, 100 s of warm-up), A/B
    runs interleaved on 2026-12-06: 4 threads 292 / 296 / 338 req/s, 4 threads with this
    306 / 318 / 352, one thread 243 to 403 (the machine's speed drifts that much)."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method in ("GET", "HEAD"):
            self.lock.acquire()
            req.context.read_lock = True

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object,
                         req_succeeded: bool) -> None:
        if getattr(req.context, "read_lock", False):
            req.context.read_lock = False
            self.lock.release()


class Context:
    """What the resources share: settings, engine, spool, metrics, spec."""

    def __init__(self, settings: Settings, engines: EngineHolder, spool: Spool, metrics: Metrics) -> None:
        self.settings = settings
        self.engines = engines
        self.spool = spool
        self.metrics = metrics
        self.spec = build_spec(settings)
        self._reads = threading.Lock()
        # One read request at a time (`OneReadAtATime`); `_reads` still guards the engine's
        # calls from any request, whatever its method.
        self.read_turn = threading.Lock()

    def engine(self) -> Any:
        """The engine for one request (its reads serialized, see `SerializedEngine`)."""
        return SerializedEngine(self.engines.get(), self._reads)

    def wait_for(self, op: str, timeout: float) -> str:
        """Poll the op until applied (then refresh this worker's reader), failed, or timeout;
        returns "applied", "failed" or "pending"."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            state = self.spool.status(op)
            if state == "applied":
                try:
                    self.engines.refresh()
                except Exception as exc:  # applied, but this worker cannot show it yet
                    log.warning("refresh after write %s failed: %s", op, exc)
                    return "pending"
                return "applied"
            if state == "failed":
                return "failed"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "pending"
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.2)


def _engine_factory(settings: Settings) -> Callable[[], Any]:
    def open_engine() -> Any:
        from search.engine import Engine  # heavy (analysis models): imported in the worker

        return Engine(settings.index.path, settings.search)

    return open_engine


class App(falcon.App):
    """falcon.App plus `vnsearch`, the Context (engine, spool, metrics) behind the routes."""

    vnsearch: Context


def create_app(settings: Settings, engine: Any = None, spool: Spool | None = None, *,
               metrics: Metrics | None = None) -> falcon.App:
    """The WSGI app. `engine` and `spool` are injectable (tests); by default the engine is
    `search.engine.Engine` on settings.index.path, opened on first use, and the spool is
    the directory settings.index.spool."""
    engines = EngineHolder(None if engine is not None else _engine_factory(settings),
                           settings.search.refresh_interval, engine)
    spool = spool if spool is not None else Spool(settings.index.spool)
    metrics = metrics if metrics is not None else Metrics()
    metrics.gauge("spool_pending_writes", "Writes accepted but not yet applied to the index.",
                  spool.pending_count)
    metrics.gauge("spool_failed_writes", "Writes that could not be applied (spool/failed).",
                  spool.failed_count)
    ctx = Context(settings, engines, spool, metrics)

    app = App(middleware=[MetricsMiddleware(metrics), OneReadAtATime(ctx.read_turn)])
    app.req_options.strip_url_path_trailing_slash = False
    app.req_options.auto_parse_qs_csv = False
    json_handler = falcon.media.JSONHandler(dumps=dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.default_media_type = falcon.MEDIA_JSON
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    for template, _, resource in ROUTES:
        app.add_route(template, resource(ctx))
    from search.page import register as register_page

    register_page(app, ctx.engine, per_page=settings.search.per_page,
                  max_depth=settings.search.max_depth)
    app.vnsearch = ctx
    return app
