"""``_targets``: what a fuzz run drives, discovered from the user's app."""

from __future__ import annotations

from typing import Any

import apps
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgifuzz import UsageError
from asgifuzz._case import Case, Chunk, Run
from asgifuzz._targets import as_asgi3, discover_targets
from asgifuzz.endpoints import ENDPOINTS
from asgifuzz.server.driver import run_case

SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-length", b"5")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}
#: The body in two requests: the app reads the first chunk before the rest arrives.
SPLIT_BODY = (Chunk(2), Run(), Chunk(3))


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


async def websocket(ws: WebSocket) -> None:
    await ws.close()


def routed_app(*middleware: Middleware) -> Starlette:
    return Starlette(
        routes=[
            Route("/", home),
            Route("/items/{id:int}", home, methods=["PUT", "POST"]),
            Mount("/api", routes=[Route("/users", home, methods=["DELETE"]), Mount("/v2", routes=[Route("/x", home)])]),
            WebSocketRoute("/ws", websocket),
        ],
        middleware=list(middleware),
    )


class TestStarletteApp:
    def test_one_route_target_per_http_route_with_mounts_prefixed(self) -> None:
        targets = discover_targets(routed_app())
        http = [(t.id, t.path, t.methods) for t in targets if t.protocol == "http"]
        assert http == [
            ("route GET /", "/", ("GET",)),
            ("route POST,PUT /items/{id:int}", "/items/{id:int}", ("POST", "PUT")),
            ("route DELETE /api/users", "/api/users", ("DELETE",)),
            ("route GET /api/v2/x", "/api/v2/x", ("GET",)),
        ]  # HEAD is never a method of its own
        # The websocket route is a websocket target, not an HTTP one.
        assert [(t.path, t.protocol) for t in targets if t.protocol == "websocket"] == [("/ws", "websocket")]
        # No user middleware, no lifespan target: the app's own lifespan runs once, not fuzzed again.
        assert [t for t in targets if t.protocol == "lifespan"] == []

    def test_without_user_middleware_there_is_nothing_to_compare_against(self) -> None:
        targets = discover_targets(routed_app())
        assert all(t.bare is None and not t.instrumented for t in targets)

    def test_user_middleware_gives_a_bare_reference_and_a_target_per_endpoint(self) -> None:
        app = routed_app(Middleware(apps.PureASGIPassThrough))
        targets = discover_targets(app)
        routes = [t for t in targets if t.id.startswith("route ") and t.protocol == "http"]
        stacks = [t for t in targets if not t.id.startswith("route ") and t.protocol == "http"]
        assert len(routes) == 4
        bare = routes[0].bare
        assert all(t.app is app and t.bare is bare for t in routes)
        # The endpoints run inside the user's own app (its stack, state and scope["app"]).
        assert all(t.app is not app and t.app.__qualname__.startswith("via_switch(") for t in stacks)
        assert isinstance(bare, Starlette) and bare.user_middleware == [] and bare is not app
        assert app.user_middleware  # the user's app is left as it was
        assert [t.id for t in stacks] == [f"stack[PureASGIPassThrough] -> {name}" for name in ENDPOINTS]
        assert all(t.instrumented and t.bare is not None for t in stacks)
        assert [t.sse for t in stacks] == [e.sse for e in ENDPOINTS.values()]

    def test_endpoints_restricts_the_stack_targets_only(self) -> None:
        targets = discover_targets(routed_app(Middleware(apps.PureASGIPassThrough)), endpoints=["sse", "raises"])
        assert [t.id for t in targets if not t.id.startswith("route ")] == [
            "stack[PureASGIPassThrough] -> sse",
            "stack[PureASGIPassThrough] -> raises",
        ]  # named endpoints leave the lifespan endpoints out, as for a middleware list

    def test_an_app_without_routes_is_one_target(self) -> None:
        app = Starlette()
        notes: list[str] = []
        assert [(t.id, t.app) for t in discover_targets(app, notes=notes, lifespan=False)] == [("app", app)]
        assert notes and notes[-1].startswith("no routes found")


