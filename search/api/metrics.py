"""Request metrics in the Prometheus text exposition format 0.0.4, written by hand.

- ``vnsearch_http_requests_total{route, method, status}``: counter.
- ``vnsearch_http_request_duration_seconds{route}``: histogram (cumulative buckets, _sum,
  _count).
- gauges registered with `Metrics.gauge` (pending writes, ...), read at scrape time.

``route`` is the Falcon URI template (``/documents/{doc_id:path}``), never the raw path,
and ``unmatched`` for 404s, so label cardinality stays bounded whatever clients send;
methods outside the HTTP verbs are counted as ``other``.

Thread-safe (one lock around every update and the rendering). Per process only: each
gunicorn worker counts its own requests and a scrape reaches one worker, so the numbers
are not aggregated across workers (that would need a shared store, e.g. the
prometheus_client multiprocess mode); compare rates, not absolute totals, or scrape
each worker.
"""
from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from typing import Callable

import falcon

__all__ = ["Metrics", "MetricsMiddleware", "CONTENT_TYPE", "DEFAULT_BUCKETS"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metrics:
    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS, prefix: str = "vnsearch") -> None:
        self.buckets = tuple(sorted(buckets))
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        # route -> [bucket counts (non-cumulative, last = +Inf), sum, count]
        self._hist: dict[str, list] = {}
        self._gauges: list[tuple[str, str, Callable[[], float | None]]] = []

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        key = (route, method, str(status))
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            hist = self._hist.get(route)
            if hist is None:
                hist = self._hist[route] = [[0] * (len(self.buckets) + 1), 0.0, 0]
            hist[0][bisect_left(self.buckets, seconds)] += 1
            hist[1] += seconds
            hist[2] += 1

    def gauge(self, name: str, help_text: str, read: Callable[[], float | None]) -> None:
        """A value computed at scrape time (a failing or None reading is left out)."""
        self._gauges.append((name, help_text, read))

    def count(self, route: str, method: str, status: int) -> int:
        with self._lock:
            return self._counts.get((route, method, str(status)), 0)

    def render(self) -> str:
        p = self.prefix
        with self._lock:
            counts = sorted(self._counts.items())
            hists = sorted((r, [list(h[0]), h[1], h[2]]) for r, h in self._hist.items())
        lines = [f"# HELP {p}_http_requests_total HTTP requests handled by this worker.",
                 f"# TYPE {p}_http_requests_total counter"]
        for (route, method, status), n in counts:
            lines.append(f'{p}_http_requests_total{{route="{_label(route)}",method="{method}",'
                         f'status="{status}"}} {n}')
        name = f"{p}_http_request_duration_seconds"
        lines += [f"# HELP {name} Time to handle a request, by route.", f"# TYPE {name} histogram"]
        for route, (buckets, total, n) in hists:
            r = _label(route)
            cumulative = 0
            for bound, c in zip((*self.buckets, math.inf), buckets):
                cumulative += c
                lines.append(f'{name}_bucket{{route="{r}",le="{_num(bound)}"}} {cumulative}')
            lines.append(f'{name}_sum{{route="{r}"}} {total!r}')
            lines.append(f'{name}_count{{route="{r}"}} {n}')
        for gname, help_text, read in self._gauges:
            try:
                value = read()
            except Exception:
                value = None
            if value is None:
                continue
            lines += [f"# HELP {p}_{gname} {help_text}", f"# TYPE {p}_{gname} gauge",
                      f"{p}_{gname} {_num(float(value))}"]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times every request and counts it by route template, method and final status."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        route = req.uri_template or "unmatched"
        self.metrics.observe(route, req.method, resp.status_code, elapsed)
