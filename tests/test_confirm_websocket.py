"""``asgifuzz confirm`` replays websocket cases on real servers (uvicorn, hypercorn) with a wsproto client."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgifuzz._case import Action, Case, WsClose, WsText
from asgifuzz._corpus import CorpusCase
from asgifuzz.confirm import confirm_case, installed_servers
from asgifuzz.confirm._ws_client import WsClientView

pytestmark = pytest.mark.slow

APPS = '''
async def sends_before_accept(scope, receive, send):
    await receive()
    await send({"type": "websocket.send", "text": "too early"})


async def returns_at_once(scope, receive, send):
    await receive()


async def raises_on_text(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    raise LookupError(f"cannot handle {message.get('text')!r}")


async def echo(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})
'''

SERVERS = [s for s in ("uvicorn", "hypercorn") if s in installed_servers()]


@pytest.fixture
def apps_dir(tmp_path: Path) -> Path:
    if not SERVERS:
        pytest.skip("neither uvicorn nor hypercorn is installed")
    (tmp_path / "ws_confirm_apps.py").write_text(APPS)
    return tmp_path


def _cc(app: str, expect: str, actions: tuple[Action, ...] = (WsText("hi"), WsClose(1000))) -> CorpusCase:
    scope = {"type": "websocket", "path": "/ws", "query_string": b"", "headers": [], "subprotocols": []}
    case = Case(target="route WEBSOCKET /ws", scope=scope, body=b"", actions=actions)
    return CorpusCase(case=case, app=f"ws_confirm_apps:{app}", invariant=expect, expect=expect)


@pytest.mark.parametrize(
    ("app", "expect"),
    [
        ("sends_before_accept", "websocket-send-before-accept"),
        ("returns_at_once", "websocket-handshake-incomplete"),
        ("raises_on_text", "app-raised"),
    ],
)
def test_websocket_finding_is_confirmed(apps_dir: Path, app: str, expect: str) -> None:
    verdicts = confirm_case(_cc(app, expect), servers=SERVERS, tries=1, timeout=2.0, app_dir=str(apps_dir))
    assert [v.outcome for v in verdicts] == ["confirmed"] * len(SERVERS), [(v.label, v.reason) for v in verdicts]
    for v in verdicts:
        assert isinstance(v.client, WsClientView)
    if expect == "app-raised":
        assert all(v.exception is not None and "LookupError" in v.exception for v in verdicts)


def test_correct_echo_is_not_reproduced_and_echoes(apps_dir: Path) -> None:
    verdicts = confirm_case(
        _cc("echo", "websocket-send-before-accept"), servers=SERVERS, tries=1, timeout=2.0, app_dir=str(apps_dir)
    )
    for v in verdicts:
        assert v.outcome == "not-reproduced", (v.label, v.reason)
        assert isinstance(v.client, WsClientView)
        assert v.client.received == [("text", "hi")]
        assert v.client.server_closed and v.client.close_code == 1000
