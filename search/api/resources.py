"""The HTTP resources, one class per route (wired in `search.api.app`).

Document ids in URLs: ``/documents/{id}`` takes the whole rest of the path as the id,
percent-decoded once by the server. So an id may contain '/' (sent raw or as %2F, the
same after decoding: ``/documents/2014/qh13`` is the id ``2014/qh13``), and ':' or any
other character; '%', '?' and '#' must be percent-encoded (%25, %3F, %23), and non-ASCII
is sent as percent-encoded UTF-8. Ids are 1 to 512 characters, without control
characters and without spaces at either end.
"""
from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
from typing import TYPE_CHECKING, Any

import falcon

from search.api import validation as v
from search.api.errors import ApiError, bad_request
from search.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

if TYPE_CHECKING:
    from search.api.app import Context

__all__ = [
    "SearchResource", "SuggestResource", "DocumentResource", "DocumentsResource",
    "OperationResource", "HealthResource", "MetricsResource", "OpenAPIResource",
    "result_json", "document_json",
]

log = logging.getLogger("search.api")

STALE_PENDING_SECONDS = 60.0  # oldest pending write older than this: the applier looks stuck
MAX_REPORTED_ERRORS = 100
BULK_TYPES = ("application/json", "application/x-ndjson", "application/jsonl")
_DOC_TEXT = ("title", "summary", "body", "url", "author", "source", "doc_number")


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [c for c in value.split(",") if c]
    return [str(c) for c in value]


