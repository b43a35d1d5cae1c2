"""Route discovery (``asgifuzz.routes``) on a real app of each framework, and the OpenAPI and --path readers.

Each framework check imports ``tests/realapps/<framework>_app.py`` and runs
``discover_routes`` on its ASGI app: in this interpreter when the framework
is installed here, else in the pinned ``frameworks`` virtualenv
(``tests/oldreleases.py``) through one subprocess for all of them.
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
        "GET,POST /visits/", "GET,POST /ticks/",
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
    from oldreleases import run_in

    missing = [(f, m, a) for f, (_, m, a) in APPS.items() if not _here(f)]
    proc = run_in("frameworks", "import importlib.metadata\n" + PROBE % (missing,), timeout=120)
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


# --- FastAPI's generated OpenAPI document ---------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Duplicate Operation ID")  # one function for three methods, as FastAPI allows
def test_routes_from_fastapi_openapi() -> None:
    pytest.importorskip("fastapi", reason="FastAPI is not installed in this interpreter")
    from realapps.fastapi_app import app

    routes = {str(r): r for r in routes_from_openapi(app.openapi())}
    # Included routers are in the document; websockets, the docs pages and mounted apps are not.
    assert set(routes) == {
        "GET /", "POST /echo", "POST /upload", "GET /numbers", "GET /download", "GET /boom",
        "GET,PUT /items/{item_id:int}", "DELETE,GET,POST /items/{item_id:int}/tags",
        "GET /api/v1/shop/orders/{order_id:uuid}",
    }  # fmt: skip
    assert routes["GET,PUT /items/{item_id:int}"].params == {"item_id": "int"}
    assert routes["GET /api/v1/shop/orders/{order_id:uuid}"].name == "read_order_api_v1_shop_orders__order_id__get"


def test_routes_from_openapi_document_details() -> None:
    doc = {
        "openapi": "3.1.0",
        "servers": [{"url": "https://api.example.com/v2/"}],
        "components": {"parameters": {"Id": {"name": "pet-id", "in": "path", "schema": {"type": "integer"}}}},
        "paths": {
            "/pets/{pet-id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getPet"},
                "delete": {},
                "summary": "not an operation",
            },
            "/pets/{pet-id}/weight/{kg}": {
                "put": {"parameters": [
                    {"$ref": "#/components/parameters/Id"},
                    {"name": "kg", "in": "path", "schema": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
                ]},
            },
            "/owners/{owner}": {"head": {"parameters": [
                {"name": "owner", "in": "path", "schema": {"type": "string", "format": "uuid"}},
            ]}},
            "/empty": {"parameters": []},
        },
    }  # fmt: skip
    routes = {str(r): r for r in routes_from_openapi(doc)}
    assert set(routes) == {
        "DELETE,GET /v2/pets/{pet_id:int}", "PUT /v2/pets/{pet_id:int}/weight/{kg:float}", "HEAD /v2/owners/{owner:uuid}",
    }  # fmt: skip
    assert routes["DELETE,GET /v2/pets/{pet_id:int}"].name == "getPet"
    swagger = {"swagger": "2.0", "basePath": "/api", "paths": {"/x/{id}": {"post": {"parameters": [
        {"name": "id", "in": "path", "type": "integer"}]}}}}  # fmt: skip
    assert [str(r) for r in routes_from_openapi(swagger)] == ["POST /api/x/{id:int}"]
    assert routes_from_openapi({"openapi": "3.0.0"}) == []


# --- --path -----------------------------------------------------------------------------------------


def test_parse_path_option() -> None:
    assert parse_path_option("/items/{id}") == Route("/items/{id}", ("GET",), "http", params={"id": "str"})
    route = parse_path_option("post,GET,head  /items/{id:int}/{rest:path}")
    assert route.methods == ("GET", "POST")
    assert route.params == {"id": "int", "rest": "path"}
    assert parse_path_option("HEAD /ping").methods == ("HEAD",)
    assert parse_path_option("WEBSOCKET /ws/{room}") == Route("/ws/{room}", (), "websocket", params={"room": "str"})
    assert str(parse_path_option("GET,POST /a")) == "GET,POST /a"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("items", "must start with '/'"),
        ("GET /a /b", "expected '[METHODS ]/path'"),
        ("", "expected"),
        ("GET /items/{id:integer}", "unknown kind 'integer'"),
        ("GET /items/{1d}", "is not '{name}'"),
        ("GET /items/{id", "unbalanced braces"),
        ("G(T /x", "not an HTTP method"),
        ("GET,WEBSOCKET /x", "not an HTTP method"),
        (", /x", "no method"),
    ],
)
def test_parse_path_option_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace("[", r"\[").replace("{", r"\{")):
        parse_path_option(text)


# --- robustness: discover_routes never raises, and unwraps middleware ----------------------------------


async def raw_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


class Wrapper:
    """A pure ASGI middleware, the way most keep the app they wrap."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class Hostile:
    """An ASGI app whose every attribute lookup fails."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} for you")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await raw_asgi(scope, receive, send)


def test_unknown_apps_give_a_note_not_an_exception() -> None:
    for app in (raw_asgi, Hostile(), Wrapper(Hostile()), object(), None):
        table = discover_routes(app)
        assert table.routes == () and table.reader == ""
        assert (
            table.notes[-1]
            == "no routes found in the app's routing or OpenAPI document: name them with --path 'GET,POST /items/{id:int}'"
        )


def test_middleware_is_unwrapped_and_mounted_apps_become_catch_alls() -> None:
    pytest.importorskip("starlette", reason="Starlette is not installed in this interpreter")
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route as StarletteRoute

    async def home(request: Any) -> Any:
        raise NotImplementedError

    inner = Starlette(routes=[StarletteRoute("/", home), Mount("/raw", app=raw_asgi), Mount("/w", app=Wrapper(inner_sub := Starlette(routes=[StarletteRoute("/x", home, methods=["PUT"])])))])  # fmt: skip
    assert inner_sub.routes
    table = discover_routes(Wrapper(Wrapper(inner)))
    assert table.reader == "starlette"
    assert {str(r) for r in table.routes} == {"GET /", "GET,POST /raw/{path:path}", "PUT /w/x"}


def _fastapi_app() -> Any:
    from fastapi import APIRouter, FastAPI

    app = FastAPI(docs_url=None, redoc_url=None)
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> int:
        return thing_id

    @app.get("/")
    async def root() -> str:
        return "root"

    app.include_router(router, prefix="/v1")
    return app


def test_an_unreadable_included_router_is_completed_from_the_openapi_document() -> None:
    pytest.importorskip("fastapi", reason="FastAPI is not installed in this interpreter")
    app = _fastapi_app()
    included = [r for r in app.router.routes if getattr(r, "path", None) is None]
    if not included:
        pytest.skip("this FastAPI copies included routes into app.router.routes")
    app.openapi()  # served once, so cached: as in a running app

    def changed() -> Any:  # what a later FastAPI might do to this private method
        raise RuntimeError("changed in FastAPI 9")

    included[0].effective_route_contexts = changed
    table = discover_routes(app)
    assert table.reader == "starlette+openapi", table
    assert {str(r) for r in table.routes} == {"GET /", "GET /openapi.json", "GET /v1/things/{thing_id:int}"}
    assert any("an included router could not be read (RuntimeError: changed in FastAPI 9)" in n for n in table.notes)
    assert any("1 route(s) taken from the app's OpenAPI document" in n for n in table.notes)


def test_a_reader_that_raises_is_a_note_and_the_openapi_document_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi", reason="FastAPI is not installed in this interpreter")
    import asgifuzz.routes.starlette

    def broken(app: Any, sub_reader: Any = None) -> Any:
        raise KeyError("routes")

    monkeypatch.setattr(asgifuzz.routes.starlette, "read", broken)
    table = discover_routes(Wrapper(_fastapi_app()))
    assert table.reader == "openapi"
    assert {str(r) for r in table.routes} == {"GET /", "GET /v1/things/{thing_id:int}"}
    assert table.notes[0] == "starlette: routes could not be read (KeyError: 'routes'); trying the next reader"


def test_django_regexes_to_templates() -> None:
    from asgifuzz.routes.django import regex_to_template

    assert regex_to_template(r"^articles/(?P<year>[0-9]+)/(?P<slug>[-\w]+)\.html$") == (
        "articles/{year:int}/{slug:slug}.html", {"year": "int", "slug": "slug"}, False)  # fmt: skip
    assert regex_to_template(r"^files/(?P<rest>.+)\Z") == ("files/{rest:path}", {"rest": "path"}, False)
    assert regex_to_template(r"^y/(?P<y>\d{4})/$") == ("y/{y:int}/", {"y": "int"}, True)
    assert regex_to_template(r"^api/") == ("api/", {}, False)
    assert regex_to_template(r"^(?:en|fr)/$") is None
    assert regex_to_template(r"^page/([0-9]+)/$") is None
    assert regex_to_template(r"^a|b$") is None


def test_the_routes_behind_python_socketios_asgiapp_are_found() -> None:
    """python-socketio's ASGIApp keeps the app it wraps in ``other_asgi_app``: nothing was found before."""
    from starlette.applications import Starlette
    from starlette.routing import Route as StarletteRoute

    async def items(request: Any) -> None: ...

    class LikeSocketIO:
        def __init__(self, other: Any) -> None:
            self.other_asgi_app = other

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...

    table = discover_routes(LikeSocketIO(Starlette(routes=[StarletteRoute("/items", items)])))
    assert [(r.path, r.methods) for r in table.routes] == [("/items", ("GET",))]
