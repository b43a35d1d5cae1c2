"""Transparency checks: a middleware stack against the bare app, same script.

The same script runs twice, through the middleware stack and through the
bare endpoint.  Actions are coarse (whole scheduler settles, never a number
of steps), so a middleware that only adds scheduling steps gives the
endpoint exactly the same experience.  We then compare only what a
middleware has no business changing:

* the request body the endpoint read, when the bare endpoint read it all;
* whether the endpoint saw the client disconnect;
* whether its background tasks ran to completion, and after the client had
  the complete response;
* whether its planted exception reached the server;
* for event streams, whether each event reached the client (after decoding
  Content-Encoding) before the endpoint produced the next one;
* whether the response completed, both ways: lost behind the stack, or
  broken off without middleware but completed (truncated) behind it;
* for the app's own routes, whether an exception that left the router
  reached the server.

Nothing is compared for an endpoint when the middleware answered by itself
(the endpoint was never called behind the stack).  A finding of either run
on its own does not stop the comparison: what differs is the finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asgifuzz._finding import Finding
from asgifuzz.checks.http import DECODE_ERRORS, content_decoder
from asgifuzz.checks.invariants import (
    BACKGROUND_TASK_BEFORE_RESPONSE,
    BACKGROUND_TASK_LOST,
    DISCONNECT_HIDDEN,
    EXCEPTION_SWALLOWED,
    REQUEST_BODY_ALTERED,
    RESPONSE_LOST_BEHIND_STACK,
    STREAM_BUFFERED,
    TRUNCATED_RESPONSE_COMPLETED,
    Invariant,
)

if TYPE_CHECKING:
    from asgifuzz.server.driver import Outcome

__all__ = ("compare_outcomes",)


def _decoded_progress(outcome: Outcome) -> list[tuple[int, int]] | None:
    """(seq, decoded bytes so far) after each body chunk the client received.

    None when the body is in a coding that cannot be decoded here (then
    nothing is judged: raw compressed bytes say nothing of the events).
    """
    decoder = content_decoder(outcome.response.header(b"content-encoding"))
    if decoder is False:
        return None
    total = 0
    out: list[tuple[int, int]] = []
    for seq, data in outcome.response.chunks:
        if decoder is not None:
            try:
                data = decoder.decompress(data)
            except DECODE_ERRORS:
                return out
        total += len(data)
        out.append((seq, total))
    return out


def _timely_events(outcome: Outcome) -> list[bool]:
    """For each produced event but the last: did it reach the client before the next?"""
    progress = _decoded_progress(outcome)
    if progress is None:
        return []
    chunks = outcome.probe.chunks
    result = []
    need = 0
    for i in range(len(chunks) - 1):
        need += len(chunks[i][1])
        next_seq = chunks[i + 1][0]
        result.append(any(seq < next_seq and total >= need for seq, total in progress))
    return result


Found = list[tuple[Invariant, str, str]]


def compare_outcomes(stack: Outcome, bare: Outcome, *, instrumented: bool, sse: bool) -> list[Finding]:
    """What differs between the two runs, whatever either of them broke on its own.

    A finding of one side is no reason to stop: when the bare app raises after
    its response (a failed background task) and the stack returns quietly, the
    difference *is* the finding.
    """
    found: Found = []
    if instrumented:
        b, s = bare.probe, stack.probe
        if not (b.called and s.called):
            return []
        found += _endpoint_differences(stack, bare, sse=sse)
    else:
        found += _route_exception(stack, bare)
    found += _completion(stack, bare)
    return [
        Finding(invariant, message, where=where, trace=stack.trace, case=stack.case, reference_trace=bare.trace)
        for invariant, message, where in found
    ]


def _endpoint_differences(stack: Outcome, bare: Outcome, *, sse: bool) -> Found:
    """What the instrumented endpoint experienced differently behind the stack."""
    found: Found = []
    b, s = bare.probe, stack.probe
    # A body that arrives whole but changed, with its content-type or -encoding changed too, was
    # transcoded on purpose (msgpack-asgi hands JSON on, a decompressing middleware the plain body).
    transcoded = s.body_end == "complete" and s.content_headers != b.content_headers
    if b.body_end == "complete" and not transcoded and (s.body_end != "complete" or bytes(s.body) != bytes(b.body)):
        found.append(
            (
                REQUEST_BODY_ALTERED,
                (
                    f"bare endpoint read {bytes(b.body)!r} (complete); behind the stack it read "
                    f"{bytes(s.body)!r} ({s.body_end or 'unfinished'})"
                ),
                "request-body",
            )
        )
    if b.saw_disconnect and not s.saw_disconnect:
        found.append(
            (
                DISCONNECT_HIDDEN,
                "the bare endpoint saw the client disconnect; behind the stack it never did",
                "disconnect",
            )
        )
    found += _background_differences(stack, bare)
    if b.planted and bare.app_end == "raised" and stack.app_end != "raised":
        found.append(
            (
                EXCEPTION_SWALLOWED,
                (
                    f"the endpoint's exception ({b.planted[0]}) reached the server without middleware, "
                    f"but the stack {stack.app_end} normally"
                ),
                "exception",
            )
        )
    if sse:
        bt, st_ = _timely_events(bare), _timely_events(stack)
        for i, (ok_bare, ok_stack) in enumerate(zip(bt, st_, strict=False)):
            if ok_bare and not ok_stack:
                found.append(
                    (
                        STREAM_BUFFERED,
                        f"event {i} had not reached the client when the endpoint produced event {i + 1}",
                        "stream",
                    )
                )
                break
    return found


def _background_differences(stack: Outcome, bare: Outcome) -> Found:
    found: Found = []
    b, s = bare.probe, stack.probe
    for name, bg in b.background.items():
        sbg = s.background.get(name)
        if bg.finished is not None and (sbg is None or sbg.finished is None):
            state = "never started" if sbg is None or sbg.started is None else "started but never finished"
            found.append((BACKGROUND_TASK_LOST, f"background task {name!r} {state} behind the stack", name))
            continue
        bare_after = (
            bare.response.delivered_seq is not None
            and bg.started is not None
            and bare.response.delivered_seq < bg.started
        )
        if bare_after and sbg is not None and sbg.started is not None:
            done = stack.response.delivered_seq
            if done is None or sbg.started < done:
                found.append(
                    (
                        BACKGROUND_TASK_BEFORE_RESPONSE,
                        f"background task {name!r} started before the client had the complete response"
                        + (" (the response never completed)" if done is None else ""),
                        name,
                    )
                )
    return found


def _route_exception(stack: Outcome, bare: Outcome) -> Found:
    """The app's own route raised behind the stack too, but only without middleware did it reach the server.

    ``router_raised`` is recorded below the user middleware (``_in_app``'s
    switch), so a middleware that answers by itself (the route never ran) is
    not blamed for an exception the bare route raised.
    """
    raised = stack.probe.router_raised
    if not raised or bare.app_end != "raised" or stack.app_end == "raised":
        return []
    return [
        (
            EXCEPTION_SWALLOWED,
            (
                f"the route's exception ({raised[0]}) reached the server without middleware, "
                f"but behind the stack the app {stack.app_end} normally"
            ),
            "exception",
        )
    ]


def _completion(stack: Outcome, bare: Outcome) -> Found:
    """Whether the response completed: both directions."""
    disconnected = stack.case.message_count and stack.disconnect_seq is not None
    b, s = bare.response, stack.response
    # By HTTP framing, not ASGI: with the declared Content-Length delivered the
    # client has the whole response even if the stack never sent more_body=False.
    if b.delivered_seq is not None and s.delivered_seq is None and not disconnected:
        return [
            (
                RESPONSE_LOST_BEHIND_STACK,
                "the bare app completed the response; behind the stack it "
                + ("never started" if s.start_seq is None else "never finished"),
                "response",
            )
        ]
    # The reverse: the endpoint's response broke off mid-way (the client sees a
    # broken response), and the stack turned it into a complete one.
    stayed = bare.disconnect_seq is None and stack.disconnect_seq is None
    if (
        stayed
        and b.start_seq is not None
        and b.delivered_seq is None
        and s.delivered_seq is not None
        and s.status == b.status
    ):
        return [
            (
                TRUNCATED_RESPONSE_COMPLETED,
                (
                    f"without middleware the {b.status} response broke off after {len(b.body)} byte(s) "
                    f"(the app {bare.app_end}); behind the stack the client got it complete "
                    f"({len(s.body)} byte(s), more_body=False), a truncated body that looks whole"
                ),
                "response",
            )
        ]
    return []