def _finite(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def result_json(result: Any) -> dict[str, Any]:
    """A SearchResult as the documented JSON (types enforced, so it always matches the spec)."""
    hits = [{
        "id": _s(h.id), "title": _s(h.title), "title_html": _s(h.title_html),
        "snippet": _s(h.snippet), "url": _s(h.url), "date": _date(h.date),
        "category": _strings(h.category), "author": _s(h.author), "score": _finite(h.score),
    } for h in result.hits]
    facets: dict[str, list[dict[str, Any]]] = {"category": [], "year": []}
    for name, values in (result.facets or {}).items():
        facets[str(name)] = [{"value": _s(f.value), "count": _count(f.count)} for f in values]
    return {
        "query": _s(result.query), "total": _count(result.total), "page": _count(result.page),
        "per_page": _count(result.per_page), "took_ms": max(0.0, _finite(result.took_ms)),
        "hits": hits, "facets": facets,
        "suggestion": None if result.suggestion in (None, "") else _s(result.suggestion),
    }


def document_json(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as the documented JSON, whatever types the engine stored."""
    out: dict[str, Any] = {"id": _s(doc.get("id"))}
    for key in _DOC_TEXT:
        out[key] = _s(doc.get(key))
    out["date"] = _date(doc.get("date"))
    out["category"] = _strings(doc.get("category", doc.get("categories")))
    extras = doc.get("extras")
    out["extras"] = extras if isinstance(extras, dict) else {}
    return out


def require_token(req: falcon.Request, token: str) -> None:
    """403 when the server has no token (writes disabled), 401 when the request's is wrong."""
    if not token:
        raise ApiError(falcon.HTTP_403, "Writes disabled",
                       "This server has no API token configured (set VNSEARCH_API_TOKEN), "
                       "so it accepts no writes.")
    header = (req.get_header("Authorization") or "").strip()
    scheme, _, credentials = header.partition(" ")
    try:  # WSGI headers are latin-1 strings of the raw bytes; the token is UTF-8
        given = credentials.strip().encode("latin-1")
    except UnicodeEncodeError:
        given = credentials.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, token.encode("utf-8")):
        challenge = 'Bearer realm="vnsearch"' + (', error="invalid_token"' if header else "")
        raise ApiError(falcon.HTTP_401, "Unauthorized",
                       "Writes need the header 'Authorization: Bearer <token>' with this "
                       "server's API token.", headers={"WWW-Authenticate": challenge})


class _Resource:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx


class SearchResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = v.search_request(req, self.ctx.settings)
        resp.media = result_json(self.ctx.engine().search(request))


class SuggestResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        prefix, limit = v.suggest_params(req)
        suggestions = self.ctx.engine().suggest(prefix, limit) if prefix else []
        resp.media = {"suggestions": [_s(s) for s in list(suggestions)[:limit]]}


class _Writes(_Resource):
    def _enqueue(self, build):
        try:
            return build()
        except OSError as exc:  # the spool's disk: full, read-only, gone
            log.error("cannot write to the spool: %s", exc)
            raise ApiError(falcon.HTTP_503, "Write queue unavailable",
                           "The server cannot store writes now; try again later.",
                           headers={"Retry-After": "30"}) from None

    def _answer(self, resp: falcon.Response, op: str, count: int, wait: float | None) -> None:
        resp.set_header("Location", f"/operations/{op}")
        body = {"status": "accepted", "op": op, "documents": count}
        state = self.ctx.wait_for(op, wait) if wait is not None else "pending"
        if state == "failed":
            raise ApiError("422 Unprocessable Entity", "Write failed",
                           self.ctx.spool.failure(op) or "the write could not be applied", op=op)
        if state == "applied":
            resp.status = falcon.HTTP_200
            body["status"] = "applied"
        else:
            resp.status = falcon.HTTP_202
        resp.media = body


class DocumentResource(_Writes):
    """GET, PUT and DELETE /documents/{id} (see the module docstring for ids in URLs)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        doc = self.ctx.engine().get_document(doc_id) if v.valid_id(doc_id) else None
        if doc is None:
            raise ApiError(falcon.HTTP_404, "Not found", "No document has this id.")
        resp.media = document_json(doc)

    def _id(self, doc_id: str) -> str:
        if not v.valid_id(doc_id):
            raise bad_request(f"invalid document id: 1 to {v.ID_MAX_CHARS} characters, no "
                              "control characters, no spaces at either end", field="id")
        return doc_id

    def on_put(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        require_token(req, self.ctx.settings.api.token)
        doc_id = self._id(doc_id)
        wait = v.wait_params(req)
        _, data = v.read_body(req, self.ctx.settings.server.max_body_bytes, ("application/json",))
        try:
            article = v.document_to_article(v.parse_json(data), doc_id)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        op = self._enqueue(lambda: self.ctx.spool.upsert(article))
        self._answer(resp, op, 1, wait)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        require_token(req, self.ctx.settings.api.token)
        doc_id = self._id(doc_id)
        wait = v.wait_params(req)
        op = self._enqueue(lambda: self.ctx.spool.delete(doc_id))
        self._answer(resp, op, 1, wait)


class DocumentsResource(_Writes):
    """POST /documents: many documents in one op, accepted or refused as a whole."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_token(req, self.ctx.settings.api.token)
        wait = v.wait_params(req)
        media_type, data = v.read_body(req, self.ctx.settings.server.max_body_bytes, BULK_TYPES)
        items: list[tuple[int, int | None, Any]] = []  # (index, line, value or ValueError)
        if media_type == "application/json":
            try:
                value = v.parse_json(data)
            except ValueError as exc:
                raise bad_request(str(exc)) from None
            if not isinstance(value, list):
                raise bad_request("the body must be a JSON array of documents "
                                  "(or JSON Lines with Content-Type application/x-ndjson)")
            items = [(i, None, item) for i, item in enumerate(value)]
        else:
            items = [(i, line, item) for i, (line, item) in enumerate(v.parse_ndjson(data))]
        if not items:
            raise bad_request("no documents in the body")
        articles, errors = [], []
        for index, line, item in items:
            try:
                if isinstance(item, ValueError):
                    raise item
                articles.append(v.document_to_article(item))
            except ValueError as exc:
                error: dict[str, Any] = {"index": index, "message": str(exc)}
                if line is not None:
                    error["line"] = line
                errors.append(error)
        if errors:
            raise bad_request(
                f"{len(errors)} of {len(items)} documents are invalid; none was accepted"
                + (f" (the first {MAX_REPORTED_ERRORS} are listed)" if len(errors) > MAX_REPORTED_ERRORS else ""),
                errors=errors[:MAX_REPORTED_ERRORS])
        op = self._enqueue(lambda: self.ctx.spool.upsert(articles))
        self._answer(resp, op, len(articles), wait)


class OperationResource(_Resource):
    """GET /operations/{op}: where an accepted write is."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, op_id: str) -> None:
        state = self.ctx.spool.status(op_id)
        if state == "unknown":
            raise ApiError(falcon.HTTP_404, "Not found",
                           "No such operation (or it was applied long ago and forgotten).")
        body: dict[str, Any] = {"op": op_id, "status": state}
        if state == "failed":
            body["reason"] = self.ctx.spool.failure(op_id) or ""
        resp.media = body


class HealthResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status, code, documents, version = "ok", falcon.HTTP_200, None, None
        try:
            engine = self.ctx.engine()
            documents, version = _count(engine.doc_count()), _s(engine.version())
        except Exception as exc:
            log.warning("health: index unavailable: %s", exc)
            status, code = "degraded", falcon.HTTP_503
        pending = failed = 0
        age = None
        try:
            pending, failed = self.ctx.spool.pending_count(), self.ctx.spool.failed_count()
            age = self.ctx.spool.oldest_pending_age()
        except OSError as exc:
            log.warning("health: spool unreadable: %s", exc)
            status = "degraded"
        if age is not None and age > STALE_PENDING_SECONDS:
            status = "degraded"  # searches work, but writes are not being applied
        resp.status = code
        resp.media = {"status": status, "documents": documents, "index_version": version,
                      "pending_writes": pending, "failed_writes": failed,
                      "oldest_pending_seconds": None if age is None else round(age, 3)}


class MetricsResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = METRICS_CONTENT_TYPE
        resp.text = self.ctx.metrics.render()


class OpenAPIResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.ctx.spec
