"""Self-contained reproduction and CLI usage lines: the temporary corpus, replay from any directory,
``show --http``, file modes, the request line, --route, the factory hint, the trio mismatch, .gitignore."""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import APPS, asgifuzz

from asgifuzz._case import Case, Chunk, Disconnect, Run
from asgifuzz._http_script import curl_command, http_steps, render_http
from asgifuzz.report.text import request_line

SVC = '''
async def app(scope, receive, send):
    """duplicate-response-start once the body is longer than 3 bytes (a planted bug)."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    if len(body) > 3:
        await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": body})
'''


def _case(**kw: object) -> Case:
    scope = {"type": "http", "method": "POST", "path": "/up", "query_string": b"a=1",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"6")]}  # fmt: skip
    return Case(**{"target": "app", "scope": scope, "body": b'{"a":1', "actions": (), **kw})  # type: ignore[arg-type]


def _saved(tmp_path: Path, pattern: str) -> Path:
    [saved] = list(tmp_path.glob(pattern))
    return saved


class TestTemporaryCorpus:
    def test_without_corpus_each_finding_names_a_replay_that_works_from_any_directory(self, tmp_path: Path) -> None:
        project = tmp_path / "svc"
        project.mkdir()
        (project / "svc.py").write_text(SVC)
        (project / "pyproject.toml").write_text('[project]\nname = "svc"\n')
        run = asgifuzz(tmp_path, "run", "svc:app", "--max-examples", "100", "--seed", "1", cwd=project)
        assert run.returncode == 1, run.stderr
        saved = _saved(tmp_path / "tmp", "asgifuzz-cases-*/duplicate-response-start-*.json")
        assert f"replay: asgifuzz replay {saved}" in run.stdout
        assert "(--corpus DIR keeps them)" in run.stdout
        doc = json.loads(saved.read_text())
        assert doc["project_root"] == str(project.resolve()) and doc["app_dir"] == "."  # outside the project: absolute
        assert stat.S_IMODE(saved.stat().st_mode) == 0o644 & ~_umask()
        # From an unrelated directory, with nothing of the project on the path: only this case runs.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        replay = asgifuzz(tmp_path, "replay", str(saved), cwd=elsewhere)
        assert replay.returncode == 1, replay.stdout + replay.stderr
        assert "1 case(s): 0 passing, 1 still failing" in replay.stdout

    def test_a_committed_corpus_replays_from_another_directory_and_after_the_project_moves(self, tmp_path: Path) -> None:
        project = tmp_path / "svc"
        (project / "src").mkdir(parents=True)
        (project / "src" / "svc.py").write_text(SVC)
        (project / "pyproject.toml").write_text('[project]\nname = "svc"\n')
        run = asgifuzz(tmp_path, "run", "svc:app", "--app-dir", "src", "--max-examples", "100", "--seed", "1",
                       "--corpus", "tests/corpus", cwd=project)  # fmt: skip
        assert run.returncode == 1, run.stderr
        saved = _saved(project / "tests" / "corpus", "*.json")
        doc = json.loads(saved.read_text())
        assert (doc["project_root"], doc["app_dir"]) == ("../..", "src")  # relative: survives a move
        assert f"replay: asgifuzz replay tests/corpus/{saved.name}\n" in run.stdout
        assert stat.S_IMODE(saved.stat().st_mode) == 0o644 & ~_umask()
        assert not list((project / "tests" / "corpus").glob(".*"))  # no temporary file left behind
        # `asgifuzz replay svc/tests/corpus` from the parent directory (the N import errors).
        parent = asgifuzz(tmp_path, "replay", "svc/tests/corpus", cwd=tmp_path)
        assert parent.returncode == 1, parent.stdout + parent.stderr
        assert "still failing" in parent.stdout and "error" not in parent.stderr
        moved = tmp_path / "moved"
        shutil.move(project, moved)
        again = asgifuzz(tmp_path, "replay", str(moved / "tests" / "corpus"), cwd=tmp_path)
        assert again.returncode == 1 and "still failing" in again.stdout, again.stdout + again.stderr

    def test_an_old_corpus_file_without_the_app_folder_still_loads(self, tmp_path: Path) -> None:
        run = asgifuzz(tmp_path, "run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "30",
                       "--seed", "1", "--corpus", "corpus")  # fmt: skip
        saved = _saved(tmp_path / "corpus", "*.json")
        doc = json.loads(saved.read_text())
        del doc["project_root"], doc["app_dir"]
        saved.write_text(json.dumps(doc))
        assert run.returncode == 1
        replay = asgifuzz(tmp_path, "replay", "corpus", "--app-dir", APPS)
        assert replay.returncode == 1 and "still failing" in replay.stdout, replay.stdout + replay.stderr
        # ... and with the folder named once in pyproject.toml, replay and show both find the app.
        (tmp_path / "pyproject.toml").write_text(f'[tool.asgifuzz]\napp-dir = "{APPS}"\n')
        replay = asgifuzz(tmp_path, "replay", "corpus")
        assert replay.returncode == 1 and "still failing" in replay.stdout, replay.stdout + replay.stderr
        show = asgifuzz(tmp_path, "show", str(saved))
        assert show.returncode == 0 and "replayed: still failing" in show.stdout, show.stdout + show.stderr


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class TestRequestLine:
    def test_method_path_query_headers_and_a_body_preview(self) -> None:
        line = request_line(_case(body=b"x" * 100))
        assert line.startswith("POST /up?a=1  [content-type: application/json; content-length: 6]  body 100 B: b'xxx")
        assert line.endswith("...")

    def test_many_headers_are_counted_not_listed(self) -> None:
        case = _case()
        case.scope["headers"] = [(b"x-%d" % i, b"v") for i in range(12)]
        assert "x-7: v; +4 more]" in request_line(case)


