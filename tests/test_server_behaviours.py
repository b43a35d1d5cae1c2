"""Server behaviours explored by default: drawn per example, recorded in the case, named in findings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import find as hypothesis_find, settings

from asgifuzz import CorpusError, fuzz
from asgifuzz._case import Case, Chunk, Disconnect, Run, case_from_json, case_to_json
from asgifuzz._corpus import load_case, save_finding
from asgifuzz.server.driver import run_case
from asgifuzz.server.profiles import KNOBS, PROFILES, behaviour_label, resolve_profile
from asgifuzz.strategies import server_behaviours
from asgifuzz.strategies._server import Behaviour

Scope = dict[str, Any]

GET: Scope = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"t")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 2),
}


def test_spec_version_follows_what_send_does_after_the_disconnect() -> None:
    # Starlette picks its disconnect strategy from spec_version: the two must agree.
    raising = resolve_profile("uvicorn", (("send-after-disconnect", "raise"),))
    assert raising.send_after_disconnect == "raise" and raising.spec_version == "2.4"
    quiet = resolve_profile("strict", (("send-after-disconnect", "noop"),))
    assert quiet.send_after_disconnect == "noop" and quiet.spec_version == "2.3"
    daphne = resolve_profile("daphne", (("body-events", "merge"),))
    assert daphne.receive_mode == "merge" and daphne.rechunk is None and daphne.spec_version is None


def test_unknown_knobs_are_usage_errors() -> None:
    from asgifuzz import UsageError

    with pytest.raises(UsageError):
        resolve_profile("uvicorn", (("send-after-disconnect", "explode"),))


def test_cases_carry_their_knobs_and_old_corpus_files_still_load() -> None:
    case = Case(target="t", scope=GET, body=b"", actions=(Run(),), profile="hypercorn",
                server=(("send-after-disconnect", "raise"),))  # fmt: skip
    doc = case_to_json(case)
    assert doc["server"] == {"send-after-disconnect": "raise"}
    assert case_from_json(doc) == case
    old = case_to_json(Case(target="t", scope=GET, body=b"", actions=()))
    assert "server" not in old  # the content hash of every older case is unchanged
    assert case_from_json(old).server == ()
    with pytest.raises(CorpusError, match="server"):
        case_from_json({**doc, "server": {"send-after-disconnect": "sometimes"}})


def find(strategy: Any, condition: Callable[[Any], bool]) -> Any:
    """Hypothesis' ``find`` without the example database: a saved example from an older run is not the minimum."""
    return hypothesis_find(strategy, condition, settings=settings(database=None))


def _is_profile(name: str) -> Callable[[Behaviour], bool]:
    return lambda behaviour: behaviour[0] == name


def _overrides(knob: str, value: str) -> Callable[[Behaviour], bool]:
    return lambda behaviour: (knob, value) in behaviour[1]


def test_behaviours_are_drawn_and_shrink_to_plain_uvicorn() -> None:
    assert find(server_behaviours(), lambda b: True) == ("uvicorn", ())
    for name in PROFILES:
        assert find(server_behaviours(), _is_profile(name)) == (name, ())
    assert find(server_behaviours("daphne"), lambda b: True) == ("daphne", ())


def test_every_knob_value_is_reachable() -> None:
    seen: set[tuple[str, str]] = set()
    for knob, values in KNOBS.items():
        for value in values:
            try:
                found = find(server_behaviours(), _overrides(knob, value))
            except Exception:
                continue  # the value of every profile drawn (never an override)
            seen |= set(found[1])
    assert {("send-after-disconnect", "raise"), ("receive-after-disconnect", "block")} <= seen
    assert {("body-events", v) for v in ("merge", "chunks", "chunks+empty", "buffered")} <= seen


# -- a middleware whose sender dies on the spec-2.4 OSError and leaves the app waiting


def forwarder(app: Any, *, correct: bool) -> Any:
    """Forwards the app's messages to the server through a task (as a response-rewriting layer might).

    The buggy one stops forwarding when ``send()`` raises the client-gone
    OSError but leaves the channel open: the app's next ``send()`` waits
    forever.  The correct one closes the channel, and drops what the app
    sends afterwards.
    """

    async def middleware(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        tx, rx = anyio.create_memory_object_stream[dict[str, Any]](0)

        async def forward() -> None:
            async with rx if correct else contextlib.nullcontext(rx):
                try:
                    async for message in rx:
                        await send(message)
                except OSError:
                    return

        async def app_send(message: dict[str, Any]) -> None:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await tx.send(message)  # fails once the client has gone: nothing to deliver

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(forward)
                async with tx:
                    await app(scope, receive, app_send)
        finally:
            rx.close()  # once the app is done (or cancelled): anyio warns about unclosed streams

    return middleware


async def streamer(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for i in range(3):
        await send({"type": "http.response.body", "body": b"part %d\n" % i, "more_body": True})
        await anyio.sleep(1)
    await send({"type": "http.response.body", "body": b""})


def test_the_forwarder_hangs_only_on_a_server_that_raises_after_the_disconnect() -> None:
    app = forwarder(streamer, correct=False)
    actions = (Run(), Disconnect())
    for name in ("uvicorn", "hypercorn", "daphne"):
        assert run_case(app, Case(target="t", scope=GET, body=b"", actions=actions, profile=name)).findings == []
    out = run_case(app, Case(target="t", scope=GET, body=b"", actions=actions, profile="strict"))
    assert [f.code for f in out.findings] == ["app-hang"]


def test_exploration_finds_it_and_names_the_behaviours_under_which_it_shows(tmp_path: Path) -> None:
    result = fuzz(forwarder(streamer, correct=False), paths=["GET /"], max_examples=300, seed=3)
    hangs = [f for f in result.findings if f.code == "app-hang"]
    assert hangs, [(f.code, f.message) for f in result.findings]
    shows = hangs[0].behaviours
    assert "strict" in shows and behaviour_label("uvicorn", (("send-after-disconnect", "raise"),)) in shows
    assert not {"uvicorn", "hypercorn", "daphne"} & set(shows)
    # Its minimal case goes through a corpus file and still hangs (the file carries the behaviour).
    saved = load_case(save_finding(hangs[0], "m:app", tmp_path)).case
    assert saved.server or saved.profile != "uvicorn"
    assert [f.code for f in run_case(forwarder(streamer, correct=False), saved).findings] == ["app-hang"]
    # Pinned to uvicorn, the same run sees nothing.
    assert fuzz(forwarder(streamer, correct=False), paths=["GET /"], max_examples=150, seed=3, profile="uvicorn").findings == []


def test_the_correct_forwarder_is_clean_under_every_behaviour() -> None:
    result = fuzz(forwarder(streamer, correct=True), paths=["GET /"], max_examples=300, seed=3)
    assert result.findings == [], [(f.code, f.message, f.behaviours) for f in result.findings]
    assert len(result.stats.behaviours) > 4  # profiles and knobs were really explored


def test_body_events_knob_changes_what_receive_hands_out() -> None:
    seen: list[dict[str, Any]] = []

    async def reads(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return  # no lifespan support: the fake server goes on without it, as uvicorn's "auto"
        while True:
            message = await receive()
            seen.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    post = {**GET, "method": "POST", "headers": [(b"host", b"t"), (b"content-length", b"4")]}
    case = Case(target="t", scope=post, body=b"abcd", actions=(Chunk(2), Run(), Chunk(2), Run()),
                server=(("body-events", "chunks+empty"),))  # fmt: skip
    run_case(reads, case)
    assert [(m.get("body"), m.get("more_body")) for m in seen] == [(b"ab", True), (b"cd", True), (b"", False)], seen
