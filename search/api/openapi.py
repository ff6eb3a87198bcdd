"""The OpenAPI 3.0.3 document of the HTTP API, built from the same limits the app checks.

Every response the app can send is listed with a schema that matches it exactly (closed
objects: ``additionalProperties: false``; nullable fields marked), so a fuzzer can check
conformance. Constraints that JSON Schema cannot express are stated in descriptions:
``page * per_page <= max_depth``; ``date_from <= date_to``; a document's title and body
not both blank is expressed with ``anyOf``.
"""
from __future__ import annotations

from typing import Any

from config.settings import Settings
from search.api import validation as v

__all__ = ["build_spec", "OPENAPI_VERSION"]

OPENAPI_VERSION = "3.0.3"
_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _str(**kw: Any) -> dict[str, Any]:
    return {"type": "string", **kw}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _int(minimum: int | None = None, maximum: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        out["minimum"] = minimum
    if maximum is not None:
        out["maximum"] = maximum
    return out


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: Any = False) -> dict[str, Any]:
    return {"type": "object", "properties": props,
            "required": list(props) if required is None else required,
            "additionalProperties": extra}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return _json(_ref("Error"), description, headers)


def _query(name: str, schema: dict[str, Any], description: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description, **kw}


def _schemas() -> dict[str, Any]:
    text_or_null = _nullable(_str())
    not_blank = {"type": "string", "pattern": r"\S"}
    doc_props: dict[str, Any] = {
        "title": _str(description="Required; may be empty if body is not."),
        "body": _str(description="Required; may be empty if title is not."),
        "summary": text_or_null,
        "date": _nullable(_str(format="date", description=(
            "Publication date. ISO 8601 dates and date-times are accepted, and the day-first "
            "Vietnamese forms of the JSONL sources ('30/12/2014 07:42', 'ngày 30 tháng 12 năm "
            "2014'); day-first only, never month-first."))),
        "category": {"oneOf": [
            _nullable(_str(maxLength=v.CATEGORY_MAX_CHARS)),
            {"type": "array", "maxItems": v.MAX_CATEGORIES,
             "items": _str(maxLength=v.CATEGORY_MAX_CHARS)},
        ], "description": "One category or several (null or absent: none)."},
        "url": text_or_null, "author": text_or_null, "source": text_or_null,
        "doc_number": text_or_null,
        "extras": _nullable({"type": "object", "additionalProperties": True}),
    }
    either_text = {"anyOf": [{"properties": {"title": not_blank}},
                             {"properties": {"body": not_blank}}]}
    id_schema = _str(minLength=1, maxLength=v.ID_MAX_CHARS, pattern=v.ID_PATTERN)
    return {
        "Error": _obj({
            "title": _str(), "description": _str(),
            "field": _str(description="The parameter or field at fault, when there is one."),
            "op": _str(description="The write operation that failed (422)."),
            "errors": {"type": "array", "items": _ref("ItemError"),
                       "description": "Per-document errors of a bulk write (400)."},
        }, required=["title", "description"]),
        "ItemError": _obj({
            "index": _int(0), "line": _int(1), "message": _str(),
        }, required=["index", "message"]),
        "Hit": _obj({
            "id": _str(), "title": _str(),
            "title_html": _str(description="Title with matches in <mark>, HTML-escaped."),
            "snippet": _str(description="Best passage with matches in <mark>, HTML-escaped."),
            "url": _str(), "date": _nullable(_str()),
            "category": {"type": "array", "items": _str()},
            "author": _str(), "score": {"type": "number"},
        }),
        "FacetValue": _obj({"value": _str(), "count": _int(0)}),
        "SearchResult": _obj({
            "query": _str(), "total": _int(0), "page": _int(0), "per_page": _int(0),
            "took_ms": {"type": "number", "minimum": 0},
            "hits": {"type": "array", "items": _ref("Hit")},
            "facets": _obj({
                "category": {"type": "array", "items": _ref("FacetValue")},
                "year": {"type": "array", "items": _ref("FacetValue")},
            }, extra={"type": "array", "items": _ref("FacetValue")}),
            "suggestion": _nullable(_str(description="A corrected query, when one would match more.")),
        }),
        "Suggestions": _obj({"suggestions": {"type": "array", "items": _str()}}),
        "Document": _obj({
            "id": _str(), "title": _str(), "summary": _str(), "body": _str(), "url": _str(),
            "author": _str(), "source": _str(), "doc_number": _str(),
            "date": _nullable(_str(description="ISO 8601, Vietnam local time (UTC+7), naive.")),
            "category": {"type": "array", "items": _str()},
            "extras": {"type": "object", "additionalProperties": True},
        }),
        "DocumentInput": {
            **_obj(doc_props, required=["title", "body"], extra=True), **either_text,
            "description": ("One document. The id is the one in the URL (an 'id' key, if "
                            "present, must equal it). Keys not listed here are kept in extras."),
        },
        "BulkDocument": {
            **_obj({"id": id_schema, **doc_props}, required=["id", "title", "body"], extra=True),
            **either_text,
        },
        "WriteAccepted": _obj({
            "status": _str(enum=["accepted", "applied"], description=(
                "accepted (202): queued, searchable after the applier's next commit; applied "
                "(200, with wait): committed and visible to searches on this worker.")),
            "op": _str(pattern="^[0-9]{20}-[0-9a-f]{8}$"),
            "documents": _int(1),
        }),
        "Operation": _obj({
            "op": _str(), "status": _str(enum=["pending", "applied", "failed"]),
            "reason": _str(description="Why it failed (failed only)."),
        }, required=["op", "status"]),
        "Health": _obj({
            "status": _str(enum=["ok", "degraded"]),
            "documents": _nullable(_int(0)),
            "index_version": _nullable(_str()),
            "pending_writes": _int(0),
            "failed_writes": _int(0),
            "oldest_pending_seconds": _nullable({"type": "number", "minimum": 0}),
        }),
    }


