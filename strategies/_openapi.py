"""Requests an app's own OpenAPI document describes: valid bodies and query strings, mixed with the rest.

For apps that describe themselves (FastAPI's ``openapi()``, Litestar's
``openapi_schema``), random bodies stop at validation (422) and the handler
never runs, so middleware never sees real traffic.  ``operation_requests``
reads each operation's JSON request body schema and its query parameters
and draws valid values for them with hypothesis-jsonschema (the optional
extra ``asgifuzz[openapi]``); ``http_scopes`` mixes them with the usual
typed and random bodies, so invalid requests are still sent.  Without
hypothesis-jsonschema, or for a schema it cannot handle, nothing changes.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import Phase, find, settings, strategies as st

from ._chars import TEXT_CHARS

__all__ = ("OperationRequests", "openapi_requests_for", "operation_requests")

_PLACEHOLDER = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True, slots=True)
class OperationRequests:
    """Valid parts of one operation's requests: a JSON body and a query string, each optional."""

    body: st.SearchStrategy[bytes] | None = None
    query: st.SearchStrategy[bytes] | None = None


def _from_schema(schema: Any, doc: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    """Valid values of ``schema``: hypothesis-jsonschema when it works here, else asgifuzz's own subset."""
    if not isinstance(schema, dict):
        return None
    library = _library_strategy(schema, doc)
    if library is not None:
        return library
    try:
        return _subset(schema, doc, depth=0)
    except _Unsupported:
        return None


def _library_strategy(schema: dict[str, Any], doc: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    try:
        from hypothesis_jsonschema import from_schema
    except ImportError:
        return None
    # Local references (#/components/schemas/...) resolve against the root.
    root = {**schema, "components": doc.get("components", {})} if "components" in doc else schema
    try:
        strategy: st.SearchStrategy[Any] = from_schema(root)
        # hypothesis-jsonschema 0.23 uses Hypothesis internals that newer
        # Hypothesis releases changed: one draw tells whether it works here.
        find(strategy, lambda _: True, settings=settings(database=None, max_examples=1, phases=[Phase.generate]))
    except Exception:
        return None
    return strategy


class _Unsupported(Exception):
    pass


_FORMATS: dict[str, st.SearchStrategy[Any]] = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes().map(lambda d: d.isoformat() + "Z"),
    "date": st.dates().map(str),
    "email": st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True),
}


def _subset(schema: Any, doc: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    """The JSON Schema subset OpenAPI documents of FastAPI and Litestar use."""
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 6:
        raise _Unsupported
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            options = []
            for option in schema[key]:
                try:
                    options.append(_subset(option, doc, depth + 1))
                except _Unsupported:
                    continue
            if not options:
                raise _Unsupported
            return st.one_of(options)
    if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
        return _subset(schema["allOf"][0], doc, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([_subset({**schema, "type": k}, doc, depth + 1) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(TEXT_CHARS, min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 16))
    if kind == "array":
        items = _subset(schema.get("items", {"type": "string"}), doc, depth + 1)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 4), 4))
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        fixed = {name: _subset(sub, doc, depth + 1) for name, sub in props.items() if name in required}
        optional = {name: _subset(sub, doc, depth + 1) for name, sub in props.items() if name not in required}
        return st.fixed_dictionaries(fixed, optional=optional)
    if not schema:
        return st.none() | st.booleans() | st.integers() | st.text(TEXT_CHARS, max_size=8)
    raise _Unsupported


def _pair(name: str) -> Callable[[Any], tuple[str, str]]:
    return lambda value: (name, str(value).lower() if isinstance(value, bool) else str(value))


def _query(params: list[dict[str, Any]], doc: Mapping[str, Any]) -> st.SearchStrategy[bytes] | None:
    parts = []
    for param in params:
        name, schema = param.get("name"), param.get("schema")
        values = _from_schema(schema, doc)
        if not isinstance(name, str) or values is None:
            continue
        scalar = values.filter(lambda v: isinstance(v, str | int | float | bool))
        pair = scalar.map(_pair(name))
        parts.append(pair if param.get("required") else st.none() | pair)
    if not parts:
        return None
    return st.tuples(*parts).map(lambda pairs: urllib.parse.urlencode([p for p in pairs if p is not None]).encode())


def _resolve(doc: Mapping[str, Any], item: Any) -> Any:
    ref = item.get("$ref") if isinstance(item, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return item
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else item


def operation_requests(doc: Mapping[str, Any], path: str, method: str) -> OperationRequests | None:
    """The valid request parts of ``method path`` in ``doc`` (``path`` as OpenAPI writes it), or None."""
    item = _resolve(doc, (doc.get("paths") or {}).get(path))
    op = item.get(method.lower()) if isinstance(item, dict) else None
    if not isinstance(op, dict):
        return None
    body = None
    request_body = _resolve(doc, op.get("requestBody"))
    content = request_body.get("content") if isinstance(request_body, dict) else None
    if isinstance(content, dict):
        media = content.get("application/json")
        schema = media.get("schema") if isinstance(media, dict) else None
        values = _from_schema(schema, doc) if schema is not None else None
        if values is not None:
            body = values.map(lambda v: json.dumps(v).encode())
    params = [_resolve(doc, p) for p in [*(item.get("parameters") or []), *(op.get("parameters") or [])]]
    query = _query([p for p in params if isinstance(p, dict) and p.get("in") == "query"], doc)
    if body is None and query is None:
        return None
    return OperationRequests(body, query)


def openapi_requests_for(doc: Mapping[str, Any] | None, template: str, methods: tuple[str, ...]) -> dict[str, OperationRequests]:
    """method -> valid request parts, for a route template (Starlette syntax) found in ``doc``."""
    if not doc or not isinstance(doc.get("paths"), dict):
        return {}
    raw = _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", template)
    out = {}
    for method in methods:
        found = operation_requests(doc, raw, method)
        if found is not None:
            out[method] = found
    return out
