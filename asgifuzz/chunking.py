"""Chunking invariance (issue 12, class 4): the same request in one chunk must get the same response.

For each example whose body reached the app in several pieces (or late),
the same request is run again with its whole body in one chunk, the client
staying until the response is complete.  The responses are compared by
``checks.chunking``.  Only when they differ is the reference run a second
time: if the two one-chunk runs disagree on the status or the body, the
route's answer is not deterministic, the route is skipped from then on and
the coverage table says so (``Target.nondeterministic``); headers that
differ between them are left out of the comparison.  A difference is
reported only if the chunked request, run again after the references, still
differs and a last one-chunk run still answers as the first: a route with
state (a cache, a rate limiter) answers by what came before, not by chunking.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from asgifuzz._finding import Finding

if TYPE_CHECKING:
    from asgifuzz._case import Case
    from asgifuzz._config import Settings
    from asgifuzz._types import ASGIApp
    from asgifuzz.server.driver import Outcome

__all__ = ("NONDETERMINISTIC", "chunking_findings", "pieces")

#: The key, among a route's status counts (``Stats.statuses``), of the examples the chunking
#: oracle skipped because the route answers one request two ways by itself.
NONDETERMINISTIC = "skipped:nondeterministic"


def pieces(case: Case) -> tuple[int, bool]:
    """How many pieces the client sent its body in, and whether it paused before the body was all sent."""
    from asgifuzz._case import Advance, Chunk, Disconnect, Run

    sent, count, paused = 0, 0, False
    for action in case.actions:
        if isinstance(action, Chunk):
            step = max(0, min(action.size, len(case.body) - sent))
            if step:
                sent += step
                count += 1
        elif isinstance(action, Advance | Run) and sent < len(case.body):
            paused = True  # the app ran (or time passed) with the body not all there
        elif isinstance(action, Disconnect):
            break
    if sent < len(case.body):
        count += 1  # the rest, when the script ends
    return count, paused


def chunking_findings(
    app: ASGIApp, outcome: Outcome, settings: Settings, nondeterministic: set[str], label: str
) -> list[Finding]:
    """``response-depends-on-chunking`` for ``outcome`` (see the module docstring)."""
    from asgifuzz._case import Chunk, Disconnect
    from asgifuzz.background import watching_app_tasks
    from asgifuzz.checks.chunking import IGNORED_HEADERS, differences, varying_headers
    from asgifuzz.checks.invariants import RESPONSE_DEPENDS_ON_CHUNKING
    from asgifuzz.server.driver import run_case

    case = outcome.case
    count, paused = pieces(case)
    if label in nondeterministic or (count < 2 and not paused):
        return []
    if any(isinstance(a, Disconnect) for a in case.actions) or outcome.disconnect_seq is not None:
        return []
    if outcome.response.delivered_seq is None or outcome.response.status == 408:  # (a timeout is about time)
        return []
    one = replace(case, actions=(Chunk(len(case.body)),) if case.body else ())
    with watching_app_tasks():
        reference = run_case(app, one, settings)
    if reference.findings or reference.response.delivered_seq is None:
        return []
    if not differences(outcome.response, reference.response):
        return []
    with watching_app_tasks():
        again = run_case(app, one, settings)
    ignored = IGNORED_HEADERS | varying_headers(reference.response, again.response)
    if differences(reference.response, again.response, ignored):
        nondeterministic.add(label)  # its answer to one request changes by itself: not comparable
        return []
    found = differences(outcome.response, reference.response, ignored)
    if not found:
        return []
    # A route that keeps state answers a request by what came before it (a cache's MISS then HIT, a
    # rate limiter's count): the chunked request ran first.  So the chunked request must still differ
    # when run again after the references, and the reference must still answer as it did (false
    # response-depends-on-chunking on fastapi-cache2 and asgi-ratelimit, confirmed so on uvicorn).
    with watching_app_tasks():
        chunked_again = run_case(app, case, settings)
    if not differences(chunked_again.response, reference.response, ignored):
        return []
    with watching_app_tasks():
        last = run_case(app, one, settings)
    if differences(reference.response, last.response, ignored):
        return []
    how = f"in {count} piece(s)" + (" with pauses" if paused else "")
    message = (
        f"the same request got another response when its {len(case.body)}-byte body came {how} "
        f"than in one chunk: " + "; ".join(found)
    )
    return [
        Finding(
            RESPONSE_DEPENDS_ON_CHUNKING,
            message,
            where="response",
            trace=outcome.trace,
            case=case,
            reference_trace=reference.trace,
        )
    ]
