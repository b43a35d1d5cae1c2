"""Checks for the lifespan protocol: what the app sends, and the stack against the bare app.

``LifespanChecker`` follows ``spec.lifespan`` through the events the server
gave and the replies the app sent; ``check`` names every invariant one send
breaks and whether uvicorn would reject it (its ``send`` asserts).
``compare_lifespan_outcomes`` is the transparency oracle for lifespan: the
app behind the user's middleware must tell the server what the app without
it tells (startup and shutdown outcome, the state keys its startup set, what
a request sees of that state).
"""

from __future__ import annotations

from typing import Any

from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import (
    LIFESPAN_INVALID_MESSAGE,
    LIFESPAN_OUTCOME_ALTERED,
    LIFESPAN_UNKNOWN_MESSAGE_TYPE,
    Invariant,
)
from asgifuzz.spec.lifespan import LifespanState, illegal_move, next_state, on_event

__all__ = ("LifespanChecker", "compare_lifespan_outcomes")

Problem = tuple[Invariant, str]


class LifespanChecker:
    """The lifespan state of one app call, fed every event received and message sent."""

    def __init__(self) -> None:
        self.state = LifespanState.WAITING

    @property
    def answered_startup(self) -> bool:
        return self.state not in (LifespanState.WAITING, LifespanState.STARTING)

    def received(self, event_type: str) -> None:
        self.state = on_event(self.state, event_type)

    def check(self, message: Any) -> tuple[list[Problem], bool]:
        """The problems with ``message`` and whether uvicorn rejects it (raises into the app)."""
        mtype = message.get("type") if isinstance(message, dict) else None
        if not isinstance(mtype, str):
            return [(LIFESPAN_UNKNOWN_MESSAGE_TYPE, f"send() was given {message!r}, not a lifespan message")], True
        if not mtype.startswith("lifespan.") and not self.answered_startup:
            # How an HTTP-only app says it does not support lifespan: rejected, not reported.
            return [], True
        invariant = illegal_move(self.state, mtype)
        problems: list[Problem] = []
        if invariant is LIFESPAN_UNKNOWN_MESSAGE_TYPE:
            return [(invariant, f"the app sent {mtype!r} on the lifespan scope ({self.state.value})")], True
        if invariant is not None:
            problems.append((invariant, f"the app sent {mtype!r} while the lifespan was {self.state.value}"))
        if mtype.endswith(".failed") and "message" in message and not isinstance(message["message"], str):
            problems.append((LIFESPAN_INVALID_MESSAGE, f"{mtype!r} has message={message['message']!r}, not a str"))
        after = next_state(self.state, mtype)
        if after is None:
            return problems, True
        self.state = after
        return problems, False


def _startup_words(outcome: str | None) -> str:
    return {
        "complete": "completed",
        "failed": "failed (lifespan.startup.failed)",
        "raised": "raised",
        "unsupported": "was reported unsupported (an exception before the startup reply)",
        "returned": "returned without a reply (servers take it as complete)",
        "hung": "never answered",
        "swallowed": "failed, but the LifespanFailureError hypercorn raised into it was swallowed (hypercorn serves)",
        None: "was never sent",
    }.get(outcome, str(outcome))


def compare_lifespan_outcomes(stack: Any, bare: Any, *, requests: bool = True) -> list[Finding]:
    """``lifespan-outcome-altered`` when the server learns something else behind the stack."""
    s, b = stack.response, bare.response
    text = ""
    served = ("complete", "returned")
    if s.startup != b.startup:
        if b.startup in ("failed", "raised", "hung") and s.startup in (*served, "unsupported", "swallowed"):
            text = (
                f"the app's startup {_startup_words(b.startup)}, but behind the stack it {_startup_words(s.startup)}: "
                "the failure was swallowed and the server would serve requests without the app's startup "
                "(uvicorn exits with code 3, hypercorn raises LifespanFailureError)"
            )
        elif b.startup in served and s.startup == "unsupported":
            text = (
                "the app supports lifespan, but behind the stack the lifespan scope raised before the startup "
                "reply: servers go on without lifespan and the app's startup never runs"
            )
        else:
            text = f"the app's startup {_startup_words(b.startup)}, behind the stack it {_startup_words(s.startup)}"
    elif b.startup in served and s.state_keys != b.state_keys:
        missing = sorted(set(b.state_keys) - set(s.state_keys))
        text = (
            f"the app's startup set state {list(b.state_keys)!r}; behind the stack the server's state holds "
            f"{list(s.state_keys)!r}"
            + (
                f" ({missing!r} missing: the app's startup did not run, or ran on another state dict)"
                if missing
                else ""
            )
        )
    elif requests and s.requests != b.requests:
        text = (
            f"a request after the startup saw {_show(s.requests)} behind the stack, {_show(b.requests)} without it: "
            "the lifespan state did not reach the request scope unchanged"
        )
    elif s.shutdown != b.shutdown:
        text = f"the app's shutdown {_startup_words(b.shutdown)}, behind the stack it {_startup_words(s.shutdown)}"
    if not text:
        return []
    return [Finding(LIFESPAN_OUTCOME_ALTERED, text)]


def _show(requests: list[tuple[int | None, bytes]]) -> str:
    return ", ".join(f"{status} {body!r}" for status, body in requests) or "no response"