def build_spec(settings: Settings) -> dict[str, Any]:
    s = settings.search
    e400 = _error("Invalid parameter or body.")
    e503 = _error("The index cannot be read (or the write queue cannot be written) now.",
                  {"Retry-After": {"schema": {"type": "integer"}, "required": False}})
    e500 = _error("Unexpected server error (a bug; never caused by client input).")
    auth_errors = {
        "401": _error("Missing or wrong bearer token.",
                      {"WWW-Authenticate": {"schema": _str(), "required": True}}),
        "403": _error("Writes are disabled: no API token is configured on the server."),
    }
    write_ok = {
        "200": _json(_ref("WriteAccepted"), "Applied and searchable (only with wait=true).",
                     {"Location": {"schema": _str(), "required": True}}),
        "202": _json(_ref("WriteAccepted"), "Accepted into the durable write queue.",
                     {"Location": {"schema": _str(), "required": True}}),
    }
    e422 = _error("The write was accepted but could not be applied (only with wait=true).")
    wait_params = [
        _query("wait", {"type": "boolean"}, "Wait until the write is applied and searchable "
               "(true/false/1/0). 200 when it is, 202 if the timeout passes first."),
        _query("timeout", {"type": "number", "minimum": 0, "maximum": v.MAX_WAIT_SECONDS},
               f"Seconds to wait with wait=true (default {v.DEFAULT_WAIT_SECONDS:g})."),
    ]
    id_param = {"name": "id", "in": "path", "required": True,
                "schema": _str(minLength=1, maxLength=v.ID_MAX_CHARS, pattern=v.ID_PATTERN),
                "description": ("Document id: the rest of the path, percent-decoded once ('/' "
                                "may be raw or %2F; '%', '?', '#' must be encoded).")}
    security = [{"bearerAuth": []}]
    bodies = {"413": _error(f"Body larger than {settings.server.max_body_bytes} bytes."),
              "415": _error("Content-Type not accepted (or a charset other than UTF-8).")}
    search_params = [
        _query("q", _str(maxLength=s.max_query_chars), "Query text. Empty: browse (newest first)."),
        _query("category", {"type": "array", "maxItems": v.MAX_FILTERS,
                            "items": _str(maxLength=v.CATEGORY_MAX_CHARS)},
               "Filter by category; repeat for several (any of them).", style="form", explode=True),
        _query("date_from", _str(format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
               "First day (YYYY-MM-DD), inclusive."),
        _query("date_to", _str(format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
               "Last day (YYYY-MM-DD), inclusive; not before date_from."),
        _query("sort", _str(enum=["relevance", "newest", "oldest"]),
               "Order; default relevance, or newest when q is empty."),
        _query("page", _int(1, s.max_depth), f"Page number; page * per_page <= {s.max_depth}."),
        _query("per_page", _int(1, s.max_per_page), f"Hits per page (default {s.per_page})."),
        _query("highlight", {"type": "boolean"}, "Mark matches in title_html and snippet (default true)."),
        _query("facets", {"type": "boolean"}, "Compute category and year facets (default true)."),
    ]
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "vnsearch", "version": "1",
                 "description": "Full-text search for Vietnamese news and documents. Each "
                                "single-valued query parameter may be given once (400 if "
                                "repeated); a typed parameter (integer, boolean, date, enum) "
                                "must not be empty; unknown parameters are ignored. Errors "
                                "are JSON {title, description}."},
        "paths": {
            "/search": {"get": {
                "operationId": "search", "summary": "Search documents", "parameters": search_params,
                "responses": {"200": _json(_ref("SearchResult"), "One page of results."),
                              "400": e400, "500": e500, "503": e503}}},
            "/suggest": {"get": {
                "operationId": "suggest", "summary": "Completions for a prefix",
                "parameters": [_query("q", _str(maxLength=v.SUGGEST_MAX_CHARS), "Prefix."),
                               _query("limit", _int(1, v.SUGGEST_MAX_LIMIT), "At most this many (default 8).")],
                "responses": {"200": _json(_ref("Suggestions"), "Completions, best first."),
                              "400": e400, "500": e500, "503": e503}}},
            "/documents": {"post": {
                "operationId": "bulkUpsert", "summary": "Add or replace many documents",
                "description": "All or nothing: if any document is invalid, none is accepted "
                               "and every error is listed (index, and line for JSON Lines). "
                               "The documents are written as one operation; for an id given "
                               "twice the last one wins.",
                "security": security, "parameters": wait_params,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "array", "minItems": 1,
                                                    "items": _ref("BulkDocument")}},
                    "application/x-ndjson": {"schema": _str(description="One BulkDocument per line.")},
                }},
                "responses": {**write_ok, "400": e400, **auth_errors, **bodies, "422": e422,
                              "500": e500, "503": e503}}},
            "/documents/{id}": {
                "parameters": [id_param],
                "get": {"operationId": "getDocument", "summary": "A stored document",
                        "responses": {"200": _json(_ref("Document"), "The document."),
                                      "404": _error("No document has this id."),
                                      "500": e500, "503": e503}},
                "put": {"operationId": "putDocument", "summary": "Add or replace a document",
                        "security": security, "parameters": wait_params,
                        "requestBody": {"required": True, "content": {
                            "application/json": {"schema": _ref("DocumentInput")}}},
                        "responses": {**write_ok, "400": e400, **auth_errors, **bodies,
                                      "422": e422, "500": e500, "503": e503}},
                "delete": {"operationId": "deleteDocument", "summary": "Delete a document",
                           "description": "Deleting an id that is not indexed is not an error.",
                           "security": security, "parameters": wait_params,
                           "responses": {**write_ok, "400": e400, **auth_errors, "422": e422,
                                         "500": e500, "503": e503}},
            },
            "/operations/{op}": {"get": {
                "operationId": "getOperation", "summary": "State of an accepted write",
                "parameters": [{"name": "op", "in": "path", "required": True, "schema": _str()}],
                "responses": {"200": _json(_ref("Operation"), "Where the write is."),
                              "404": _error("Unknown operation (or applied long ago)."),
                              "500": e500}}},
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness and index state",
                "responses": {"200": _json(_ref("Health"), "Serving (status degraded: writes are "
                                                           "not being applied)."),
                              "503": _json(_ref("Health"), "The index cannot be read."),
                              "500": e500}}},
            "/metrics": {"get": {
                "operationId": "metrics", "summary": "Prometheus metrics of this worker",
                "responses": {"200": {"description": "Text exposition format 0.0.4.",
                                      "content": {"text/plain": {"schema": _str()}}},
                              "500": e500}}},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0 document."),
                              "500": e500}}},
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
