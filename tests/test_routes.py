"""Route discovery (``asgifuzz.routes``) on a real app of each framework, and the OpenAPI and --path readers.

Each framework check imports ``tests/realapps/<framework>_app.py`` and runs
``discover_routes`` on its ASGI app: in this interpreter when the framework
is installed here, else in the pinned ``frameworks`` virtualenv
(``tests/frameworks.py``) through one subprocess for all of them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
from typing import Any

import pytest

from asgifuzz.routes import Route, RouteTable, discover_routes, parse_path_option, routes_from_openapi
from asgifuzz.routes._model import params_of

#: framework -> (module to import, realapps module, ASGI app attribute).
APPS = {
    "starlette": ("starlette", "starlette_app", "app"),
    "fastapi": ("fastapi", "fastapi_app", "app"),
    "django": ("django", "django_app", "application"),
    "litestar": ("litestar", "litestar_app", "app"),
    "quart": ("quart", "quart_app", "app"),
    "falcon": ("falcon", "falcon_app", "app"),
    "blacksheep": ("blacksheep", "blacksheep_app", "app"),
    "sanic": ("sanic", "sanic_app", "app"),
}

FASTAPI_DOCS = {"GET /openapi.json", "GET /docs", "GET /docs/oauth2-redirect", "GET /redoc"}
LITESTAR_SCHEMA = {
    "GET /schema", "GET /schema/openapi.json", "GET /schema/openapi.yaml", "GET /schema/openapi.yml",
    "GET /schema/swagger", "GET /schema/redoc", "GET /schema/rapidoc", "GET /schema/elements",
    "GET /schema/oauth2-redirect.html", "GET /schema/{path}",
}  # fmt: skip

#: framework -> (reader, every route as str(Route): "METHODS [host]path" or "WEBSOCKET path").
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "starlette": ("starlette", {
        "GET /", "POST /echo", "GET /users/{user_id:int}", "POST,PUT /upload", "GET /numbers", "GET /download",
        "GET /boom", "GET,PUT /items/{item_id:float}", "WEBSOCKET /ws",
        "GET /api/{version}/v/status", "PATCH /api/{version}/v/orders/{order_id:uuid}",
        "GET /admin/", "DELETE,GET /admin/files/{rest:path}", "GET /static/{path:path}",
        "GET {tenant}.example.com/tenant",
    }),
    "fastapi": ("starlette", FASTAPI_DOCS | {
        "GET /", "POST /echo", "POST /upload", "GET /numbers", "GET /download", "GET /boom", "WEBSOCKET /ws",
        "GET,PUT /items/{item_id:int}", "DELETE,GET,POST /items/{item_id:int}/tags",
        "GET /api/v1/shop/orders/{order_id:uuid}", "WEBSOCKET /api/v1/shop/orders/{order_id}/live",
        "GET /legacy/ping", *(f"GET /legacy{r[4:]}" for r in FASTAPI_DOCS),
    }),
    "django": ("django", {
        "GET,POST /", "POST /echo/", "POST,PUT /upload/", "GET /numbers/", "GET,POST /download/", "GET,POST /boom/",
        "DELETE,GET /items/{item_id:int}/", "GET,POST /articles/{slug:slug}/", "GET,POST /archive/{year:int}/",
        "GET,POST /api/v1/users/{user_id:uuid}/", "GET,POST /api/v1/files/{rest:path}",
    }),
    "litestar": ("litestar", LITESTAR_SCHEMA | {
        "GET /", "POST /echo", "POST /upload", "GET /numbers", "GET /download", "GET /boom",
        "GET,PUT /users/{user_id:int}", "WEBSOCKET /ws", "DELETE,GET /api/v1/orders/{order_id:uuid}",
        "GET /api/v1/orders/files/{name:path}", "GET,POST /legacy/{path:path}", "GET /static/{file_path:path}",
    }),
    "quart": ("quart", {
        "GET /", "POST /echo", "POST,PUT /upload", "GET /numbers", "GET /download", "GET /boom",
        "DELETE,GET /users/{user_id:int}", "WEBSOCKET /ws", "GET /shop/orders/{order_id:uuid}",
        "PATCH /shop/files/{name:path}", "GET /shop/prices/{price:float}/{name}",
    }),
    "falcon": ("falcon", {
        "GET /", "POST /echo", "POST,PUT /upload", "GET /numbers", "GET /download", "GET /boom",
        "GET,POST /users", "DELETE,GET /users/{user_id:int}", "GET /orders/{order_id:uuid}",
        "GET /files/{name:path}", "WEBSOCKET /chat/{room}", "GET /static/{path:path}", "GET,POST /legacy/{path:path}",
    }),
    "blacksheep": ("blacksheep", {
        "GET /", "POST /echo", "POST,PUT /upload", "GET /numbers", "GET /download", "GET /boom",
        "DELETE,GET /users/{user_id:int}", "GET /orders/{order_id:uuid}", "GET /files/{tail:path}", "WEBSOCKET /ws",
        "GET /shop/prices/{price:float}", "PATCH /shop/items/{item_id:uuid}",
    }),
    "sanic": ("sanic", {
        "GET /", "POST /echo", "POST,PUT /upload", "GET /numbers", "GET /download", "GET /boom", "WEBSOCKET /ws",
        "DELETE,GET /users/{user_id:int}", "GET /articles/{slug:slug}", "GET /shop/orders/{order_id:uuid}",
        "GET /shop/prices/{price:float}/{currency}", "PATCH /shop/files/{name:path}",
    }),
}  # fmt: skip

#: Notes each app must produce (what could not be read exactly), as substrings.
EXPECTED_NOTES = {
    "django": ["1 regex route(s) could not be turned into templates: ^codes/", "narrower than their kind"],
    "falcon": ["{user_id:int(min=1)}"],
}


def _summary(table: RouteTable) -> dict[str, Any]:
    return {
        "reader": table.reader,
        "routes": [str(r) for r in table.routes],
        "kinds": [r.kind for r in table.routes],
        "params_match": [r.params == params_of(r.path) for r in table.routes],
        "notes": list(table.notes),
    }


PROBE = """
import importlib, json
from asgifuzz.routes import discover_routes
from asgifuzz.routes._model import params_of
out = {}
for framework, module, attr in %r:
    try:
        app = getattr(importlib.import_module("realapps." + module), attr)
        table = discover_routes(app)
    except Exception as exc:
        out[framework] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    out[framework] = {
        "reader": table.reader,
        "routes": [str(r) for r in table.routes],
        "kinds": [r.kind for r in table.routes],
        "params_match": [r.params == params_of(r.path) for r in table.routes],
        "notes": list(table.notes),
        "version": importlib.metadata.version(framework),
    }
