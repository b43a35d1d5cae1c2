"""Websocket: the fake server plays the protocol as real servers do, and every invariant catches a broken app."""

from __future__ import annotations

from typing import Any

import pytest
import ws_apps

from asgifuzz import fuzz, run_case
from asgifuzz._case import Case, Disconnect, Run, WsBytes, WsClose, WsText, case_from_json, case_to_json
from asgifuzz._config import Backend
from asgifuzz.server.signals import ClientDisconnected

BACKENDS = ["asyncio", "trio"]
SCOPE: dict[str, Any] = {
    "type": "websocket",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver")],
    "subprotocols": ["chat"],
    "extensions": {"websocket.http.response": {}},
}

#: invariant code -> (app, fuzz options); the search must find it (and nothing else leads).
WEBSOCKET_CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "websocket-unknown-message-type": (ws_apps.http_start_on_websocket, {}),
    "websocket-send-before-accept": (ws_apps.sends_before_accept, {}),
    "websocket-duplicate-accept": (ws_apps.accepts_twice, {}),
    "websocket-message-after-close": (ws_apps.sends_after_close, {}),
    "websocket-denial-order": (ws_apps.denial_body_first, {}),
    "websocket-invalid-message": (ws_apps.text_and_bytes, {}),
    "websocket-invalid-close": (ws_apps.closes_with_1006, {}),
    "websocket-subprotocol-not-offered": (ws_apps.always_chat, {}),
    "websocket-handshake-incomplete": (ws_apps.returns_before_handshake, {}),
    "websocket-not-closed": (ws_apps.returns_open, {}),
    "websocket-receive-after-disconnect": (ws_apps.keeps_receiving, {}),
}


def _run(app: Any, *actions: Any, backend: Backend = "asyncio", profile: str = "uvicorn", **scope: Any) -> Any:
    return run_case(
        app, Case(target="t", scope={**SCOPE, **scope}, body=b"", actions=actions, backend=backend, profile=profile)
    )


def _received(outcome: Any) -> list[dict[str, Any]]:
    return [e.message for e in outcome.trace if e.kind == "receive"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("code", sorted(WEBSOCKET_CASES))
def test_websocket_invariant_catches_broken_app(code: str, backend: str) -> None:
    app, options = WEBSOCKET_CASES[code]
    result = fuzz(app, paths=["WEBSOCKET /"], max_examples=200, seed=1, backend=backend, exitfirst=True, **options)
    assert [f.code for f in result.findings] == [code], [(f.code, f.message) for f in result.findings]
    assert result.findings[0].case is not None and result.findings[0].case.scope["type"] == "websocket"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("app", [ws_apps.echo, ws_apps.greets_and_closes, ws_apps.closes_before_accept_with_1006])
@pytest.mark.parametrize("profile", ["uvicorn", "hypercorn", "daphne", "strict"])
def test_correct_websocket_apps_stay_clean(app: Any, backend: str, profile: str) -> None:
    result = fuzz(app, paths=["WEBSOCKET /"], max_examples=150, seed=2, backend=backend, profile=profile)
    assert result.findings == [], [(f.code, f.message) for f in result.findings]


@pytest.mark.parametrize("backend", BACKENDS)
def test_client_frames_wait_for_the_accept_then_arrive_in_order(backend: Backend) -> None:
    out = _run(ws_apps.echo, WsText("a"), WsBytes(b"b"), Run(), WsClose(4000, "bye"), backend=backend)
    assert _received(out) == [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "a"},
        {"type": "websocket.receive", "bytes": b"b"},
        {"type": "websocket.disconnect", "code": 4000, "reason": "bye"},
    ]
    assert out.response.status == 101 and out.response.subprotocol == "chat"
    assert [(k, d) for _, k, d in out.response.frames] == [("text", "a"), ("bytes", b"b")]
    assert out.findings == []


@pytest.mark.parametrize(("profile", "code", "reason"), [("uvicorn", 1005, True), ("hypercorn", 1006, False)])
def test_lost_connection_and_close_without_code(profile: str, code: int, reason: bool) -> None:
    lost = _run(ws_apps.echo, Run(), Disconnect(), profile=profile)
    assert _received(lost)[-1] == {"type": "websocket.disconnect", "code": code}
    no_code = _run(ws_apps.echo, Run(), WsClose(None, ""), profile=profile)
    assert _received(no_code)[-1] == {
        "type": "websocket.disconnect",
        "code": 1005,
        **({"reason": ""} if reason else {}),
    }


def test_close_before_accept_is_403_and_queues_1006() -> None:
    seen: list[Any] = []

    @ws_apps.ws_only
    async def rejects_then_receives(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1000})
        seen.append(await receive())

    out = _run(rejects_then_receives)
    assert out.response.status == 403 and out.findings == []
    assert seen == [{"type": "websocket.disconnect", "code": 1006}]


