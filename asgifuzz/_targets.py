"""Targets: what one fuzz run drives, discovered from the user's app.

For a Starlette or FastAPI app we build

* one *route* target per HTTP route of the app as it is (methods and path
  parameters read from its routing), compared, when the app has user
  middleware, against the same app rebuilt without it;
* one *stack* target per adversarial endpoint: the app's user middleware in
  front of that endpoint, compared against the bare endpoint.

An explicit list of middleware (Starlette ``Middleware`` objects or plain
``factory(app) -> app`` callables, outermost first) gives stack targets only.
Any other ASGI callable is one target on generated paths.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from asgifuzz._errors import UsageError
from asgifuzz._finding import Finding
from asgifuzz._stacks import build_stack as _build_stack, is_starlette as _is_starlette, rebuild_starts_plainly, rebuilt
from asgifuzz._types import ASGIApp, Receive, Scope, Send
from asgifuzz.endpoints import ENDPOINTS, Endpoint, starlette_endpoint_app

if TYPE_CHECKING:
    from asgifuzz._capture import Capture
    from asgifuzz._case import Case
    from asgifuzz._config import Settings
    from asgifuzz.server.driver import ActionSource, Outcome

__all__ = ("Target", "discover_targets", "select_targets")


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    app: ASGIApp
    #: The reference for the transparency oracle, or None.
    bare: ASGIApp | None = None
    methods: tuple[str, ...] = ("GET", "POST")
    path: str = "/"
    #: The endpoint reports to the probe (an ``asgifuzz.endpoints`` endpoint).
    instrumented: bool = False
    sse: bool = False
    extra_headers: tuple[tuple[bytes, bytes], ...] = field(default=())
    #: Composed stacks: each example draws a stack from these middleware.
    compose: tuple[Any, ...] = ()
    max_depth: int = 6
    endpoint: str = ""
    #: The scope type its cases use ("websocket" targets draw websocket cases).
    protocol: Literal["http", "websocket", "lifespan"] = "http"
    _built: dict[tuple[int, ...], ASGIApp] = field(default_factory=dict, compare=False, repr=False)
    #: Set when the chunking oracle saw the target answer one request two ways by itself (skipped since).
    nondeterministic: set[str] = field(default_factory=set, compare=False, repr=False)
    #: A lifespan stack target of a real app: the user's middleware it rebuilt, and that app
    #: (``_rebuild_starts_plainly``).
    rebuilt_from: tuple[Any, ...] = ()
    rebuilt_for: Any = None
    #: The cookie names the app's middleware reads (``_in_app.cookie_names``): requests carry them.
    cookies: tuple[str, ...] = ()
    _plain: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def build(self, stack: Sequence[int]) -> ASGIApp:
        """The app for a composed ``stack`` (indices into ``compose``), cached."""
        key = tuple(stack)
        app = self._built.get(key)
        if app is None:
            items = [self.compose[i] for i in key]
            ep = ENDPOINTS[self.endpoint]
            if _starlette_available() and all(hasattr(m, "cls") for m in items):
                app = starlette_endpoint_app(ep, items)
            elif _starlette_available():
                app = _build_stack(items, starlette_endpoint_app(ep))
            else:
                app = _build_stack(items, ep.asgi)
            if len(self._built) > 256:
                self._built.clear()
            self._built[key] = app
        return app

    def label(self, stack: Sequence[int]) -> str:
        return stack_label([self.compose[i] for i in stack])

    def run(self, case: Case, settings: Settings, source: ActionSource | None = None) -> tuple[Outcome, list[Finding]]:
        """Run ``case`` on this target; the reported findings include the transparency check.

        The transparency comparison runs whatever the stack run found; the
        stack's own findings come first.
        """
        from asgifuzz._capture import capture

        # The app's logging and prints during this example (every run below)
        # go with its findings, not to the terminal.
        from asgifuzz.server.loop import release_adopted

        with capture(stream=settings.show_output) as output:
            try:
                outcome, findings = self._run(case, settings, source, output)
            finally:
                release_adopted()
            if findings and self.rebuilt_for is not None and not rebuild_starts_plainly(self.rebuilt_from, self.rebuilt_for, self._plain):
                findings = []
        if findings and output:
            text = output.kept()
            for f in findings:
                f.output = text
        return outcome, findings

    def _run(
        self, case: Case, settings: Settings, source: ActionSource | None, logged: Capture
    ) -> tuple[Outcome, list[Finding]]:
        from asgifuzz.background import app_stream_findings, app_task_findings, watching_app_tasks
        from asgifuzz.server.driver import run_case

        app = self.build(case.stack) if self.compose else self.app
        with watching_app_tasks():
            outcome = run_case(app, case, settings, source=source, hold_leaks=True)
        if outcome.leaks:
            _judge_leaks(app, outcome, settings)
        if outcome.session and outcome.findings:
            outcome = _alone_if_it_fails_alone(app, outcome, settings)
        # Selected after the blame: an exception-on-disconnect the disconnect did not cause is app-raised.
        findings = [_blame_the_disconnect_only_if_it_caused(f, app, outcome, settings) for f in outcome.findings]
        findings = [f for f in findings if settings.reports(f.code)]
        if not outcome.findings and not self.instrumented:
            findings += [f for f in _server_error(outcome, logged.exception) if settings.reports(f.code)]
        lifespan_symptoms = (
            self.protocol == "lifespan" and findings and all(f.invariant.group == "lifecycle" for f in findings)
        )
        bare: Outcome | None = None
        compared: list[Finding] = []
        if self.bare is not None and outcome.case.differential:
            bare, compared = self._compare(outcome, settings)
        # (An adversarial endpoint's own background tasks are judged by the comparison instead.)
        if self.protocol == "http" and not outcome.probe.background:
            findings += [f for f in app_task_findings(outcome, bare) if settings.reports(f.code)]
            findings += [f for f in app_stream_findings(outcome) if settings.reports(f.code)]
        if lifespan_symptoms:
            return outcome, compared + findings
        # Not behind asgifuzz's own endpoints: they report to the one installed probe, which a
        # session hands from connection to connection, so their behaviour is not each connection's own.
        isolated = outcome.session and not self.instrumented
        if isolated and not findings and not compared and settings.reports("connection-isolation"):
            from asgifuzz.isolation import isolation_findings

            findings = isolation_findings(app, outcome, settings)
        if self.protocol == "http" and not findings and not compared and settings.reports("response-depends-on-chunking"):
            from asgifuzz.chunking import chunking_findings

            findings = chunking_findings(app, outcome, settings, self.nondeterministic, self.id)
        # The comparison runs whatever the stack run found on its own (issue 12).  The stack's
        # findings come first, then what differs from the bare app; a finding the bare app shows
        # as well (the route's own failure) comes last: what the stack changed leads.
        known = {f.code for f in findings}
        compared = [f for f in compared if f.code not in known]
        shared = {(f.code, f.where) for f in bare.findings} if bare is not None else set()
        own = [f for f in findings if (f.code, f.where) not in shared]
        return outcome, own + compared + [f for f in findings if (f.code, f.where) in shared]

    def _compare(self, outcome: Outcome, settings: Settings) -> tuple[Outcome, list[Finding]]:
        """The bare run of the same case, and the transparency findings of ``outcome`` against it."""
        from asgifuzz.background import watching_app_tasks
        from asgifuzz.checks.transparency import compare_outcomes
        from asgifuzz.server.driver import run_case

        assert self.bare is not None
        bare_case = replace(outcome.case, stack=())
        with watching_app_tasks():
            bare = run_case(self.bare, bare_case, settings)
        if self.protocol == "websocket":
            from asgifuzz.checks.websocket import compare_websocket_outcomes

            compared = compare_websocket_outcomes(outcome, bare)
        elif self.protocol == "lifespan":
            from asgifuzz.checks.lifespan import compare_lifespan_outcomes

            compared = compare_lifespan_outcomes(outcome, bare, requests=self.instrumented)
        else:
            compared = compare_outcomes(outcome, bare, instrumented=self.instrumented, sse=self.sse)
        return bare, [f for f in compared if settings.reports(f.code)]


def _judge_leaks(app: ASGIApp, outcome: Outcome, settings: Settings) -> None:
    """Keep a task-leak finding only if running the case again starts the same work again.

    The leaked tasks are still running (``server.app.ADOPTED``).  Work a
    request starts every time shows up again, a second instance beside the
    first.  Work started once per event loop (sse-starlette's shutdown
    watcher: one per loop, polling for the server's exit, found at most once
    on uvicorn however many requests came) is not started again while it
    runs: it is no leak, and it is left running for the loop's life.
    """
    from asgifuzz.server.app import ONCE_PER_LOOP
    from asgifuzz.server.driver import run_case

    again = run_case(app, outcome.case, settings, hold_leaks=True)
    started_again = {key for _, key in again.leaks}
    for finding, key in outcome.leaks:
        if key not in started_again:
            ONCE_PER_LOOP.add(key)
            for holder in (outcome, *outcome.session):
                if finding in holder.findings:
                    holder.findings.remove(finding)


def _server_error(outcome: Outcome, logged: BaseException | None) -> list[Finding]:
    """``server-error``: the app's own route answered 5xx to a well-formed request the client waited for."""
    from asgifuzz._frames import exception_site, exception_text
    from asgifuzz.checks.invariants import SERVER_ERROR

    status = outcome.response.status
    if status is None or status < 500 or outcome.disconnect_seq is not None:
        return []
    message = f"the route answered {status} to a well-formed request"
    if logged is not None:
        message += f"; the app logged {exception_text(logged)}"
    finding = Finding(
        SERVER_ERROR,
        message,
        where=exception_site(logged) if logged is not None else "",
        exception=logged,
        trace=outcome.trace,
        case=outcome.case,
    )
    return [finding]