class TestMiddlewareList:
    def test_middleware_objects_and_factories_each_give_a_target_per_endpoint(self) -> None:
        targets = discover_targets(
            None, middleware=[Middleware(apps.PureASGIPassThrough), apps.drops_first_chunk], endpoints=["read_all"]
        )
        (target,) = targets
        assert target.id == "stack[PureASGIPassThrough, drops_first_chunk] -> read_all"
        assert target.instrumented and target.bare is not None and target.methods == ("GET", "POST", "HEAD")

    def test_the_stack_runs_outermost_first_in_front_of_the_endpoint(self) -> None:
        """drops_first_chunk really is in the stack: the endpoint behind it loses the first chunk."""
        (target,) = discover_targets(None, middleware=[apps.drops_first_chunk], endpoints=["read_all"])
        case = Case(target=target.id, scope=SCOPE, body=b"hello", actions=SPLIT_BODY, differential=True)
        _, findings = target.run(case, _settings())
        assert [f.code for f in findings] == ["request-body-altered"]
        assert "read b'hello' (complete)" in findings[0].message

    def test_a_transparent_stack_has_no_findings(self) -> None:
        (target,) = discover_targets(None, middleware=[apps.PureASGIPassThrough], endpoints=["read_all"])
        case = Case(target=target.id, scope=SCOPE, body=b"hello", actions=SPLIT_BODY, differential=True)
        outcome, findings = target.run(case, _settings())
        assert findings == [] and outcome.response.status == 200


class TestCompose:
    def test_compose_gives_one_target_per_endpoint_drawing_its_stack(self) -> None:
        items = [apps.PureASGIPassThrough, apps.drops_first_chunk]
        (target,) = discover_targets(None, middleware=items, compose=True, endpoints=["read_all"], max_depth=3)
        assert target.id == "compose[PureASGIPassThrough, drops_first_chunk] -> read_all"
        assert target.compose == tuple(items) and target.max_depth == 3 and target.endpoint == "read_all"
        assert target.label((1, 0, 1)) == "stack[drops_first_chunk, PureASGIPassThrough, drops_first_chunk]"

    def test_built_stacks_are_cached_per_stack(self) -> None:
        (target,) = discover_targets(
            None, middleware=[apps.PureASGIPassThrough, apps.drops_first_chunk], compose=True, endpoints=["read_all"]
        )
        assert target.build((1, 0)) is target.build([1, 0])
        assert target.build((0,)) is not target.build((1, 0))

    def test_the_drawn_stack_is_the_one_run(self) -> None:
        (target,) = discover_targets(
            None, middleware=[apps.PureASGIPassThrough, apps.drops_first_chunk], compose=True, endpoints=["read_all"]
        )
        settings = _settings()
        case = Case(target=target.id, scope=SCOPE, body=b"hello", actions=SPLIT_BODY, differential=True)
        _, clean = target.run(Case(**{**_fields(case), "stack": (0, 0)}), settings)
        _, broken = target.run(Case(**{**_fields(case), "stack": (0, 1)}), settings)
        assert clean == []
        assert [f.code for f in broken] == ["request-body-altered"]


