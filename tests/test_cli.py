"""The ``asgifuzz`` command line, run as a subprocess (``python -m asgifuzz``).

The working directory is ``tmp_path`` (so the checkout's ``./asgifuzz`` does
not shadow the installed package, and ``.asgifuzz/`` databases stay there);
the apps come from ``tests/cli_apps`` through ``--app-dir``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from asgifuzz import INVARIANTS

APPS = str(Path(__file__).parent / "cli_apps")


def asgifuzz(
    tmp_path: Path, *args: str, timeout: float = 60, cwd: Path | None = None, pythonpath: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="120")
    env.pop("PYTHONPATH", None)
    # Cases of runs without --corpus go to a temporary folder: keep it in tmp_path.
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp_path / "tmp")
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-m", "asgifuzz", *args],
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def run_json(tmp_path: Path, target: str, *args: str, timeout: float = 60) -> tuple[int, dict[str, Any]]:
    proc = asgifuzz(tmp_path, "run", target, "--app-dir", APPS, "--seed", "1", "--json", *args, timeout=timeout)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


class TestHelp:
    def test_version(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "--version")
        assert proc.returncode == 0
        assert proc.stdout.startswith("asgifuzz ")

    @pytest.mark.parametrize("command", ["run", "demo", "checks", "replay"])
    def test_every_command_has_help_with_examples(self, tmp_path: Path, command: str) -> None:
        proc = asgifuzz(tmp_path, command, "--help")
        assert proc.returncode == 0
        assert "examples:" in proc.stdout
        assert f"asgifuzz {command}" in proc.stdout

    def test_no_command_prints_help_and_exits_2(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path)
        assert proc.returncode == 2
        assert "asgifuzz demo" in proc.stdout


class TestChecks:
    def test_checks_lists_every_invariant_with_its_source(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "checks", "--json")
        assert proc.returncode == 0
        doc = json.loads(proc.stdout)
        assert [d["code"] for d in doc] == list(INVARIANTS)
        assert all(d["title"] and d["source"] for d in doc)

    def test_checks_table_names_each_code(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "checks")
        assert proc.returncode == 0
        for code in INVARIANTS:
            assert code in proc.stdout


    def test_checks_show_each_invariants_severity(self, tmp_path: Path) -> None:
        doc = json.loads(asgifuzz(tmp_path, "checks", "--json").stdout)
        assert {d["code"]: d["severity"] for d in doc} == {code: inv.severity for code, inv in INVARIANTS.items()}
        table = asgifuzz(tmp_path, "checks", "--group", "lifecycle").stdout
        assert "severity" in table
        [row] = [line for line in table.splitlines() if "returned-non-none" in line]
        assert "warning" in row


class TestRun:
    def test_clean_app_exits_0_with_the_json_schema(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:ok", "--max-examples", "60")
        assert status == 0
        assert doc["exit_status"] == 0
        assert doc["findings"] == []
        assert doc["examples"] >= 60
        assert doc["seed"] == 1 and doc["target"] == "cliapps:ok" and doc["interrupted"] is False
        assert set(doc["coverage"]) == {
        "steps", "disconnect_positions", "targets", "backends", "stack_depths", "routes", "shapes", "server_behaviours"
    }  # fmt: skip
        [route] = doc["coverage"]["routes"]  # no lifespan target: the app has no middleware of its own
        assert route["examples"] >= 1 and set(route["statuses"]) <= {"200", "none"}
        assert doc["coverage"]["backends"] == ["asyncio"]

    def test_factory(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:make_ok", "--factory", "--max-examples", "30")
        assert status == 0 and doc["findings"] == []

    def test_finding_exits_1_with_report_junit_and_sarif(self, tmp_path: Path) -> None:
        proc = asgifuzz(
            tmp_path, "run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "50", "--seed", "1",
            "--junit-xml", "out/junit.xml", "--sarif", "out/results.sarif", "--report", "full",
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout
        assert "[1] duplicate-response-start: 'http.response.start' was sent twice" in out
        assert "why it matters:" in out and "trace:" in out
        assert "app     -> server  {'http.response.start', status=500" in out
        # No --corpus: the case is saved to a temporary folder and replayed from there alone.
        [saved] = list((tmp_path / "tmp").glob("asgifuzz-cases-*/duplicate-response-start-*.json"))
        assert f"replay: asgifuzz replay {saved}" in out
        assert "hits" in out  # the summary table

        suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
        assert suite is not None
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert set(cases) == set(INVARIANTS)
        failures = [name for name, c in cases.items() if c.find("failure") is not None]
        assert failures == ["duplicate-response-start"]
        assert suite.get("failures") == "1"

        sarif = json.loads((tmp_path / "out" / "results.sarif").read_text())
        assert sarif["version"] == "2.1.0"
        run = sarif["runs"][0]
        assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(INVARIANTS)
        [result] = run["results"]
        assert result["ruleId"] == "duplicate-response-start"
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "duplicate-response-start"
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("cliapps.py")
        assert location["region"]["startLine"] > 0

    def test_json_finding_schema(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:double_start", "--max-examples", "50")
        assert status == 1 and doc["exit_status"] == 1
        [finding] = doc["findings"]
        for key in ("invariant", "title", "message", "explanation", "where", "exception", "hits", "case", "trace", "replay"):
            assert key in finding
        assert finding["invariant"] == "duplicate-response-start"
        assert finding["case"]["target"] == "app"
        assert finding["replay"].startswith("asgifuzz replay ") and "asgifuzz-cases-" in finding["replay"]
        assert (tmp_path / ".asgifuzz" / "examples").is_dir()  # the shared example database

    def test_checks_can_exclude_an_invariant(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:double_start", "--max-examples", "50", "--checks=-duplicate-response-start")
        assert status == 0, doc["findings"]

    def test_unknown_check_is_a_usage_error_with_a_suggestion(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "run", "cliapps:ok", "--app-dir", APPS, "--checks", "duplicate-start")
        assert proc.returncode == 2
        assert "did you mean 'duplicate-response-start'?" in proc.stderr

    def test_two_workers_merge_distinct_findings(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:double_start", "--max-examples", "100", "--workers", "2")
        assert status == 1
        assert doc["workers"] == 2
        assert [f["invariant"] for f in doc["findings"]] == ["duplicate-response-start"]
        assert doc["findings"][0]["hits"] >= 2
        assert doc["examples"] >= 100

    def test_corpus_saves_replayable_cases(self, tmp_path: Path) -> None:
        proc = asgifuzz(
            tmp_path, "run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "50", "--corpus", "corpus"
        )
        assert proc.returncode == 1
        [saved] = list((tmp_path / "corpus").glob("*.json"))
        # The file records where the app imports from: no --app-dir needed to replay it.
        assert f"replay: asgifuzz replay corpus/{saved.name}\n" in proc.stdout


class TestBadTargets:
    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("nosuchmodule:app", "could not import module 'nosuchmodule': no such module"),
            ("cliapps:nope", "module 'cliapps' has no attribute 'nope'"),
            ("cliapps:not_an_app", "not an ASGI application"),
            ("raises_at_import:app", "importing module 'raises_at_import' raised RuntimeError: DATABASE_URL is not set"),
            ("no-colon", "must be in the form MODULE:ATTRIBUTE"),
        ],
    )
    def test_bad_target_is_one_line_and_exit_2(self, tmp_path: Path, target: str, message: str) -> None:
        proc = asgifuzz(tmp_path, "run", target, "--app-dir", APPS)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("asgifuzz: error: ")
        assert message in lines[0]
        assert "Traceback" not in proc.stderr

    def test_debug_shows_the_import_traceback(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "run", "raises_at_import:app", "--app-dir", APPS, "--debug")
        assert proc.returncode == 2
        assert "Traceback" in proc.stderr
        assert 'raise RuntimeError("DATABASE_URL is not set")' in proc.stderr


class TestRobustness:
    def test_app_blocking_the_event_loop_is_a_finding_within_budget(self, tmp_path: Path) -> None:
        start = time.monotonic()
        status, doc = run_json(tmp_path, "cliapps:spins", "--max-examples", "50", "--max-time", "20", "--block-timeout", "1")
        assert time.monotonic() - start < 15
        assert status == 1
        [finding] = doc["findings"]
        assert finding["invariant"] == "event-loop-blocked"
        assert finding["where"].endswith(("cliapps.py:43", "cliapps.py:44"))  # while True: / pass
        assert "in spins" in finding["exception"]
        assert finding["case"]["target"] == "app"

    def test_app_awaiting_forever_is_a_finding(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:awaits_forever", "--max-examples", "30", "--max-time", "20")
        assert status == 1
        assert "app-hang" in {f["invariant"] for f in doc["findings"]}

    def test_app_calling_os_exit_is_a_finding(self, tmp_path: Path) -> None:
        start = time.monotonic()
        proc = asgifuzz(tmp_path, "run", "cliapps:exits", "--app-dir", APPS, "--max-examples", "50", "--max-time", "20")
        assert time.monotonic() - start < 15
        assert proc.returncode == 1, proc.stderr
        assert "[1] process-exited: the app ended the server process" in proc.stdout
        assert "the app called os._exit(3)" in proc.stdout
        # Piped stdout gets one line per finding; the traceback is in the full report file.
        full = (tmp_path / ".asgifuzz" / "report.txt").read_text()
        assert 'File "' in full and "os._exit(3)" in full

    def test_max_time_bounds_the_run(self, tmp_path: Path) -> None:
        start = time.monotonic()
        status, doc = run_json(tmp_path, "cliapps:ok", "--max-examples", "100000000", "--max-time", "2")
        assert status == 0
        # 2 s of fuzzing, worker start-up, and at most STOP_GRACE + KILL_GRACE
        # (5 s) to stop, with room for a loaded machine: unbounded, it would run into the 60 s timeout.
        assert time.monotonic() - start < 30
        assert doc["examples"] > 0

    def test_ctrl_c_prints_what_was_found_saves_the_corpus_and_exits_130(self, tmp_path: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "asgifuzz", "run", "cliapps:double_start", "--app-dir", APPS,
             "--max-examples", "100000000", "--corpus", "corpus"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(8)  # the workers start and find the bug (about 1 s idle; 4 s was too short on a loaded CI machine)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err
        assert "interrupted" in out
        assert "duplicate-response-start" in out
        assert list((tmp_path / "corpus").glob("duplicate-response-start-*.json"))

    def test_a_failure_of_asgifuzz_itself_is_an_internal_error_not_a_finding(self, tmp_path: Path) -> None:
        # Break the engine (not the app); only the workers search, the parent supervises.
        hook = tmp_path / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(
            "import asgifuzz._api\n"
            "def broken(*args, **kwargs):\n"
            "    raise RuntimeError('simulated engine failure')\n"
            "asgifuzz._api.search = broken\n"
        )
        proc = asgifuzz(
            tmp_path, "run", "cliapps:ok", "--app-dir", APPS, "--max-examples", "20", "--json", pythonpath=str(hook)
        )
        assert proc.returncode == 3, proc.stderr
        assert proc.stdout == ""
        assert "internal error" in proc.stderr and "simulated engine failure" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_runs_from_inside_a_source_checkout(self, tmp_path: Path) -> None:
        # ``python -m asgifuzz`` in the checkout imports ./asgifuzz, not the install.
        root = Path(__file__).resolve().parent.parent
        proc = asgifuzz(
            tmp_path, "run", "cliapps:ok", "--app-dir", APPS, "--max-examples", "20", "--json",
            "--database", str(tmp_path / "db"), cwd=root,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["examples"] >= 20


class TestTerminal:
    def _pty_run(self, tmp_path: Path, *args: str) -> tuple[int, str]:
        pty = pytest.importorskip("pty")
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            os.chdir(tmp_path)
            os.environ["COLUMNS"] = "100"
            os.execv(sys.executable, [sys.executable, "-m", "asgifuzz", *args])
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")

    def test_progress_display_appears_on_a_terminal(self, tmp_path: Path) -> None:
        status, out = self._pty_run(tmp_path, "run", "cliapps:ok", "--app-dir", APPS, "--max-examples", "600", "--seed", "1")
        assert status == 0
        assert "asgifuzz run cliapps:ok" in out  # the panel title
        assert "disconnects" in out and "examples" in out
        assert "/ 600" in out
        assert "0 finding(s)" in out

    def test_progress_display_is_absent_when_piped(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "run", "cliapps:ok", "--app-dir", APPS, "--max-examples", "600", "--seed", "1")
        assert proc.returncode == 0
        assert "disconnects" not in proc.stdout
        assert "\x1b[" not in proc.stdout
        assert proc.stdout.startswith("asgifuzz ")


def test_demo_finds_the_middleware_bug(tmp_path: Path) -> None:
    proc = asgifuzz(tmp_path, "demo", "--seed", "1")  # how fast: benchmarks/, not a timed test
    assert proc.returncode == 1, proc.stderr
    assert "duplicate-response-start" in proc.stdout
    assert "ErrorEnvelopeMiddleware" in proc.stdout
    assert "asgifuzz run asgifuzz.demo:fixed_app" in proc.stdout


def test_demo_fixed_app_is_clean(tmp_path: Path) -> None:
    status, doc = run_json(tmp_path, "asgifuzz.demo:fixed_app", "--max-examples", "300")
    assert status == 0, doc["findings"]


WARNING_APP = '''
async def app(scope, receive, send):
    """returned-non-none (a warning): a correct response, then ``return 1``."""
    if scope["type"] != "http":
        return None
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
    return 1
'''


class TestSeverity:
    def _app(self, tmp_path: Path) -> str:
        (tmp_path / "warnapp.py").write_text(WARNING_APP)
        return str(tmp_path)

    def test_warnings_alone_exit_0_and_are_printed(self, tmp_path: Path) -> None:
        app_dir = self._app(tmp_path)
        proc = asgifuzz(tmp_path, "run", "warnapp:app", "--app-dir", app_dir, "--max-examples", "30", "--seed", "1",
                        "--report", "full")  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        assert "1 finding(s) (1 warning)" in out
        assert "== 1 warning(s):" in out and "not failing" in out
        assert "[1] returned-non-none: the app returned a value other than None" in out
        assert "    severity: warning" in out

    def test_fail_on_warning_exits_1(self, tmp_path: Path) -> None:
        app_dir = self._app(tmp_path)
        proc = asgifuzz(tmp_path, "run", "warnapp:app", "--app-dir", app_dir, "--max-examples", "30", "--seed", "1",
                        "--fail-on", "warning", "--json")  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["exit_status"] == 1 and doc["fail_on"] == "warning"
        assert [(f["invariant"], f["severity"]) for f in doc["findings"]] == [("returned-non-none", "warning")]
        assert doc["severity_counts"] == {"error": 0, "warning": 1}

    def test_replay_lists_a_warning_case_without_failing_unless_fail_on_warning(self, tmp_path: Path) -> None:
        app_dir = self._app(tmp_path)
        run = asgifuzz(tmp_path, "run", "warnapp:app", "--app-dir", app_dir, "--max-examples", "30", "--seed", "1",
                       "--corpus", "corpus")  # fmt: skip
        assert run.returncode == 0, run.stderr
        [saved] = list((tmp_path / "corpus").glob("returned-non-none-*.json"))
        assert f"replay: asgifuzz replay corpus/{saved.name}\n" in run.stdout
        replay = asgifuzz(tmp_path, "replay", "corpus", "--app-dir", app_dir)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "still failing (warning)" in replay.stdout
        assert "1 with warnings only (not failing)" in replay.stdout
        strict = asgifuzz(tmp_path, "replay", "corpus", "--app-dir", app_dir, "--fail-on", "warning")
        assert strict.returncode == 1, strict.stdout + strict.stderr

    def test_errors_come_before_warnings_in_every_report(self, tmp_path: Path) -> None:
        both = WARNING_APP.replace(
            '    return 1\n',
            '    if len(scope["path"]) % 2 == 0:  # an error on half the paths: a start after the response\n'
            '        await send({"type": "http.response.start", "status": 500, "headers": []})\n'
            '    return 1\n',
        )
        assert both != WARNING_APP
        (tmp_path / "both.py").write_text(both)
        proc = asgifuzz(tmp_path, "run", "both:app", "--app-dir", str(tmp_path), "--max-examples", "200", "--seed", "1",
                        "--junit-xml", "junit.xml", "--sarif", "out.sarif", "--report", "full")  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout
        assert out.index("== ") == out.index("== 1 error(s)")
        assert out.index("error(s)") < out.index("[1] message-after-response-complete") < out.index("== 1 warning(s)")
        assert out.index("== 1 warning(s)") < out.index("[2] returned-non-none")
        suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
        assert suite is not None
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert cases["message-after-response-complete"].find("failure") is not None
        assert cases["returned-non-none"].find("skipped") is not None
        levels = {r["ruleId"]: r["level"] for r in json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]}
        assert levels == {"message-after-response-complete": "error", "returned-non-none": "warning"}


class TestBudget:
    @pytest.mark.parametrize(
        ("argv", "max_examples"),
        [
            (["run", "m:app"], 1000),
            (["demo"], 300),
            (["run", "m:app", "--max-examples", "50"], 50),
            (["run", "m:app", "--max-examples", "50", "--max-time", "9"], 50),
            (["run", "m:app", "--max-time", "9"], 10**9),
            (["demo", "--max-time", "9"], 10**9),
        ],
    )
    def test_the_settings_budget(self, argv: list[str], max_examples: int) -> None:
        from asgifuzz.cli import _settings, build_parser

        args = build_parser().parse_args(argv)
        settings = _settings(args, demo=argv[0] == "demo")
        assert settings.max_examples == max_examples
        assert settings.seed is not None  # picked by the CLI, so it can be reported

    def test_max_time_alone_bounds_the_run_by_time_not_by_the_default_examples(self, tmp_path: Path) -> None:
        start = time.monotonic()
        status, doc = run_json(tmp_path, "cliapps:ok", "--max-time", "6")
        took = time.monotonic() - start
        assert status == 0
        assert doc["elapsed"] >= 5.5, doc["examples"]  # it did not stop at 1000 examples
        assert took < 20
        assert doc["examples"] > 0

    def test_without_a_budget_the_run_makes_the_default_examples(self, tmp_path: Path) -> None:
        status, doc = run_json(tmp_path, "cliapps:ok", "--workers", "1")
        assert status == 0
        assert 1000 <= doc["examples"] < 1100
