"""Lifespan invariants (``protocol="lifespan"``)."""

from __future__ import annotations

from asgifuzz.checks.invariants._registry import define as _define, reactions, same_for_all

__all__ = (
    "LIFESPAN_INVALID_MESSAGE",
    "LIFESPAN_OUTCOME_ALTERED",
    "LIFESPAN_RAISED",
    "LIFESPAN_REPLY_BEFORE_EVENT",
    "LIFESPAN_REPLY_ORDER",
    "LIFESPAN_REPLY_TIMEOUT",
    "LIFESPAN_SILENT_RETURN",
    "LIFESPAN_UNKNOWN_MESSAGE_TYPE",
)
# ------------------------------------------------------------ lifespan
# Sources: ASGI lifespan.rst; uvicorn 0.x ``lifespan/on.py`` (``send`` asserts
# the order, ``main`` classifies exceptions, startup.failed exits with code 3);
# hypercorn ``lifespan.py`` (60 s timeouts, ``LifespanFailureError``);
# asgi-invariants LS-* and 7.5.

LIFESPAN_UNKNOWN_MESSAGE_TYPE = _define(
    code="lifespan-unknown-message-type",
    group="protocol",
    severity="error",
    title="the app sent a message a lifespan server does not accept",
    explanation="A lifespan app may send only 'lifespan.startup.complete|failed' and "
    "'lifespan.shutdown.complete|failed'. uvicorn asserts on any other type (the assertion "
    "raises into the app; after startup the server records an error and skips the shutdown, "
    "so the app's cleanup never runs); hypercorn raises for unknown types. A non-lifespan "
    "message before the startup reply is how HTTP-only apps say they do not support lifespan "
    "and is not reported.",
    source="lifespan.rst; uvicorn LifespanOn.send (assert message['type'] in ...)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='rejects',
        hypercorn='rejects',
        daphne='n/a: no lifespan support',
        granian='rejects',
    ),
)

LIFESPAN_REPLY_ORDER = _define(
    code="lifespan-reply-order",
    group="protocol",
    severity="error",
    title="a lifespan reply came twice, or the shutdown was answered before the startup",
    explanation="After 'lifespan.startup' the app sends exactly one of startup.complete and "
    "startup.failed, and after 'lifespan.shutdown' exactly one of shutdown.complete and "
    "shutdown.failed, never before its startup reply. uvicorn's send asserts each transition "
    "(an AssertionError raises into the app; after startup the shutdown is skipped).",
    source="lifespan.rst; uvicorn LifespanOn.send (STATE_TRANSITION_ERROR); asgi-invariants LS-STARTUP-REPLY, "
    "LS-SHUTDOWN-REPLY",
    protocol="lifespan",
    servers=reactions(
        uvicorn='rejects',
        hypercorn='tolerates: a second startup.complete is ignored',
        daphne='n/a: no lifespan support',
        granian='rejects',
    ),
)

LIFESPAN_REPLY_BEFORE_EVENT = _define(
    code="lifespan-reply-before-event",
    group="protocol",
    severity="warning",
    title="the app answered a lifespan event it had not received",
    explanation="The app sent a startup reply before receiving 'lifespan.startup', or a "
    "shutdown reply before receiving 'lifespan.shutdown'. uvicorn and hypercorn accept it "
    "(so a warning), but a shutdown answered early means the server stops without waiting "
    "for the app's cleanup.",
    source="lifespan.rst (spec-derived; uvicorn does not check, asgi-invariants LS-SHUTDOWN-REPLY traps)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='tolerates',
        hypercorn='tolerates',
        daphne='n/a: no lifespan support',
        granian='tolerates',
    ),
)

LIFESPAN_INVALID_MESSAGE = _define(
    code="lifespan-invalid-message",
    group="protocol",
    severity="warning",
    title="a lifespan '*.failed' message has a 'message' that is not a str",
    explanation="The 'message' of 'lifespan.startup.failed' and 'lifespan.shutdown.failed' "
    "is optional and a str. uvicorn logs it and hypercorn puts it in LifespanFailureError, "
    "so another type only garbles the log line the operator reads.",
    source="lifespan.rst 'Startup Failed', 'Shutdown Failed' (LS-FAILED-MESSAGE)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='tolerates',
        hypercorn='tolerates',
        daphne='n/a: no lifespan support',
        granian='tolerates',
    ),
)

LIFESPAN_REPLY_TIMEOUT = _define(
    code="lifespan-reply-timeout",
    group="lifecycle",
    severity="error",
    title="the app never answered a lifespan event",
    explanation="The app received 'lifespan.startup' or 'lifespan.shutdown' and neither "
    "answered nor returned within hypercorn's 60 s timeout (virtual time). hypercorn "
    "raises LifespanTimeoutError and does not start (or stops without cleanup); uvicorn "
    "waits forever, so the server never serves a request or never exits.",
    source="hypercorn startup_timeout/shutdown_timeout; uvicorn LifespanOn.startup (LS-REPLY-DEADLINE)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='harms: waits forever, never serves',
        hypercorn='rejects: LifespanTimeoutError after 60 s',
        daphne='n/a: no lifespan support',
        granian='unchecked',
    ),
)

LIFESPAN_SILENT_RETURN = _define(
    code="lifespan-silent-return",
    group="lifecycle",
    severity="warning",
    title="the lifespan app returned without answering an event it received",
    explanation="The app received 'lifespan.startup' (or completed its startup) and returned "
    "without the reply. uvicorn and hypercorn treat the return as success, so a startup that "
    "silently did not happen, or a shutdown that never ran, goes unnoticed.",
    source="lifespan.rst; uvicorn LifespanOn.main (events set in finally) (LS-NO-SILENT-RETURN)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='tolerates: the return counts as success',
        hypercorn='tolerates: the return counts as success',
        daphne='n/a: no lifespan support',
        granian='unchecked',
    ),
)

LIFESPAN_RAISED = _define(
    code="lifespan-raised",
    group="lifecycle",
    severity="error",
    title="the lifespan app raised after its startup completed",
    explanation="An exception after 'lifespan.startup.complete' and before the shutdown reply "
    "(outside a '*.failed' reply): uvicorn records an error and skips the shutdown, so the "
    "app's cleanup never runs (and with --lifespan on the process exits with an error); "
    "hypercorn logs that it shuts down without lifespan support.",
    source="lifespan.rst 'Scope'; uvicorn LifespanOn.main/shutdown (LS-EXCEPTION-CLASSIFICATION)",
    protocol="lifespan",
    servers=reactions(
        uvicorn='rejects: logs the error and skips the shutdown (cleanup never runs)',
        hypercorn='rejects: logs it and goes on without lifespan',
        daphne='n/a: no lifespan support',
        granian='unchecked',
    ),
)

LIFESPAN_OUTCOME_ALTERED = _define(
    code="lifespan-outcome-altered",
    group="transparency",
    severity="error",
    title="the lifespan outcome differs behind the middleware stack",
    explanation="The same server talked to the app with and without the user's middleware and "
    "learned something different: a startup that failed behind the stack was reported as "
    "complete (the server serves without the app's resources), the app's startup never ran "
    "(the middleware answered lifespan itself or raised for the lifespan scope, which servers "
    "read as 'lifespan unsupported'), or the state the app's startup set did not reach the "
    "server or the request scope.",
    source="lifespan.rst 'Lifespan State'; uvicorn exits with code 3 on startup.failed, hypercorn raises "
    "LifespanFailureError",
    protocol="lifespan",
    servers=same_for_all('n/a: the app against itself without its middleware'),
)
