"""``asgifuzz confirm``: corpus cases replayed on real servers over loopback sockets.

Three layers: the raw HTTP/1.1 client against a scripted socket server (exact
bytes both ways), ``confirm_case`` against uvicorn with hand-written apps (one
per reproduction rule), and the acceptance test: the committed seed case is
confirmed under uvicorn on starlette 0.37.2 and not on the fixed 0.38.3.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from asgifuzz._case import Action, Case, Chunk, Disconnect, Run
from asgifuzz._corpus import load_case
from asgifuzz.cli import main
from asgifuzz.confirm import ClientView, confirm_case, replay_over_socket
from asgifuzz.confirm._client import build_request_head
from asgifuzz.confirm._logs import app_exception, condense, protocol_markers

ROOT = Path(__file__).resolve().parent.parent
SEED_CASE = ROOT / "corpus" / "exception-on-disconnect-b9d3198dad6d.json"


def make_case(
    method: str = "GET",
    path: str = "/",
    body: bytes = b"",
    actions: tuple[Action, ...] = (),
    headers: list[tuple[bytes, bytes]] | None = None,
    query: bytes = b"",
) -> Case:
    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers or []}
    return Case(target="app", scope=scope, body=body, actions=actions)


# ------------------------------------------------------ a scripted socket server


@contextmanager
def scripted_server(
    reply: bytes, *, until: Callable[[bytes], bool] | None = None, hold: float = 0.0
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Accept one connection, read until ``until(data)`` (default: the end of the head) or EOF,
    write ``reply``, wait ``hold`` seconds, close.  Yields the port and what was read."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen: dict[str, Any] = {"data": b"", "eof": False}
    done = until or (lambda data: b"\r\n\r\n" in data)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            while not done(seen["data"]):
                chunk = conn.recv(65536)
                if not chunk:
                    seen["eof"] = True
                    break
                seen["data"] += chunk
            conn.sendall(reply)
            time.sleep(hold)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        thread.join(5)
        listener.close()


def fetch(reply: bytes, case: Case | None = None, **kwargs: Any) -> ClientView:
    timeout = kwargs.pop("timeout", 2.0)
    with scripted_server(reply, **kwargs) as (port, _):
        return replay_over_socket(case or make_case(), port, timeout=timeout)


class TestRawClient:
    def test_content_length_response_is_complete(self) -> None:
        view = fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        assert (view.status, view.body, view.framing, view.complete) == (200, b"hello", "content-length", True)
        assert not view.timed_out and view.error is None

    def test_chunked_response_with_extensions_and_trailers_is_complete(self) -> None:
        view = fetch(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
        )
        assert (view.body, view.framing, view.complete) == (b"abcde", "chunked", True)

    def test_close_delimited_response_completes_when_the_server_closes(self) -> None:
        view = fetch(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        assert (view.body, view.framing, view.complete, view.server_closed) == (b"until the end", "close", True, True)

    def test_short_body_is_truncated(self) -> None:
        view = fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
        assert (view.body, view.complete, view.timed_out, view.server_closed) == (b"hello", False, False, True)
        assert "truncated" in view.summary()

    def test_chunked_response_without_terminator_is_truncated(self) -> None:
        view = fetch(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        assert (view.body, view.framing, view.complete) == (b"abc", "chunked", False)

    def test_silence_is_a_timeout(self) -> None:
        view = fetch(b"", hold=0.8, timeout=0.3)
        assert view.status is None and view.timed_out
        assert view.summary() == "no response before the deadline"

    def test_a_response_that_keeps_coming_is_not_stalled_however_long_it_takes(self) -> None:
        """sse-starlette's stream of 5 events a second apart was called stalled by a fixed 5 s bound."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in range(5):
                    time.sleep(0.2)
                    conn.sendall(b"5\r\ntick\n\r\n")
                conn.sendall(b"0\r\n\r\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            view = replay_over_socket(make_case(), listener.getsockname()[1], timeout=0.5)
        finally:
            thread.join(5)
            listener.close()
        assert (view.complete, view.timed_out, view.body) == (True, False, b"tick\n" * 5)
        assert view.elapsed >= 1.0

    def test_interim_responses_are_skipped(self) -> None:
        view = fetch(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        assert (view.interim, view.status, view.framing, view.complete) == ((100,), 204, "none", True)

    def test_garbage_is_an_invalid_response(self) -> None:
        view = fetch(b"SMTP ready\r\n\r\n")
        assert view.error is not None and view.error.startswith("invalid response: invalid status line")

    def test_head_adds_host_and_content_length_and_keeps_the_scope_headers(self) -> None:
        case = make_case("POST", "/p", b"abc", headers=[(b"x-a", b"1")], query=b"q=1")
        head, chunked = build_request_head(case, "127.0.0.1:1234")
        assert head == b"POST /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:1234\r\nx-a: 1\r\ncontent-length: 3\r\n\r\n"
        assert not chunked

    def test_a_header_with_crlf_cannot_be_sent(self) -> None:
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            build_request_head(make_case(headers=[(b"x", b"a\r\nInjected: 1")]), "h")

    def test_chunked_request_sends_one_frame_per_case_chunk_then_the_rest(self) -> None:
        case = make_case(
            "POST", body=b"abcdefghij", actions=(Chunk(3), Run(), Chunk(4)),
            headers=[(b"host", b"t"), (b"transfer-encoding", b"chunked")],
        )  # fmt: skip
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        with scripted_server(reply, until=lambda d: d.endswith(b"0\r\n\r\n")) as (port, seen):
            view = replay_over_socket(case, port, timeout=2)
        assert seen["data"].split(b"\r\n\r\n", 1)[1] == b"3\r\nabc\r\n4\r\ndefg\r\n3\r\nhij\r\n0\r\n\r\n"
        assert view.complete and view.sent == 10

    def test_disconnect_mid_body_half_closes_and_still_reads_the_reply(self) -> None:
        case = make_case("POST", body=b"0123456789", actions=(Chunk(4), Disconnect(), Chunk(6)))
        reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbye"
        with scripted_server(reply, until=lambda d: False) as (port, seen):
            view = replay_over_socket(case, port, timeout=2)
        assert seen["eof"] and seen["data"].endswith(b"content-length: 10\r\n\r\n0123")
        assert (view.disconnected, view.sent, view.status, view.body) == (True, 4, 400, b"bye")


# ---------------------------------------------------------------- log reading

SEED_LOG = """\
ERROR:    Exception in ASGI application
  + Exception Group Traceback (most recent call last):
  |   File "starlette/_utils.py", line 87, in collapse_excgroups
  |     yield
  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "starlette/middleware/base.py", line 166, in call_next
    |     raise RuntimeError("No response returned.")
    | RuntimeError: No response returned.
    +------------------------------------
""".splitlines()


def test_log_reading_finds_the_app_exception_inside_an_exception_group() -> None:
    assert app_exception(SEED_LOG) == "RuntimeError: No response returned."
    assert not any("File " in line or "raise " in line for line in condense(SEED_LOG))


def test_granians_own_500_for_an_app_that_sent_nothing_reproduces_response_incomplete() -> None:
    from asgifuzz.confirm._rules import RULES, Evidence

    def view(body: bytes, headers: tuple[tuple[str, str], ...]) -> ClientView:
        return ClientView(status=500, reason="Internal Server Error", headers=headers, body=body, framing="content-length",
                          complete=True)  # fmt: skip

    granian = (("server", "granian"), ("content-length", "21"))
    rule = RULES["response-incomplete"]
    assert rule(Evidence(view(b"Internal server error", granian), ()))[0] == "reproduced"
    # The app's own 500 (a content type, Starlette's text) is a response the app sent.
    app_500 = (*granian, ("content-type", "text/plain; charset=utf-8"))
    assert rule(Evidence(view(b"Internal Server Error", app_500), ()))[0] == "not-reproduced"


def test_protocol_error_is_shown_by_its_exception_line_not_the_raise_statement() -> None:
    log = [
        "ERROR:    Exception in ASGI application",
        "Traceback (most recent call last):",
        '  File "uvicorn/protocols/http/h11_impl.py", line 519, in send',
        "    raise RuntimeError(f\"Expected ASGI message 'http.response.body', but got '{message['type']}'.\")",
        "RuntimeError: Expected ASGI message 'http.response.body', but got 'http.response.start'.",
    ]
    assert protocol_markers(log)[0] == log[-1]


# ------------------------------------------------- uvicorn with hand-written apps

APPS = """
import asyncio


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def app(handler):
    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        await handler(receive, send)
    return asgi


async def _start(send, headers=()):
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})


@app
async def raises(receive, send):
    raise LookupError("raised before the response")


@app
async def double_start(receive, send):
    await _start(send)
    await _start(send)


@app
async def incomplete(receive, send):
    await _start(send)
    await send({"type": "http.response.body", "body": b"part", "more_body": True})


@app
async def hangs(receive, send):
    await asyncio.Event().wait()


@app
async def streams(receive, send):
    await _start(send)
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@app
async def echo_sizes(receive, send):
    sizes = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError(f"client left after {sizes}")
        sizes.append(len(message.get("body", b"")))
        if not message.get("more_body"):
            break
    body = ",".join(map(str, sizes)).encode()
    await _start(send, [(b"content-length", str(len(body)).encode())])
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture
def apps_dir(tmp_path: Path) -> Path:
    pytest.importorskip("uvicorn")
    (tmp_path / "confirm_apps.py").write_text(APPS)
    return tmp_path


def case_file(folder: Path, app: str, expect: str, case: Case, **saved: Any) -> Path:
    doc = {
        "format": 1, "asgifuzz": "0.1.0", "app": f"confirm_apps:{app}", "target": "app /",
        "invariant": expect, "expect": {"violation": expect},
        "scope": {**case.scope, "query_string": "", "headers": [[n.decode(), v.decode()] for n, v in case.scope["headers"]]},
        "body": case.body.decode("latin-1"),
        "actions": [_action_json(a) for a in case.actions],
        "backend": "asyncio", "profile": "uvicorn", "schedule_seed": 0, "differential": False, **saved,
    }  # fmt: skip
    path = folder / f"{expect}-{app}.json"
    path.write_text(json.dumps(doc))
    return path


def _action_json(action: Action) -> dict[str, Any]:
    if isinstance(action, Chunk):
        return {"op": "chunk", "size": action.size}
    if isinstance(action, Disconnect):
        return {"op": "disconnect"}
    return {"op": "run"}


def confirm_on_uvicorn(folder: Path, app: str, expect: str, case: Case | None = None, timeout: float = 3.0) -> Any:
    cc = load_case(case_file(folder, app, expect, case or make_case()))
    [verdict] = confirm_case(cc, servers=["uvicorn"], tries=1, timeout=timeout)
    return verdict


@pytest.mark.parametrize(
    ("app", "expect", "evidence"),
    [
        ("raises", "app-raised", "LookupError: raised before the response"),
        ("double_start", "duplicate-response-start", "Expected ASGI message"),
        ("incomplete", "response-incomplete", "returned without completing response"),
    ],
)
def test_uvicorn_confirms_by_its_log(apps_dir: Path, app: str, expect: str, evidence: str) -> None:
    verdict = confirm_on_uvicorn(apps_dir, app, expect)
    assert verdict.outcome == "confirmed", verdict
    assert verdict.verdict.startswith("confirmed on uvicorn ") and verdict.verdict.endswith("(1/1 tries)")
    assert evidence in verdict.reason + "\n".join(verdict.log)


def test_uvicorn_hang_is_no_response_within_the_timeout(apps_dir: Path) -> None:
    verdict = confirm_on_uvicorn(apps_dir, "hangs", "app-hang", timeout=0.5)
    assert verdict.confirmed and verdict.client.timed_out and verdict.client.status is None


def test_a_correct_streaming_app_is_not_reproduced_and_reads_completely(apps_dir: Path) -> None:
    verdict = confirm_on_uvicorn(apps_dir, "streams", "app-raised")
    assert verdict.outcome == "not-reproduced"
    assert "in-process only" in verdict.verdict
    client = verdict.client
    assert (client.status, client.body, client.framing, client.complete) == (200, b"one two three", "chunked", True)


def test_a_miss_on_a_server_the_case_did_not_imitate_is_not_called_in_process_only(apps_dir: Path) -> None:
    # Found under the hypercorn profile: uvicorn not showing it says nothing about the finding.
    cc = load_case(case_file(apps_dir, "streams", "app-raised", make_case(), profile="hypercorn"))
    [verdict] = confirm_case(cc, servers=["uvicorn"], tries=1, timeout=3.0)
    assert verdict.outcome == "not-reproduced"
    assert "another server's behaviour" in verdict.verdict and "in-process only" not in verdict.verdict
    # A knob no real server has exactly is said once, as a note of the case.
    raised = {"server": {"send-after-disconnect": "raise"}}
    cc = load_case(case_file(apps_dir, "streams", "app-raised", make_case(), **raised))
    [verdict] = confirm_case(cc, servers=["uvicorn"], tries=1, timeout=3.0)
    assert any("uvicorn+send-after-disconnect=raise" in note for note in verdict.notes), verdict.notes
    assert "another server's behaviour" in verdict.verdict


def test_uvicorn_delivers_the_case_chunks_separately(apps_dir: Path) -> None:
    case = make_case("POST", body=b"abcdefg", actions=(Chunk(3), Run(), Chunk(4)))
    verdict = confirm_on_uvicorn(apps_dir, "echo_sizes", "app-raised", case)
    assert verdict.client.body == b"3,4" and verdict.outcome == "not-reproduced"


def test_uvicorn_disconnect_mid_body_reaches_the_app(apps_dir: Path) -> None:
    case = make_case("POST", body=b"abcdefg", actions=(Chunk(2), Run(), Disconnect()))
    verdict = confirm_on_uvicorn(apps_dir, "echo_sizes", "exception-on-disconnect", case)
    assert verdict.confirmed
    assert verdict.exception == "ConnectionAbortedError: client left after [2]"
    assert verdict.client.disconnected and verdict.client.sent == 2


# ------------------------------------------------------------- the command line


def test_missing_file_is_bad_input_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["confirm", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("asgifuzz: error: ") and "no such file" in err


def test_corrupt_case_is_bad_input_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "app": ')
    assert main(["confirm", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid JSON" in err and "Traceback" not in err


def test_no_server_installed_hints_at_pip(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("asgifuzz.confirm._confirm.installed_servers", lambda python: {})
    assert main(["confirm", str(SEED_CASE)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install uvicorn" in err


# ------------------------------------------------ acceptance: the seed bug, for real


@pytest.mark.parametrize(("venv", "status", "verdict"), [
    ("starlette-0.37.2", 1, "confirmed on uvicorn "),
    ("starlette-0.38.3", 0, "not reproduced on uvicorn "),
])  # fmt: skip
def test_seed_case_is_confirmed_on_uvicorn_only_before_the_fix(
    venv: str, status: int, verdict: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from oldreleases import venv_python

    python = str(venv_python(venv))
    assert main(["confirm", str(SEED_CASE), "--server", "uvicorn", "--python", python]) == status
    out = capsys.readouterr().out
    assert verdict in out
    assert ("app exception: RuntimeError: No response returned." in out) == (status == 1)