class TestHttpScript:
    def test_the_script_becomes_bytes_pauses_and_a_half_close(self) -> None:
        case = _case(actions=(Chunk(2), Run(), Chunk(1), Disconnect()))
        steps = http_steps(case, "127.0.0.1:8000")
        assert [s.kind for s in steps] == ["send", "send", "pause", "send", "close"]
        assert steps[0].data.startswith(b"POST /up?a=1 HTTP/1.1\r\nhost: 127.0.0.1:8000\r\ncontent-type: application/json")
        assert [steps[1].data, steps[3].data] == [b'{"', b"a"]
        assert curl_command(case, "http://h")[0] is None  # curl always sends the whole body

    def test_the_whole_body_is_sent_when_the_client_stays_and_curl_can_say_it(self) -> None:
        case = _case(actions=(Chunk(2),))
        assert b"".join(s.data for s in http_steps(case, "h")[1:]) == b'{"a":1'
        curl, note = curl_command(case, "http://127.0.0.1:8000")
        assert curl == ("printf '%b' '{\"a\":1' | curl -sS -i --http1.1 -X POST -H 'content-type: application/json' "
                        "-H Accept: -H User-Agent: --data-binary @- 'http://127.0.0.1:8000/up?a=1'")  # fmt: skip
        assert note == ""
        text = "\n".join(render_http(case, "127.0.0.1:8000"))
        assert "t=0.000s  send" in text and "      b'content-type: application/json\\r\\n'" in text

    def test_a_websocket_case_is_refused(self) -> None:
        case = Case(target="ws", scope={"type": "websocket", "path": "/"}, body=b"", actions=())
        with pytest.raises(ValueError, match="only HTTP cases"):
            http_steps(case, "h")


