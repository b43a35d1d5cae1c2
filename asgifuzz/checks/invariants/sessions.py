"""Invariants of sessions: several connections on one app instance."""

from __future__ import annotations

from asgifuzz.checks.invariants._registry import define as _define, same_for_all

CONNECTION_ISOLATION = _define(
    code="connection-isolation",
    group="transparency",
    severity="error",
    title="what a client received depends on another client's connection",
    explanation="The same request, with the same body and the same client behaviour, "
    "got a different response (status, body, or a header that is neither a date nor an id) "
    "when another connection was served before it or at the same time than when it was "
    "served alone, although alone it answers the same way every time. One app instance "
    "serves every connection of a server process: per-request state kept on a shared "
    "object (a middleware's self), a context variable or thread-local that outlives its "
    "request, a shared buffer or a wrongly keyed cache hands one client another "
    "client's data.",
    source="ASGI spec, asgi.rst 'Applications' (one application instance per server, many concurrent scopes); issue 14",
    servers=same_for_all("n/a: a comparison (this connection alone answers otherwise); every server runs one app instance for all its connections"),
)
