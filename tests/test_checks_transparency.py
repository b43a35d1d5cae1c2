"""``checks.transparency``: a middleware stack against the bare app, on hand-built outcomes.

Each test builds the two ``Outcome``s the driver would record (what the
endpoint experienced, through its probe, and what the client received) and
asserts what ``compare_outcomes`` reports.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from asgifuzz._case import Case, Chunk, Disconnect
from asgifuzz._finding import Finding, TraceEvent
from asgifuzz.checks.invariants import APP_RAISED
from asgifuzz.checks.transparency import compare_outcomes
from asgifuzz.server.driver import Outcome
from asgifuzz.server.http import ClientView
from asgifuzz.server.probe import Background, Probe

SCOPE: dict[str, Any] = {"type": "http", "method": "POST", "path": "/", "headers": []}
CASE = Case(target="t", scope=SCOPE, body=b"hello", actions=(Chunk(5),), differential=True)
LEFT = Case(target="t", scope=SCOPE, body=b"hello", actions=(Chunk(2), Disconnect()), differential=True)


def response(
    *chunks: tuple[int, bytes],
    start: int | None = 1,
    complete: int | None = 9,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> ClientView:
    return ClientView(status=200, headers=headers or [], chunks=list(chunks), start_seq=start, complete_seq=complete)


def probe(**fields: Any) -> Probe:
    return Probe(called=True, **fields)


def outcome(
    *,
    case: Case = CASE,
    view: ClientView | None = None,
    endpoint: Probe | None = None,
    app_end: str = "returned",
    findings: list[Finding] | None = None,
    disconnect_seq: int | None = None,
    label: str = "",
) -> Outcome:
    trace = [TraceEvent(0, 0.0, "server", "call", None, label)]
    return Outcome(
        case=case,
        trace=trace,
        findings=findings or [],
        app_end=app_end,  # type: ignore[arg-type]
        app_exc=None,
        response=view if view is not None else response((2, b"ok")),
        probe=endpoint if endpoint is not None else probe(body=bytearray(b"hello"), body_end="complete"),
        disconnect_seq=disconnect_seq,
    )


def codes(stack: Outcome, bare: Outcome, *, instrumented: bool = True, sse: bool = False) -> list[str]:
    return [f.code for f in compare_outcomes(stack, bare, instrumented=instrumented, sse=sse)]


def test_identical_runs_are_transparent() -> None:
    assert codes(outcome(), outcome()) == []


def test_a_finding_carries_the_stack_case_and_trace_and_the_bare_trace() -> None:
    stack = outcome(endpoint=probe(body=bytearray(b"llo"), body_end="complete"), label="stack")
    bare = outcome(label="bare")
    (finding,) = compare_outcomes(stack, bare, instrumented=True, sse=False)
    assert finding.code == "request-body-altered"
    assert finding.case is stack.case and finding.trace is stack.trace and finding.reference_trace is bare.trace
    assert finding.message == "bare endpoint read b'hello' (complete); behind the stack it read b'llo' (complete)"


@pytest.mark.parametrize("side", ["stack", "bare"])
def test_the_comparison_runs_when_either_run_broke_an_invariant_of_its_own(side: str) -> None:
    # Issue 12: a finding of one side is no reason to stop comparing; what differs is the finding.
    broken = [Finding(APP_RAISED, "boom")]
    altered = probe(body=bytearray(b"x"), body_end="complete")
    stack = outcome(endpoint=altered, findings=broken if side == "stack" else None)
    bare = outcome(findings=broken if side == "bare" else None)
    assert codes(stack, bare) == ["request-body-altered"]


def test_a_background_failure_the_stack_swallows_is_found_although_the_bare_run_raised() -> None:
    # The bare route raised after its complete response (a failed background task): app-raised
    # on the bare side; behind the stack the same route raised and the app returned normally.
    stack = outcome(endpoint=Probe(router_raised=["ValueError"]))
    bare = outcome(app_end="raised", findings=[Finding(APP_RAISED, "ValueError escaped the app")])
    (finding,) = compare_outcomes(stack, bare, instrumented=False, sse=False)
    assert finding.code == "exception-swallowed"
    assert "route's exception (ValueError) reached the server without middleware" in finding.message


def test_a_route_exception_is_not_swallowed_when_the_route_never_raised_behind_the_stack() -> None:
    # The middleware answered by itself (auth, a cache): the bare route's own failure is not its doing.
    bare = outcome(app_end="raised", findings=[Finding(APP_RAISED, "KeyError")])
    assert codes(outcome(endpoint=Probe()), bare, instrumented=False) == []
    both = outcome(endpoint=Probe(router_raised=["KeyError"]), app_end="raised")
    assert codes(both, bare, instrumented=False) == []


class TestTruncatedResponseCompleted:
    def test_a_broken_stream_the_stack_completes_is_found(self) -> None:
        bare = outcome(view=response((2, b"part"), complete=None), app_end="raised")
        stack = outcome(view=response((2, b"part"), complete=5))
        (finding,) = compare_outcomes(stack, bare, instrumented=False, sse=False)
        assert finding.code == "truncated-response-completed"
        assert "broke off after 4 byte(s) (the app raised)" in finding.message

    def test_a_stack_that_answers_500_instead_is_not_a_truncation(self) -> None:
        bare = outcome(view=response((2, b"part"), complete=None), app_end="raised")
        view = response((2, b"error"), complete=5)
        view.status = 500
        assert codes(outcome(view=view), bare, instrumented=False) == []

    def test_a_client_that_left_sees_no_truncation(self) -> None:
        bare = outcome(case=LEFT, view=response((2, b"part"), complete=None), disconnect_seq=3)
        stack = outcome(case=LEFT, view=response((2, b"part"), complete=5), disconnect_seq=3)
        assert codes(stack, bare, instrumented=False) == []


def test_nothing_is_compared_when_the_middleware_answered_by_itself() -> None:
    stack = outcome(endpoint=Probe(), view=response(complete=None))  # the endpoint was never called
    assert codes(stack, outcome()) == []


class TestRequestBody:
    def test_an_unfinished_read_behind_the_stack_is_altered(self) -> None:
        stack = outcome(endpoint=probe(body=bytearray(b"he")))
        (finding,) = compare_outcomes(stack, outcome(), instrumented=True, sse=False)
        assert finding.code == "request-body-altered" and finding.message.endswith("read b'he' (unfinished)")

    def test_not_compared_when_the_bare_endpoint_did_not_read_it_all(self) -> None:
        bare = outcome(endpoint=probe(body=bytearray(b"he"), body_end="disconnect"))
        stack = outcome(endpoint=probe(body=bytearray(b""), body_end="disconnect"))
        assert codes(stack, bare) == []


def test_a_disconnect_seen_only_without_the_stack_is_hidden() -> None:
    bare = outcome(endpoint=probe(body=bytearray(b"hello"), body_end="complete", saw_disconnect=True))
    assert codes(outcome(), bare) == ["disconnect-hidden"]
    assert codes(bare, outcome()) == []  # seeing more than the bare endpoint is fine


class TestBackgroundTasks:
    @pytest.mark.parametrize(
        ("behind_stack", "state"),
        [(None, "never started"), (Background(started=3), "started but never finished")],
    )
    def test_a_task_that_finished_bare_but_not_behind_the_stack_is_lost(
        self, behind_stack: Background | None, state: str
    ) -> None:
        bare = outcome(
            endpoint=probe(body=bytearray(b"hello"), body_end="complete", background={"job": Background(3, 4)})
        )
        stack_bg = {"job": behind_stack} if behind_stack is not None else {}
        stack = outcome(endpoint=probe(body=bytearray(b"hello"), body_end="complete", background=stack_bg))
        (finding,) = compare_outcomes(stack, bare, instrumented=True, sse=False)
        assert finding.code == "background-task-lost"
        assert finding.message == f"background task 'job' {state} behind the stack"

    def _runs(self, *, stack_started: int, stack_view: ClientView) -> tuple[Outcome, Outcome]:
        # Bare: the response completes at seq 2, the task starts at 5 (after it).
        bare = outcome(
            view=response((2, b"ok"), complete=2),
            endpoint=probe(body=bytearray(b"hello"), body_end="complete", background={"job": Background(5, 6)}),
        )
        stack = outcome(
            view=stack_view,
            endpoint=probe(
                body=bytearray(b"hello"), body_end="complete", background={"job": Background(stack_started, 8)}
            ),
        )
        return stack, bare

    def test_a_task_started_before_the_client_had_the_response_is_reported(self) -> None:
        stack, bare = self._runs(stack_started=3, stack_view=response((4, b"ok"), complete=4))
        assert codes(stack, bare) == ["background-task-before-response"]

    def test_a_task_started_after_the_response_is_fine(self) -> None:
        stack, bare = self._runs(stack_started=5, stack_view=response((4, b"ok"), complete=4))
        assert codes(stack, bare) == []

    def test_content_length_delivered_counts_as_the_response_complete(self) -> None:
        """By HTTP framing: with Content-Length reached the client has the response at seq 4."""
        view = response((4, b"ok"), complete=None, headers=[(b"content-length", b"2")])
        stack, bare = self._runs(stack_started=5, stack_view=view)
        assert codes(stack, bare) == []

    def test_a_response_that_never_completes_is_said_so(self) -> None:
        stack, bare = self._runs(stack_started=5, stack_view=response((4, b"o"), complete=None))
        found = compare_outcomes(stack, bare, instrumented=True, sse=False)
        assert [f.code for f in found] == ["background-task-before-response", "response-lost-behind-stack"]
        assert found[0].message.endswith("(the response never completed)")


def test_a_planted_exception_that_no_longer_reaches_the_server_is_swallowed() -> None:
    bare = outcome(
        app_end="raised", endpoint=probe(body=bytearray(b"hello"), body_end="complete", planted=["endpoint"])
    )
    stack = outcome(endpoint=probe(body=bytearray(b"hello"), body_end="complete", planted=["endpoint"]))
    (finding,) = compare_outcomes(stack, bare, instrumented=True, sse=False)
    assert finding.code == "exception-swallowed"
    assert finding.message == (
        "the endpoint's exception (endpoint) reached the server without middleware, but the stack returned normally"
    )
    assert codes(outcome(app_end="raised", endpoint=bare.probe), bare) == []


class TestEventStreams:
    EVENTS = [(3, b"data: a\n\n"), (6, b"data: b\n\n"), (9, b"data: c\n\n")]

    def _bare(self) -> Outcome:
        # Each event reaches the client (seq 4, 7, 10) before the next is produced.
        view = response((4, b"data: a\n\n"), (7, b"data: b\n\n"), (10, b"data: c\n\n"), complete=10)
        return outcome(view=view, endpoint=probe(chunks=list(self.EVENTS)))

    def test_events_held_back_until_the_end_are_buffered(self) -> None:
        held = response((10, b"data: a\n\ndata: b\n\ndata: c\n\n"), complete=10)
        stack = outcome(view=held, endpoint=probe(chunks=list(self.EVENTS)))
        (finding,) = compare_outcomes(stack, self._bare(), instrumented=True, sse=True)
        assert finding.code == "stream-buffered"
        assert finding.message == "event 0 had not reached the client when the endpoint produced event 1"

    def test_not_compared_unless_the_endpoint_streams_events(self) -> None:
        held = response((10, b"data: a\n\ndata: b\n\ndata: c\n\n"), complete=10)
        stack = outcome(view=held, endpoint=probe(chunks=list(self.EVENTS)))
        assert codes(stack, self._bare(), sse=False) == []

    @pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
    def test_compressed_events_are_judged_by_their_decoded_bytes(self, encoding: bytes) -> None:
        # Long, compressible events: each compresses to far fewer bytes than it holds.
        events = [(3, b"data: " + b"a" * 500 + b"\n\n"), (6, b"data: " + b"b" * 500 + b"\n\n"), (9, b"data: c\n\n")]
        bare = outcome(
            view=response(*((seq + 1, data) for seq, data in events), complete=10), endpoint=probe(chunks=events)
        )

        def compressed(flush_each: bool) -> ClientView:
            compressor = zlib.compressobj(wbits=31 if encoding == b"gzip" else 15)
            chunks = []
            for seq, data in events:
                out = compressor.compress(data)
                if flush_each:
                    out += compressor.flush(zlib.Z_SYNC_FLUSH)
                chunks.append((seq + 1, out))
            chunks.append((10, compressor.flush()))
            return response(*chunks, complete=10, headers=[(b"content-encoding", encoding)])

        # Flushed per event: each event decodes before the next is produced.
        assert codes(outcome(view=compressed(True), endpoint=probe(chunks=events)), bare, sse=True) == []
        # Compressed but held in the compressor: bytes arrive, the event does not.
        assert codes(outcome(view=compressed(False), endpoint=probe(chunks=events)), bare, sse=True) == [
            "stream-buffered"
        ]


class TestResponseLost:
    @pytest.mark.parametrize(("start", "state"), [(None, "never started"), (1, "never finished")])
    def test_a_response_completed_bare_but_not_behind_the_stack_is_lost(self, start: int | None, state: str) -> None:
        stack = outcome(view=response(start=start, complete=None))
        (finding,) = compare_outcomes(stack, outcome(), instrumented=False, sse=False)
        assert finding.code == "response-lost-behind-stack"
        assert finding.message == f"the bare app completed the response; behind the stack it {state}"

    def test_not_lost_when_the_client_left(self) -> None:
        stack = outcome(case=LEFT, view=response(complete=None), disconnect_seq=3)
        assert codes(stack, outcome(case=LEFT), instrumented=False) == []

    def test_uninstrumented_apps_compare_only_the_response(self) -> None:
        """A route target has no probe: a different body read is not a finding there."""
        stack = outcome(endpoint=probe(body=bytearray(b"x"), body_end="complete"))
        assert codes(stack, outcome(), instrumented=False) == []


def test_a_body_transcoded_with_its_content_type_is_not_altered() -> None:
    """msgpack-asgi hands the endpoint JSON for a msgpack body and says so in the content-type.

    That is the middleware's purpose (confirmed on uvicorn by the triage); the
    same change without a new content-type is still a finding.
    """
    msgpack = ((b"content-type", b"application/x-msgpack"),)
    json = ((b"content-type", b"application/json"),)
    bare = outcome(endpoint=probe(body=bytearray(b"\x80"), body_end="complete", content_headers=msgpack))
    transcoded = outcome(endpoint=probe(body=bytearray(b"{}"), body_end="complete", content_headers=json))
    assert codes(transcoded, bare) == []
    silently = outcome(endpoint=probe(body=bytearray(b"{}"), body_end="complete", content_headers=msgpack))
    assert codes(silently, bare) == ["request-body-altered"]
