"""Routes from an OpenAPI document: one the app serves (FastAPI, Litestar) or one the user gives."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from asgifuzz.routes._model import Route, dedupe, normalize_methods

__all__ = ("routes_from_openapi", "served_openapi")

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PLACEHOLDER = re.compile(r"{([^}/]+)}")


def _resolve(doc: dict[str, Any], item: Any) -> Any:
    """Follow one local ``$ref`` (``#/components/parameters/x``); anything else is returned as is."""
    ref = item.get("$ref") if isinstance(item, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return item
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else item


def _kind(doc: dict[str, Any], schema: Any) -> str:
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict):
        return "str"
    # Optional[int] and friends: the first typed alternative decides.
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for option in options:
                kind = _kind(doc, option)
                if kind != "str":
                    return kind
    type_ = schema.get("type")
    if type_ == "integer":
        return "int"
    if type_ == "number":
        return "float"
    if type_ == "string" and schema.get("format") == "uuid":
        return "uuid"
    return "str"


def _base_path(doc: dict[str, Any]) -> str:
    """The path part of the first server URL (OpenAPI 3) or ``basePath`` (Swagger 2): paths are relative to it."""
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        url = servers[0].get("url")
        base = urlsplit(url).path if isinstance(url, str) else ""
    else:
        base_path = doc.get("basePath")
        base = base_path if isinstance(base_path, str) else ""
    # A server URL with variables ("{scheme}://...") or none at all says nothing about the path.
    return "" if "{" in base else base.rstrip("/")


def routes_from_openapi(doc: dict[str, Any]) -> list[Route]:
    """Every operation of an OpenAPI 3 (or Swagger 2) document, one Route per path.

    Path parameter kinds come from the parameter schemas (integer -> int,
    number -> float, string/uuid -> uuid, else str) and are written into the
    template; parameter names that are not identifiers are made into ones.
    """
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        return []
    base = _base_path(doc)
    routes: list[Route] = []
    for raw_path, item in paths.items():
        item = _resolve(doc, item)
        if not isinstance(raw_path, str) or not isinstance(item, dict):
            continue
        shared = [p for p in item.get("parameters") or [] if isinstance(p, dict)]
        methods: list[str] = []
        kinds: dict[str, str] = {}
        names: list[str] = []
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            methods.append(method.upper())
            op_id = op.get("operationId")
            if isinstance(op_id, str):
                names.append(op_id)
            for param in [*shared, *(op.get("parameters") or [])]:
                param = _resolve(doc, param)
                if isinstance(param, dict) and param.get("in") == "path" and isinstance(param.get("name"), str):
                    kind = _kind(doc, param.get("schema", param))
                    kinds[param["name"]] = kind if kinds.get(param["name"], "str") == "str" else kinds[param["name"]]
        if not methods:
            continue
        template, params = _template(base + raw_path, kinds)
        routes.append(Route(template, normalize_methods(methods), "http", ", ".join(names), params))
    return dedupe(routes)


def _template(path: str, kinds: dict[str, str]) -> tuple[str, dict[str, str]]:
    params: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        raw = m.group(1)
        name = re.sub(r"\W", "_", raw)
        name = name if name[:1].isalpha() or name[:1] == "_" else f"_{name}"
        kind = kinds.get(raw, "str")
        params[name] = kind
        return f"{{{name}}}" if kind == "str" else f"{{{name}:{kind}}}"

    return _PLACEHOLDER.sub(sub, path or "/"), params


def served_openapi(app: Any) -> dict[str, Any] | None:
    """The OpenAPI document an app builds for itself (FastAPI ``openapi()``, Litestar ``openapi_schema``), or None."""
    build = getattr(app, "openapi", None)
    if callable(build) and not isinstance(build, type):
        doc = build()
        if isinstance(doc, dict):
            return doc
    schema = getattr(app, "openapi_schema", None)
    to_schema = getattr(schema, "to_schema", None)
    if callable(to_schema):
        doc = to_schema()
        if isinstance(doc, dict):
            return doc
    return schema if isinstance(schema, dict) else None
