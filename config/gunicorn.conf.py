"""gunicorn settings for the vnsearch API: ``gunicorn -c config/gunicorn.conf.py search.api.wsgi:application``.

Environment overrides: VNSEARCH_BIND (host:port; else [server] host/port from the
settings, i.e. VNSEARCH_SERVER_HOST / VNSEARCH_SERVER_PORT, default 127.0.0.1:8000),
VNSEARCH_WORKERS (else WEB_CONCURRENCY, else 2), VNSEARCH_THREADS (4),
VNSEARCH_ACCESSLOG=1 for an access log on stdout.

Choices:
- worker_class gthread, threads 4: ``?wait=1`` writes sleep while they poll the queue,
  and slow clients take time to send and read; threads keep such a request from holding
  a whole worker process, and share one engine (one set of analysis models and index
  readers) per worker instead of one per connection. Reads are CPU-bound under one GIL,
  so they take turns (`search.api.app.OneReadAtATime`): interleaving four of them served
  fewer (docs/benchmarks.md, HTTP). Scale CPU with workers.
- preload_app False: the master must not import the app. The engine (pyvi's CRF tagger,
  a C object from python-crfsuite, and Whoosh file handles) and the applier thread have
  to be created in each worker after fork: C library state and threads do not survive
  fork, and shared file offsets between processes would corrupt reads. Each worker
  imports search.api.wsgi itself and opens the engine on its first request.
- post_fork starts the worker's spool applier thread; worker_exit stops it after its
  current pass (a worker killed mid-commit is also safe, see indexer/spool.py).
- timeout 30: a request stuck that long is a bug (the ?wait timeout is capped at 20 s);
  max_requests 200000 +- 20000: a recycled worker starts with cold caches (posting
  lists, vocabulary: seconds of work on a large index), and at a few hundred requests/s
  the former 2000 meant a restart every ~10 s. Memory is bounded by the explicit caches
  (`posting_cache_mb`, `positions_cache_mb`, and per index generation `joined_cache_mb`,
  `score_cache_mb`, `stored_cache_mb`, `mask_cache_mb`; per segment `stats_cache_mb`), so recycling is only a guard against slow leaks; staggered so
  workers do not restart together.
- reuse_port True: each worker listens on its own SO_REUSEPORT socket and the kernel
  spreads new connections over them. With one shared socket, whichever worker is in
  accept() takes the connection, and keep-alive clients stay with it: in the HTTP benchmark
  (8 keep-alive connections) one worker took all 8 in 3 of 8 runs while the other idled
  (plain 100 req/s with worker CPU 0.6 s / 60.3 s; 281-289 req/s when both work). The
  cost: a second server started on the same port by the same user shares it instead of
  failing with "address in use".
- limit_request_line 8190 (the maximum): a 500-character Vietnamese query is ~4.5 kB
  once percent-encoded, more than the 4094 default. Header count and size are capped.
"""
import os

from config.settings import load_settings

_settings = load_settings()

bind = os.environ.get("VNSEARCH_BIND") or f"{_settings.server.host}:{_settings.server.port}"
workers = int(os.environ.get("VNSEARCH_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = int(os.environ.get("VNSEARCH_THREADS") or 4)
timeout = 30
graceful_timeout = 30
keepalive = 5
reuse_port = True
max_requests = 200000
max_requests_jitter = 20000
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
preload_app = False
accesslog = "-" if os.environ.get("VNSEARCH_ACCESSLOG", "").lower() in ("1", "true", "yes", "on") else None
errorlog = "-"
loglevel = os.environ.get("VNSEARCH_LOGLEVEL", "info")


def post_fork(server, worker):
    from search.api import wsgi

    wsgi.start_background()
    server.log.info("worker %s: spool applier thread started", worker.pid)


def worker_exit(server, worker):
    import sys

    wsgi = sys.modules.get("search.api.wsgi")
    if wsgi is not None:
        wsgi.stop_background(timeout=max(1.0, graceful_timeout - 5))
