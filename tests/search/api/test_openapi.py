"""The OpenAPI document: structurally sound, covers every route, and matches real responses."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import pytest

from indexer.spool import Spool
from search.api.app import ROUTES, create_app
from search.api.openapi import build_spec
from tests.search.api.test_app import AUTH, FakeEngine, IndexUnavailable, make_settings

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path)


@pytest.fixture
def spec(settings) -> dict:
    return build_spec(settings)


# -- a small JSON Schema (OpenAPI 3.0 dialect) validator, enough for this spec ------------
def resolve(spec: dict, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def validate(spec: dict, schema: dict, value: Any, where: str = "$") -> None:
    if "$ref" in schema:
        return validate(spec, resolve(spec, schema["$ref"]), value, where)
    if value is None:
        assert schema.get("nullable") or "type" not in schema and not schema.get("properties"), \
            f"{where}: null where the schema does not allow it"
        return
    kind = schema.get("type")
    checks = {"string": lambda v: isinstance(v, str), "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "boolean": lambda v: isinstance(v, bool), "array": lambda v: isinstance(v, list),
              "object": lambda v: isinstance(v, dict)}
    if kind is not None:
        assert checks[kind](value), f"{where}: {value!r} is not {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{where}: {value} < minimum"
    if "maximum" in schema:
        assert value <= schema["maximum"], f"{where}: {value} > maximum"
    if isinstance(value, str):
        assert len(value) >= schema.get("minLength", 0), where
        assert len(value) <= schema.get("maxLength", len(value)), where
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{where}: {value!r} !~ {schema['pattern']}"
    if isinstance(value, list):
        assert schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)), where
        for i, item in enumerate(value):
            validate(spec, schema.get("items", {}), item, f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing required {name!r}"
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                validate(spec, props[name], item, f"{where}.{name}")
            elif extra is False:
                raise AssertionError(f"{where}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                validate(spec, extra, item, f"{where}.{name}")
    for sub in ("oneOf", "anyOf"):
        if sub in schema:
            passed = 0
            for option in schema[sub]:
                try:
                    validate(spec, option, value, where)
                    passed += 1
                except AssertionError:
                    pass
            assert passed == 1 if sub == "oneOf" else passed >= 1, f"{where}: {sub} matched {passed}"


def test_validator_rejects_what_it_should(spec):
    hit = {"id": "a", "title": "", "title_html": "", "snippet": "", "url": "", "date": None,
           "category": [], "author": "", "score": 1.0}
    validate(spec, {"$ref": "#/components/schemas/Hit"}, hit)
    for broken in ({**hit, "extra": 1}, {**hit, "score": "1"}, {k: v for k, v in hit.items() if k != "id"},
                   {**hit, "category": None}):
        with pytest.raises(AssertionError):
            validate(spec, {"$ref": "#/components/schemas/Hit"}, broken)


# -- structure -----------------------------------------------------------------------------
def all_refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


def test_spec_structure(spec):
    assert re.fullmatch(r"3\.0\.\d", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    for ref in all_refs(spec):
        resolve(spec, ref)  # every $ref resolves
    op_ids = []
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        path_params = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, op in item.items():
            if method == "parameters":
                continue
            assert method in HTTP_METHODS
            op_ids.append(op["operationId"])
            params = item.get("parameters", []) + op.get("parameters", [])
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"} | path_params
            assert names == set(re.findall(r"\{(\w+)\}", path)), (path, method)
            for p in params:
                assert p["in"] in ("query", "path", "header") and "schema" in p
                if p["in"] == "path":
                    assert p["required"] is True
            assert op["responses"], (path, method)
            for code, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", code) and resp["description"]
                for media in resp.get("content", {}).values():
                    assert "schema" in media
            if "requestBody" in op:
                assert op["requestBody"]["content"]
            for requirement in op.get("security", []):
                assert set(requirement) <= set(spec["components"]["securitySchemes"])
    assert len(op_ids) == len(set(op_ids))


def test_every_route_and_method_of_the_app_is_in_the_spec(spec):
    documented = {(path, m) for path, item in spec["paths"].items() for m in item if m != "parameters"}
    served = set()
    for template, spec_path, resource in ROUTES:
        names = [n for n in re.findall(r"\{(\w+)", template)]
        assert len(names) == len(re.findall(r"\{(\w+)\}", spec_path)), template
        for name, _ in inspect.getmembers(resource, inspect.isfunction):
            if name.startswith("on_") and name[3:] in HTTP_METHODS:
                served.add((spec_path, name[3:]))
    assert served == documented


def test_every_operation_lists_its_error_responses(spec):
    paths = spec["paths"]
    writes = [("/documents/{id}", "put"), ("/documents", "post"), ("/documents/{id}", "delete")]
    for path, method in writes:
        codes = set(paths[path][method]["responses"])
        assert {"200", "202", "400", "401", "403", "422", "503"} <= codes
        if method != "delete":
            assert {"413", "415"} <= codes
        assert paths[path][method]["security"] == [{"bearerAuth": []}]
        assert "WWW-Authenticate" in paths[path][method]["responses"]["401"]["headers"]
    for path in ("/search", "/suggest"):
        assert {"200", "400", "503"} <= set(paths[path]["get"]["responses"])
    assert {"200", "404", "503"} <= set(paths["/documents/{id}"]["get"]["responses"])
    assert {"200", "503"} <= set(paths["/health"]["get"]["responses"])
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


def test_parameter_limits_come_from_the_settings(tmp_path):
    spec = build_spec(make_settings(tmp_path, max_per_page=25, max_query_chars=80, max_depth=300))
    params = {p["name"]: p["schema"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert params["per_page"] == {"type": "integer", "minimum": 1, "maximum": 25}
    assert params["page"] == {"type": "integer", "minimum": 1, "maximum": 300}
    assert params["q"]["maxLength"] == 80
    assert params["sort"]["enum"] == ["relevance", "newest", "oldest"]
    assert params["category"]["type"] == "array" and params["category"]["items"]["maxLength"] == 200


def test_documented_id_pattern_is_the_one_enforced():
    from search.api.validation import ID_PATTERN, valid_id

    for good in ("a", "a/b:c", "Bộ luật 2015", "x\u00a0y", "x" * 512):
        assert valid_id(good) and re.search(ID_PATTERN, good)
    for bad in ("", " a", "a ", "a\nb", "\x7f", "x" * 513):
        assert not valid_id(bad)


# -- real responses conform ------------------------------------------------------------------
def test_every_documented_response_is_produced_and_conforms(tmp_path, settings, spec, monkeypatch):
    engine = FakeEngine(docs={"a/1": {"id": "a/1", "title": "T", "body": "B", "date": None}})
    spool = Spool(tmp_path / "spool")
    client = falcon.testing.TestClient(create_app(settings, engine=engine, spool=spool))
    no_token = falcon.testing.TestClient(
        create_app(make_settings(tmp_path, token=""), engine=engine, spool=spool))
    doc = {"title": "t", "body": "b"}
    big = {"title": "t", "body": "x" * 10_000}
    seen: set[tuple[str, str, str]] = set()

    def check(path: str, method: str, resp, c=None):
        responses = spec["paths"][path][method]["responses"]
        code = str(resp.status_code)
        assert code in responses, f"{method.upper()} {path} answered undocumented {code}: {resp.text}"
        documented = responses[code]
        if "content" in documented:
            media = resp.headers["content-type"].split(";")[0].strip()
            assert media in documented["content"], (path, method, code, media)
            if media == "application/json":
                validate(spec, documented["content"][media]["schema"], resp.json, f"{method} {path} {code}")
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert name.lower() in resp.headers, (path, method, code, name)
        seen.add((path, method, code))

    D = "/documents/{id}"
    check("/search", "get", client.simulate_get("/search", query_string="q=x&category=A"))
    check("/search", "get", client.simulate_get("/search", query_string="per_page=99"))
    check("/suggest", "get", client.simulate_get("/suggest", query_string="q=qu"))
    check("/suggest", "get", client.simulate_get("/suggest", query_string="limit=0"))
    check(D, "get", client.simulate_get("/documents/a/1"))
    check(D, "get", client.simulate_get("/documents/missing"))
    for method, path, kwargs in (("put", D, {"json": doc}), ("delete", D, {}),
                                 ("post", "/documents", {"json": [{"id": "b", **doc}]})):
        url = "/documents/x" if path == D else path
        send = getattr(client, f"simulate_{method}")
        check(path, method, send(url, headers=AUTH, **kwargs))  # 202
        check(path, method, send(url, **kwargs))  # 401
        check(path, method, getattr(no_token, f"simulate_{method}")(url, headers=AUTH, **kwargs))  # 403
        check(path, method, send(url, headers=AUTH, params={"wait": "1", "timeout": "x"}, **kwargs))  # 400
        if method != "delete":
            check(path, method, send(url, headers=AUTH, json=big if method == "put" else [{"id": "b", **big}]))
            check(path, method, send(url, headers={**AUTH, "Content-Type": "text/plain"}, body="x"))
        with monkeypatch.context() as m:
            m.setattr(spool, "status", lambda op: "applied")
            check(path, method, send(url, headers=AUTH, params={"wait": "1"}, **kwargs))  # 200
            m.setattr(spool, "status", lambda op: "failed")
            check(path, method, send(url, headers=AUTH, params={"wait": "1"}, **kwargs))  # 422
            m.setattr(spool, "enqueue", lambda actions: (_ for _ in ()).throw(OSError(28, "full")))
            check(path, method, send(url, headers=AUTH, **kwargs))  # 503
    op = spool.pending_ops()[0]
    check("/operations/{op}", "get", client.simulate_get(f"/operations/{op}"))
    check("/operations/{op}", "get", client.simulate_get("/operations/nope"))
    check("/health", "get", client.simulate_get("/health"))
    check("/metrics", "get", client.simulate_get("/metrics"))
    check("/openapi.json", "get", client.simulate_get("/openapi.json"))
    engine.fail = IndexUnavailable("gone")
    for path, url in (("/search", "/search"), ("/suggest", "/suggest?q=a"), (D, "/documents/a/1"),
                      ("/health", "/health")):
        check(path, "get", client.simulate_get(url))
    documented = {(p, m, c) for p, item in spec["paths"].items() for m, op_ in item.items()
                  if m != "parameters" for c in op_["responses"] if c != "500"}
    assert documented - seen == set(), "documented but never produced in this test"