@pytest.mark.parametrize(
    ("profile", "raises"), [("uvicorn", True), ("strict", True), ("hypercorn", False), ("daphne", False)]
)
def test_send_after_the_client_left(profile: str, raises: bool) -> None:
    errors: list[BaseException] = []

    @ws_apps.ws_only
    async def sends_late(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "late"})
        except ClientDisconnected as exc:
            errors.append(exc)

    out = _run(sends_late, Run(), WsClose(1000, ""), profile=profile)
    assert bool(errors) == raises and isinstance(ClientDisconnected(), OSError)
    assert out.findings == []


def test_the_app_close_code_comes_back_in_the_disconnect() -> None:
    got: dict[str, Any] = {}

    @ws_apps.ws_only
    async def closes_then_receives(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4003, "reason": "x"})
        got[scope["asgi"].get("spec_version", "")] = await receive()

    _run(closes_then_receives, profile="uvicorn")
    _run(closes_then_receives, profile="hypercorn")
    assert got == {
        "2.4": {"type": "websocket.disconnect", "code": 4003, "reason": "x"},
        "2.3": {"type": "websocket.disconnect", "code": 1000},
    }


def test_denial_response_only_where_advertised() -> None:
    @ws_apps.ws_only
    async def denies(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no"})

    ok = _run(denies)
    assert ok.findings == [] and ok.response.status == 401 and ok.response.body == b"no"
    bad = _run(denies, extensions={})
    assert [f.code for f in bad.findings][:1] == ["websocket-unknown-message-type"]


def test_starlette_websocket_disconnect_after_the_client_left_is_not_a_finding() -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def docs_example(websocket: Any) -> None:  # FastAPI's first websocket example: no try/except
        await websocket.accept()
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Message text was: {data}")

    app = Starlette(routes=[WebSocketRoute("/ws", docs_example)])
    out = _run(app, WsText("hi"), Run(), WsClose(1001, ""), path="/ws", raw_path=b"/ws")
    assert out.findings == [] and [d for _, _, d in out.response.frames] == ["Message text was: hi"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_exception_because_the_client_closed(backend: str) -> None:
    result = fuzz(ws_apps.raises_on_disconnect, paths=["WEBSOCKET /"], max_examples=100, seed=1, backend=backend)
    assert [f.code for f in result.findings] == ["exception-on-disconnect"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_middleware_dropping_non_http_scopes_is_found_on_the_websocket_endpoints(backend: str) -> None:
    result = fuzz(middleware=[ws_apps.DropsNonHTTP], endpoints=["ws_echo"], max_examples=50, seed=1, backend=backend)
    (finding,) = result.findings
    assert finding.code == "websocket-handshake-incomplete" and finding.case is not None
    assert finding.case.target.endswith("-> ws_echo") and finding.case.actions == ()  # shrunk to nothing


@pytest.mark.parametrize("backend", BACKENDS)
def test_middleware_losing_frames_alters_the_conversation(backend: str) -> None:
    result = fuzz(
        middleware=[ws_apps.DropsBinaryFrames], endpoints=["ws_echo"], max_examples=300, seed=1, backend=backend
    )
    (finding,) = result.findings
    assert finding.code == "websocket-conversation-altered", finding.message
    assert finding.case is not None and any(isinstance(a, WsBytes) for a in finding.case.actions)


def test_http_only_middleware_reading_status_breaks_websockets() -> None:
    result = fuzz(middleware=[ws_apps.ReadsStatus], endpoints=["ws_send_then_close"], max_examples=50, seed=1)
    assert [f.code for f in result.findings] == ["app-raised"]
    assert "KeyError" in result.findings[0].message


@pytest.mark.parametrize("backend", BACKENDS)
def test_pass_through_is_clean_on_every_websocket_endpoint(backend: str) -> None:
    from asgifuzz.endpoints_ws import WS_ENDPOINTS

    result = fuzz(
        middleware=[ws_apps.PassThrough], endpoints=list(WS_ENDPOINTS), max_examples=300, seed=1, backend=backend
    )
    assert result.findings == [], [(f.code, f.message) for f in result.findings]


def test_websocket_cases_round_trip_through_json_and_replay() -> None:
    result = fuzz(ws_apps.keeps_receiving, paths=["WEBSOCKET /"], max_examples=100, seed=1)
    (finding,) = result.findings
    assert finding.case is not None
    again = case_from_json(case_to_json(finding.case))
    assert again == finding.case
    replayed = run_case(ws_apps.keeps_receiving, again)
    assert [f.code for f in replayed.findings] == ["websocket-receive-after-disconnect"]


def test_what_happened_tells_frames_and_websocket_messages() -> None:
    from asgifuzz.report.text import what_happened

    result = fuzz(ws_apps.accepts_twice, paths=["WEBSOCKET /"], max_examples=100, seed=1)
    [finding] = [f for f in result.findings if f.code == "websocket-duplicate-accept"]
    sentence = what_happened(finding)
    assert sentence.startswith("The client connected, sent "), sentence
    assert "the app sent websocket.accept x2" in sentence and "body byte" not in sentence
