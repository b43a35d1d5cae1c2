"""Invariants of the oracles that look past the protocol: the app's own background work, a
response that looks complete but is not, and the metamorphic chunking comparison."""

from __future__ import annotations

from asgifuzz.checks.invariants._registry import define as _define, same_for_all

TRUNCATED_RESPONSE_COMPLETED = _define(
    code="truncated-response-completed",
    group="transparency",
    severity="error",
    title="the endpoint's response broke off, but behind the stack it looks complete",
    explanation="Without middleware the endpoint's response stopped mid-way (its stream "
    "raised or it returned early), so the client sees a broken response and "
    "knows the data is incomplete. Behind the stack the same response ended "
    "with more_body=False: the client gets a truncated body that looks "
    "complete, with the endpoint's status, and silently keeps wrong data "
    "(Starlette issue #1459 class: BaseHTTPMiddleware hid a StreamingResponse's error).",
    source="www.rst 'Response Body' (more_body), MW-RESPONSE-INTEGRITY",
    servers=same_for_all('n/a: the app against itself without its middleware'),
)

APP_TASK_LOST = _define(
    code="app-background-task-lost",
    group="lifecycle",
    severity="error",
    title="a background task of a sent response never ran to completion",
    explanation="The app attached a background task (Starlette/FastAPI BackgroundTask, "
    "BackgroundTasks, or a task a middleware set on the response from "
    "call_next) to a response the client received, and the app returned "
    "without the task finishing: it never started, or it was cancelled "
    "(Starlette issue #1438: cancelled when the client closed the "
    "connection; 0.38.3-0.38.4: tasks set from BaseHTTPMiddleware dropped). "
    "The work the route promised is lost.",
    source="Starlette BackgroundTask contract (runs after the response is sent)",
    servers=same_for_all("harms: the promised work is lost under any server (the app's own task)"),
)

APP_TASK_BEFORE_RESPONSE = _define(
    code="app-background-task-before-response",
    group="lifecycle",
    severity="error",
    title="the app's background task started before the client had the response",
    explanation="Starlette runs a response's background task once the response is "
    "sent. Here the task started before the client had the complete "
    "response, so the client waits for background work (Starlette issues "
    "#919 and #3458, BaseHTTPMiddleware).",
    source="Starlette BackgroundTask contract (runs after the response is sent)",
    servers=same_for_all('harms: the client waits for the background work under any server'),
)

APP_STREAM_LEFT_OPEN = _define(
    code="app-stream-left-open",
    group="lifecycle",
    severity="warning",
    title="the client left, and the app's response stream was not closed",
    explanation="The client left while the app streamed a response, and the response "
    "ended with the app's async generator still suspended inside a try/finally "
    "or an async with block: its cleanup (closing a file, a cursor, an "
    "upstream stream) did not run with the request. It runs only when the "
    "garbage collector finalizes the generator, later and outside the "
    "request, or never while something keeps a reference. Starlette's "
    "StreamingResponse does not close its iterator itself (up to the newest "
    "release), so this is a warning, not a loss.",
    source="PEP 525 (aclose); Kludex/starlette#3491 (explicit closure deferred)",
    servers=same_for_all("tolerates: the event loop finalizes the generator after the request"),
)

RESPONSE_DEPENDS_ON_CHUNKING = _define(
    code="response-depends-on-chunking",
    group="transparency",
    severity="error",
    title="the same request got a different response when its body arrived in other chunks",
    explanation="A client's body reaches the app in whatever pieces TCP and the "
    "server make of it, at whatever pace. The same request (method, path, "
    "headers, body bytes) delivered in one chunk got another status, body "
    "or headers than when it arrived in several chunks, with the app "
    "running in between: a middleware that reads only the first chunk, "
    "drops more_body, or a parser that breaks at a chunk boundary. Dates, "
    "ids and any header that differs between two identical one-chunk runs "
    "are not compared; routes whose answer to one request is not "
    "deterministic are skipped (the coverage table says so).",
    source="www.rst 'Request' (more_body); RFC 9112 section 7 (chunking is not semantic)",
    servers=same_for_all('n/a: the app against itself with the same body in other chunks'),
)