class TestLifespanTargets:
    def test_a_middleware_list_gets_a_stack_per_lifespan_endpoint(self) -> None:
        from asgifuzz.endpoints_lifespan import LIFESPAN_ENDPOINTS

        targets = discover_targets(None, middleware=[apps.PureASGIPassThrough])
        lifespan = [t for t in targets if t.protocol == "lifespan"]
        assert [t.id for t in lifespan] == [f"stack[PureASGIPassThrough] -> {n} (lifespan)" for n in LIFESPAN_ENDPOINTS]
        assert all(t.bare is not None and t.instrumented for t in lifespan)

    def test_named_endpoints_and_lifespan_off_leave_lifespan_out(self) -> None:
        named = discover_targets(None, middleware=[apps.PureASGIPassThrough], endpoints=["read_all"])
        assert [t.protocol for t in named] == ["http"]
        assert all(t.protocol != "lifespan" for t in discover_targets(apps.echo, lifespan=False))

    def test_fuzz_runs_the_lifespan_targets_and_lifespan_off_does_not(self) -> None:
        from asgifuzz import fuzz

        mw = [apps.PureASGIPassThrough]
        on = fuzz(None, middleware=mw, max_examples=80, seed=1, backend="asyncio")
        off = fuzz(None, middleware=mw, max_examples=80, seed=1, backend="asyncio", lifespan="off")
        assert on.findings == [] and off.findings == []
        assert any(t.endswith("(lifespan)") for t in on.stats.targets_seen)
        assert not any(t.endswith("(lifespan)") for t in off.stats.targets_seen)

    def test_the_apps_own_lifespan_is_never_restarted_for_a_lifespan_target(self) -> None:
        # A second startup would rebind what the running routes use (issue 14's one lifespan
        # per process): only the user's middleware meets the lifespan endpoints.
        assert all(t.protocol != "lifespan" for t in discover_targets(apps.echo))
        app = routed_app(Middleware(apps.PureASGIPassThrough))
        lifespan = [t for t in discover_targets(app) if t.protocol == "lifespan"]
        assert lifespan and all(t.id.startswith("stack[PureASGIPassThrough] -> ") for t in lifespan)
        assert all(t.app is not app for t in lifespan)


class TestOtherApps:
    def test_a_plain_asgi_callable_is_one_target_on_generated_paths(self) -> None:
        (target,) = discover_targets(apps.echo)
        assert (target.id, target.app, target.bare, target.path) == ("app", apps.echo, None, "/{path:path}")
        assert target.methods == ("GET", "POST")  # never a uniform draw over every method

    def test_an_asgi2_class_is_wrapped_into_an_asgi3_callable(self) -> None:
        class ASGI2:
            def __init__(self, scope: dict[str, Any]) -> None:
                self.scope = scope

            async def __call__(self, receive: Any, send: Any) -> None:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": self.scope["path"].encode()})

        legacy: Any = ASGI2  # discover_targets is typed for ASGI 3 apps; it accepts ASGI 2 classes too
        (target,) = discover_targets(legacy)
        assert target.app is not legacy
        outcome = run_case(target.app, Case(target="app", scope=SCOPE, body=b"", actions=()))
        assert outcome.findings == [] and outcome.response.body == b"/"

    def test_asgi3_instances_and_functions_are_left_alone(self) -> None:
        instance = apps.PureASGIPassThrough(apps.echo)
        assert as_asgi3(instance) is instance
        assert as_asgi3(apps.echo) is apps.echo


@pytest.mark.parametrize(
    ("app", "options", "message"),
    [
        (None, {}, "nothing to fuzz: pass an ASGI app or a middleware list"),
        (42, {}, "42 is not an ASGI application: it is not callable"),
        (None, {"middleware": []}, "middleware=[] is empty"),
        (apps.echo, {"compose": True}, "compose=True needs a middleware list"),
        (
            None,
            {"middleware": [apps.drops_first_chunk], "compose": True, "max_depth": 0},
            "max_depth=0 must be at least 1",
        ),
        (None, {"middleware": [apps.drops_first_chunk], "endpoints": ["nope"]}, "unknown endpoint(s) ['nope']"),
        (
            None,
            {"middleware": [apps.drops_first_chunk, 42]},
            "middleware item 42 is neither a Middleware nor a factory",
        ),
    ],
)
def test_bad_input_is_one_usage_error(app: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        discover_targets(app, **options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def _settings() -> Any:
    from asgifuzz._config import Settings

    return Settings()


def _fields(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in Case.__dataclass_fields__}
