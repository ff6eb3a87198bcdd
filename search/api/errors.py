"""Error responses: every error is JSON ``{"title", "description"}`` (plus a few extra keys).

- `ApiError` is a falcon.HTTPError carrying extra body keys (``errors``, ``op``, ``field``).
- `serialize_error` replaces Falcon's negotiating serializer: JSON whatever the Accept
  header says, and ``description`` always present (Falcon's own 404/405 have none).
- `handle_unexpected` is the catch-all for non-HTTP exceptions. The engine's
  ``InvalidRequest`` becomes 400 and ``IndexUnavailable`` 503 (matched by class name, so
  this module does not import ``search.engine``); anything else is logged with its
  traceback and answered 500 with no detail. Client input must never get there.
"""
from __future__ import annotations

import json
import logging
import math
from typing import Any

import falcon

__all__ = [
    "ApiError", "EngineUnavailable", "bad_request", "serialize_error", "handle_unexpected",
    "dumps", "is_engine_error",
]

log = logging.getLogger("search.api")


class EngineUnavailable(RuntimeError):
    """The search engine could not be opened (no index yet, unreadable index, ...)."""


class ApiError(falcon.HTTPError):
    def __init__(self, status: str, title: str, description: str, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(status, title=title, description=description, headers=headers)
        self.extra = extra


def bad_request(description: str, **extra: Any) -> ApiError:
    return ApiError(falcon.HTTP_400, "Invalid request", description, **extra)


def _sanitize(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become null, tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


def dumps(obj: Any) -> bytes:
    """Strict JSON as UTF-8 bytes: no NaN/Infinity; text that cannot be UTF-8 (lone
    surrogates from a legacy source) falls back to \\u escapes instead of failing."""
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_sanitize(obj), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(json.loads(text), ensure_ascii=True, allow_nan=False).encode("ascii")


def serialize_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    title = ex.title or resp.status
    body: dict[str, Any] = {"title": str(title), "description": str(ex.description or title)}
    for key, value in getattr(ex, "extra", {}).items():
        if value is not None:
            body[key] = value
    resp.data = dumps(body)
    resp.content_type = falcon.MEDIA_JSON
    resp.append_header("Vary", "Accept")


def is_engine_error(ex: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(ex).__mro__)


def _render(req: falcon.Request, resp: falcon.Response, err: falcon.HTTPError) -> None:
    resp.status = err.status
    for name, value in (err.headers or {}).items():
        resp.set_header(name, value)
    serialize_error(req, resp, err)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    if is_engine_error(ex, "InvalidRequest"):
        field = getattr(ex, "field", None)
        message = getattr(ex, "message", None) or str(ex)
        _render(req, resp, bad_request(str(message), field=str(field) if field else None))
        return
    if isinstance(ex, EngineUnavailable) or is_engine_error(ex, "IndexUnavailable"):
        log.warning("index unavailable: %s", ex)
        _render(req, resp, ApiError(falcon.HTTP_503, "Index unavailable",
                                    f"The search index cannot be read now: {ex}",
                                    headers={"Retry-After": "5"}))
        return
    log.exception("unexpected error on %s %s", req.method, req.path)
    _render(req, resp, ApiError(falcon.HTTP_500, "Internal server error",
                                "The server failed to handle this request; it has been logged."))