def _play(lines: list[str], port: int) -> tuple[bytes, bool]:
    """Follow ``show --http``'s printed steps literally on a socket; the bytes read and whether the server closed."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for raw in lines:
        line = raw.strip()
        if line.startswith(("b'", 'b"')):
            sock.sendall(ast.literal_eval(line))
        elif "  pause " in raw:
            time.sleep(float(line.split("pause ", 1)[1].split()[0]))
        elif "  close  #" in raw:
            sock.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data, False
    finally:
        sock.close()
    return data, True


@pytest.mark.slow
def test_show_http_reproduces_a_finding_against_a_real_uvicorn(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    (tmp_path / "svc.py").write_text(SVC)
    run = asgifuzz(tmp_path, "run", "svc:app", "--max-examples", "100", "--seed", "1", "--corpus", "corpus")
    assert run.returncode == 1, run.stderr
    saved = _saved(tmp_path / "corpus", "duplicate-response-start-*.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    show = asgifuzz(tmp_path, "show", str(saved), "--http", f"127.0.0.1:{port}")
    assert show.returncode == 0, show.stderr
    lines = show.stdout.splitlines()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "svc:app", "--port", str(port), "--lifespan", "off"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        data, closed = _play(lines, port)
        # uvicorn refuses the second start: the client gets the 200 head and a body that never completes.
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
        assert closed and not body.endswith(b"0\r\n\r\n"), data
        # The same steps with a 3-byte body (the bug needs 4) get a complete response.
        control = [line.replace("\\x00\\x00\\x00\\x00", "\\x00\\x00\\x00").replace("content-length: 4", "content-length: 3")
                   for line in lines]  # fmt: skip
        ok, _ = _play(control, port)
        assert ok.endswith(b"0\r\n\r\n"), ok
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[0]
    assert "RuntimeError: Expected ASGI message 'http.response.body', but got 'http.response.start'." in log


class TestUsageLines:
    def test_a_factory_without_factory_exits_2_with_uvicorns_hint(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "run", "cliapps:make_ok", "--app-dir", APPS, "--max-examples", "5")
        assert proc.returncode == 2
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith("asgifuzz: error: 'cliapps:make_ok' takes no arguments") and line.endswith(
            "did you mean --factory?"
        )

    def test_an_asyncio_only_app_on_trio_is_one_line_not_findings(self, tmp_path: Path) -> None:
        pytest.importorskip("trio")
        proc = asgifuzz(tmp_path, "run", "cliapps:asyncio_only", "--app-dir", APPS, "--backend", "trio",
                        "--max-examples", "20", "--seed", "1")  # fmt: skip
        assert proc.returncode == 2, proc.stdout
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith("asgifuzz: error: the app uses asyncio-only APIs, so it cannot run on trio "
                               "(RuntimeError: no running event loop at ")  # fmt: skip
        assert line.endswith("fuzz it with --backend asyncio")
        assert "[1]" not in proc.stdout
        fine = asgifuzz(tmp_path, "run", "cliapps:asyncio_only", "--app-dir", APPS, "--max-examples", "20")
        assert fine.returncode == 0, fine.stdout + fine.stderr

    @pytest.mark.parametrize(("pattern", "status"), [("/good", 0), ("/b*", 1), ("GET,POST /bad", 1), ("/nope", 2)])
    def test_route_restricts_the_targets(self, tmp_path: Path, pattern: str, status: int) -> None:
        proc = asgifuzz(tmp_path, "run", "cliapps:routed", "--app-dir", APPS, "--path", "GET,POST /good",
                        "--path", "GET,POST /bad", "--route", pattern, "--max-examples", "40", "--seed", "1",
                        "--json")  # fmt: skip
        assert proc.returncode == status, proc.stderr
        if status == 2:
            assert "--route '/nope' matches no target; the app has '/good', '/bad'" in proc.stderr
        else:
            doc = json.loads(proc.stdout)
            assert {f["case"]["target"] for f in doc["findings"]} <= {"route GET,POST /bad"}

    def test_the_gitignore_hint_is_shown_once_in_a_git_work_tree(self, tmp_path: Path) -> None:
        (tmp_path / ".git").mkdir()
        # (The example database is written when an example fails: a finding's run creates it.)
        args = ("run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "5", "--seed", "1")
        first = asgifuzz(tmp_path, *args)
        assert "add '.asgifuzz/' to your .gitignore" in first.stdout, first.stdout + first.stderr
        assert "add '.asgifuzz/'" not in asgifuzz(tmp_path, *args).stdout
        shutil.rmtree(tmp_path / ".asgifuzz")
        (tmp_path / ".gitignore").write_text(".asgifuzz/\n")
        assert "add '.asgifuzz/'" not in asgifuzz(tmp_path, *args).stdout