def _alone_if_it_fails_alone(app: ASGIApp, outcome: Outcome, settings: Settings) -> Outcome:
    """The outcome of the first failing connection of a session run alone, when it fails the same way alone.

    A bug of one connection found inside a session is then reported (and
    shrunk further) as that one connection: the shrinker cannot move a
    failing later connection's draws into the first connection's place.
    """
    from asgifuzz.server.driver import run_case
    from asgifuzz.server.session import connection_case

    later_findings = {id(f) for conn in outcome.session for f in conn.findings}
    connections = [[f for f in outcome.findings if id(f) not in later_findings], *(c.findings for c in outcome.session)]
    for index, own in enumerate(connections):
        keys = {f.key for f in own}
        if not keys:
            continue
        alone = run_case(app, connection_case(outcome.case, index), settings)
        if keys & {f.key for f in alone.findings}:
            return alone
        return outcome
    return outcome


def _blame_the_disconnect_only_if_it_caused(
    finding: Finding, app: ASGIApp, outcome: Outcome, settings: Settings
) -> Finding:
    """``exception-on-disconnect`` only when the disconnect caused the exception (a counterfactual).

    The same case is run again with the client staying (every ``Disconnect``
    action dropped: it sends its body and waits).  If the same exception
    escapes from the same place anyway, the disconnect did not cause it: the
    finding is ``app-raised``.
    """
    from asgifuzz._case import Disconnect, WsClose
    from asgifuzz.checks.invariants import APP_RAISED, EXCEPTION_ON_DISCONNECT
    from asgifuzz.server.driver import run_case

    case = outcome.case
    if finding.invariant is not EXCEPTION_ON_DISCONNECT or finding.exception is None:
        return finding
    everything = [*case.actions, *(a for c in case.session for a in c.actions)]
    if not any(isinstance(a, Disconnect | WsClose) for a in everything):
        return finding  # the client left only after waiting in vain: there is no calmer client to compare with

    def stays(actions: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(a for a in actions if not isinstance(a, Disconnect | WsClose))

    # Every client of a session stays (the finding may be any connection's).
    calm = replace(
        case, actions=stays(case.actions), session=tuple(replace(c, actions=stays(c.actions)) for c in case.session)
    )
    again = run_case(app, calm, settings)
    same = any(
        f.invariant is APP_RAISED and type(f.exception) is type(finding.exception) and f.where == finding.where
        for f in again.findings
    )
    if not same:
        return finding
    text = finding.message.replace("after the client disconnected", "").rstrip()
    return Finding(
        APP_RAISED,
        f"{text}; it escapes the same way when the client does not disconnect, so the disconnect did not cause it",
        where=finding.where,
        exception=finding.exception,
        trace=finding.trace,
        case=finding.case,
    )


def without_user_middleware(app: Any) -> ASGIApp:
    """The same Starlette/FastAPI app with its user middleware removed."""
    bare = copy.copy(app)
    bare.user_middleware = []
    # Old Starlette builds the stack eagerly, new Starlette lazily: build it now.
    bare.middleware_stack = bare.build_middleware_stack()
    return bare  # type: ignore[no-any-return]


def lifespan_targets(app: Any = None, *, middleware: Sequence[Any] | None = None, of: Any = None) -> list[Target]:
    """Lifespan targets: the app against itself without its user middleware, or a stack in front of
    each lifespan endpoint (``endpoints_lifespan``) against the bare endpoint."""
    if middleware is not None:
        from asgifuzz.endpoints_lifespan import LIFESPAN_ENDPOINTS

        label = stack_label(middleware)
        return [
            Target(
                id=f"{label} -> {name} (lifespan)",
                app=rebuilt(middleware, endpoint, of),
                bare=endpoint,
                instrumented=True,
                protocol="lifespan",
                rebuilt_from=tuple(middleware),
                rebuilt_for=of,
            )
            for name, endpoint in LIFESPAN_ENDPOINTS.items()
        ]
    check_asgi_app(app)
    starlette = _is_starlette(app)
    bare = without_user_middleware(app) if starlette and getattr(app, "user_middleware", None) else None
    return [Target(id="lifespan", app=app if starlette else as_asgi3(app), bare=bare, protocol="lifespan")]


def _starlette_available() -> bool:
    try:
        import starlette.applications  # noqa: F401
    except ImportError:
        return False
    return True


def _endpoint_names(endpoints: Sequence[str] | None, *, websocket: bool = False) -> list[str]:
    from asgifuzz.endpoints_ws import WS_ENDPOINTS

    # Websocket endpoints join by default only for apps with websocket routes
    # (or when named): HTTP-only runs keep their targets, and their seeds.
    names = list(endpoints) if endpoints is not None else [*ENDPOINTS, *(WS_ENDPOINTS if websocket else ())]
    unknown = [n for n in names if n not in ENDPOINTS and n not in WS_ENDPOINTS]
    if unknown:
        raise UsageError(f"unknown endpoint(s) {unknown}; choose from: {', '.join([*ENDPOINTS, *WS_ENDPOINTS])}")
    return names


def _in_app_targets(
    app: Any, user: Sequence[Any], endpoints: Sequence[str] | None, notes: list[str], *, websocket: bool = False
) -> list[Target]:
    """The app's own middleware stack in front of each adversarial endpoint (``_in_app``).

    Websocket endpoints are still served by a rebuilt stack.
    """
    from asgifuzz._in_app import install_switch, via_switch
    from asgifuzz.endpoints import endpoint_router

    names = _endpoint_names(endpoints, websocket=websocket)
    label = stack_label(user)
    switch, why = install_switch(app)
    if switch is None:
        notes.append(
            f"asgifuzz's endpoints could not be placed inside the app's middleware stack: {why}; "
            "the stack is rebuilt around them instead (its constructors run again, without the app's state)"
        )
        return _endpoint_targets(user, label, endpoints, websocket=websocket)
    targets = _websocket_endpoint_targets(user, label, [n for n in names if n not in ENDPOINTS])
    targets += [
        Target(
            id=f"{label} -> {name}",
            app=via_switch(app, switch, endpoint_router(ENDPOINTS[name])),
            bare=starlette_endpoint_app(ENDPOINTS[name]),
            methods=("GET", "POST", "HEAD"),
            instrumented=True,
            sse=ENDPOINTS[name].sse,
        )
        for name in names
        if name in ENDPOINTS
    ]
    return targets


def _endpoint_targets(
    middleware: Sequence[Any], label: str, endpoints: Sequence[str] | None, *, websocket: bool = False
) -> list[Target]:
    from asgifuzz.endpoints_ws import WS_ENDPOINTS

    names = _endpoint_names(endpoints, websocket=websocket)
    use_starlette = _starlette_available()
    all_middleware_objects = all(hasattr(m, "cls") for m in middleware)
    targets = _websocket_endpoint_targets(middleware, label, [n for n in names if n in WS_ENDPOINTS])
    for name in [n for n in names if n in ENDPOINTS]:
        ep: Endpoint = ENDPOINTS[name]
        if use_starlette and all_middleware_objects:
            app = starlette_endpoint_app(ep, list(middleware))
            bare = starlette_endpoint_app(ep)
        elif use_starlette:
            bare = starlette_endpoint_app(ep)
            app = _build_stack(middleware, starlette_endpoint_app(ep))
        else:
            bare = ep.asgi
            app = _build_stack(middleware, ep.asgi)
        targets.append(
            Target(
                id=f"{label} -> {name}",
                app=app,
                bare=bare,
                methods=("GET", "POST", "HEAD"),
                instrumented=True,
                sse=ep.sse,
            )
        )
    return targets


def _websocket_endpoint_targets(middleware: Sequence[Any], label: str, names: Sequence[str]) -> list[Target]:
    """The user's middleware in front of each adversarial websocket endpoint (``endpoints_ws``)."""
    from asgifuzz.endpoints_ws import WS_ENDPOINTS, starlette_websocket_app

    targets = []
    for name in names:
        ep = WS_ENDPOINTS[name]
        if _starlette_available() and all(hasattr(m, "cls") for m in middleware):
            app, bare = starlette_websocket_app(ep, list(middleware)), starlette_websocket_app(ep)
        elif _starlette_available():
            app, bare = _build_stack(middleware, starlette_websocket_app(ep)), starlette_websocket_app(ep)
        else:
            app, bare = _build_stack(middleware, ep.asgi), ep.asgi
        targets.append(Target(id=f"{label} -> {name}", app=app, bare=bare, instrumented=True, protocol="websocket"))
    return targets


def _describe(item: Any) -> str:
    cls = getattr(item, "cls", None)
    obj = cls if cls is not None else item
    if isinstance(obj, functools.partial):
        obj = obj.func
    return getattr(obj, "__name__", type(obj).__name__)


def stack_label(middleware: Sequence[Any]) -> str:
    return "stack[" + ", ".join(_describe(m) for m in middleware) + "]"


def _compose_targets(middleware: Sequence[Any], endpoints: Sequence[str] | None, max_depth: int) -> list[Target]:
    base = _endpoint_targets(middleware[:1], "compose", endpoints)
    choices = ", ".join(_describe(m) for m in middleware)
    return [
        Target(
            id=f"compose[{choices}] -> {t.id.rsplit(' -> ', 1)[1]}",
            app=t.app,
            bare=t.bare,
            methods=t.methods,
            instrumented=True,
            sse=t.sse,
            compose=tuple(middleware),
            max_depth=max_depth,
            endpoint=t.id.rsplit(" -> ", 1)[1],
        )
        for t in base
        if t.protocol == "http"
    ]


def discover_targets(
    app: ASGIApp | None,
    *,
    middleware: Sequence[Any] | None = None,
    endpoints: Sequence[str] | None = None,
    compose: bool = False,
    max_depth: int = 6,
    paths: Sequence[str] | None = None,
    notes: list[str] | None = None,
    lifespan: bool = True,
) -> list[Target]:
    """The targets of a fuzz run (see the module docstring).

    With ``lifespan`` (the default; ``Settings.lifespan`` "off" turns it off)
    the run also fuzzes the lifespan protocol: the middleware list, or the
    app's user middleware, in front of each lifespan endpoint
    (``lifespan_targets``).  The app's own lifespan is not restarted for it.
    Composed stacks get none.

    With ``compose``, each example draws its own stack (order, depth and
    repeats) from ``middleware``, up to ``max_depth`` layers.  ``paths``
    names the app's routes by hand (``"GET,POST /items/{id:int}"``) instead
    of reading them from the app.  Lines for the user (routes that could not
    be read) are appended to ``notes``.
    """
    notes = notes if notes is not None else []
    if middleware is not None:
        if not middleware:
            raise UsageError("middleware=[] is empty; pass at least one middleware or None")
        if compose:
            if max_depth < 1:
                raise UsageError(f"max_depth={max_depth!r} must be at least 1")
            return _compose_targets(middleware, endpoints, max_depth)
        targets = _endpoint_targets(middleware, stack_label(middleware), endpoints)
        return targets + (lifespan_targets(middleware=middleware) if lifespan and endpoints is None else [])
    if compose:
        raise UsageError("compose=True needs a middleware list to compose stacks from")
    if app is None:
        raise UsageError("nothing to fuzz: pass an ASGI app or a middleware list")
    check_asgi_app(app)
    starlette = _is_starlette(app)
    if starlette:
        from asgifuzz._in_app import patched_call_notes

        notes.extend(patched_call_notes(app))
    user = list(getattr(app, "user_middleware", [])) if starlette else []
    bare = without_user_middleware(app) if user else None
    runnable = app if starlette else as_asgi3(app)
    targets = _route_targets(runnable, bare, paths, notes)
    if user:
        has_ws = any(t.protocol == "websocket" for t in targets)
        targets += _in_app_targets(app, user, endpoints, notes, websocket=has_ws)
    if not targets:
        # (discover_routes has said so in a note already.)
        targets.append(Target(id="app", app=runnable, methods=("GET", "POST"), path="/{path:path}"))
    # The app's own lifespan runs once per process, as on a server (server.lifespan.SharedLifespans):
    # starting it again for a lifespan target would rebind what the running routes use (a client
    # that startup makes and shutdown closes; frameworks that refuse a second startup), so only
    # the user's middleware is fuzzed on lifespan, in front of asgifuzz's lifespan endpoints.
    if starlette:
        from asgifuzz._in_app import cookie_names

        names = cookie_names(app)
        targets = [replace(t, cookies=names) if t.protocol == "http" else t for t in targets]
    if lifespan and user and endpoints is None:
        try:
            targets += lifespan_targets(middleware=user, of=runnable)
        except Exception as exc:  # a middleware that cannot be built twice (metrics registered at __init__)
            notes.append(f"lifespan not fuzzed: building the app's middleware again raised {exc.__class__.__name__}: {exc}")
    return targets


def _route_targets(app: ASGIApp, bare: ASGIApp | None, paths: Sequence[str] | None, notes: list[str]) -> list[Target]:
    """One target per HTTP route: read from the app's routing, or named by ``paths``."""
    from asgifuzz.routes import Route, discover_routes, parse_path_option

    routes: list[Route] = []
    if paths:
        for text in paths:
            try:
                routes.append(parse_path_option(text))
            except ValueError as exc:
                raise UsageError(f"--path {text!r}: {exc}") from None
    else:
        table = discover_routes(app)
        notes.extend(table.notes)
        routes = list(table.routes)
    targets = []
    for route in routes:
        headers: tuple[tuple[bytes, bytes], ...] = ()
        if route.host:
            # A Host route needs its host header; parameters get a plain value.
            host = re.sub(r"{[^}]*}", "x", route.host)
            headers = ((b"host", host.encode("latin-1", "replace")),)
        targets.append(
            Target(
                id=f"route {route}",
                app=app,
                bare=bare,
                methods=route.methods,
                path=route.path,
                extra_headers=headers,
                protocol="websocket" if route.kind == "websocket" else "http",
            )
        )
    return targets


def select_targets(targets: Sequence[Target], patterns: Sequence[str]) -> list[Target]:
    """The targets matching one of the glob ``patterns`` (``--route``), by route path or by id.

    ``/items/*`` selects the routes under /items, ``stack*`` the middleware
    stack in front of asgifuzz's endpoints; no pattern keeps every target.
    A pattern that matches nothing is a ``UsageError`` listing the targets.
    """
    if not patterns:
        return list(targets)
    from fnmatch import fnmatchcase

    def matches(target: Target, pattern: str) -> bool:
        if target.id.startswith("route "):  # "route GET,POST /items/{id}": match the path or "GET,POST /items/{id}"
            return any(fnmatchcase(t, pattern) for t in (target.path, target.id, target.id.removeprefix("route ")))
        return fnmatchcase(target.id, pattern)

    for pattern in patterns:
        if not any(matches(t, pattern) for t in targets):
            known = ", ".join(repr(t.path if t.id.startswith("route ") else t.id) for t in targets[:12])
            more = ", ..." if len(targets) > 12 else ""
            raise UsageError(f"--route {pattern!r} matches no target; the app has {known}{more}")
    return [t for t in targets if any(matches(t, p) for p in patterns)]


def check_asgi_app(app: object) -> None:
    """Refuse objects that cannot be an ASGI application, with one clear line."""
    if not callable(app):
        raise UsageError(f"{app!r} is not an ASGI application: it is not callable")


def as_asgi3(app: Any) -> ASGIApp:
    """Wrap a legacy ASGI 2 double callable (a class taking only the scope)."""
    if isinstance(app, type) and not hasattr(app, "__await__"):
        import inspect

        try:
            params = list(inspect.signature(app).parameters)
        except (TypeError, ValueError):
            params = []
        if len(params) == 1:

            async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
                instance: Callable[[Receive, Send], Any] = app(scope)
                await instance(receive, send)

            return asgi3
    return app  # type: ignore[no-any-return]