print(json.dumps(out))
"""


def _here(framework: str) -> bool:
    return importlib.util.find_spec(APPS[framework][0]) is not None


@functools.cache
def _from_venv() -> dict[str, Any]:
    """Discovery for every framework missing here, in one subprocess of the frameworks virtualenv."""
    import frameworks

    missing = [(f, m, a) for f, (_, m, a) in APPS.items() if not _here(f)]
    proc = frameworks.run("import importlib.metadata\n" + PROBE % (missing,))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def discovered(framework: str) -> dict[str, Any]:
    if _here(framework):
        _, module, attr = APPS[framework]
        app = getattr(importlib.import_module(f"realapps.{module}"), attr)
        return _summary(discover_routes(app))
    try:
        report = _from_venv()[framework]
    except Exception as exc:  # no network, no pip: say why instead of failing on the machine
        pytest.skip(f"{framework} is not installed here and the frameworks virtualenv could not be used: {exc}")
    if "error" in report:
        pytest.fail(f"{framework} app in the frameworks virtualenv: {report['error']}")
    return report  # type: ignore[no-any-return]


@pytest.mark.parametrize("framework", list(APPS))
def test_every_route_found(framework: str) -> None:
    report = discovered(framework)
    reader, routes = EXPECTED[framework]
    assert report["reader"] == reader, report
    found = report["routes"]
    assert len(found) == len(set(found)), f"duplicates: {found}"
    assert set(found) == routes, {"missing": routes - set(found), "unexpected": set(found) - routes}
    # Websockets are listed as such, and the params dict agrees with the template.
    assert [k == "websocket" for k in report["kinds"]] == [r.startswith("WEBSOCKET ") for r in found]
    assert all(report["params_match"]), report
    for note in EXPECTED_NOTES.get(framework, []):
        assert any(note in n for n in report["notes"]), (note, report["notes"])
    if framework not in EXPECTED_NOTES:
        assert report["notes"] == [], report["notes"]
