"""The pytest plugin, run in real pytest subprocesses (entry-point loading matters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

BROKEN_APP = '''
async def app(scope, receive, send):
    """exception-on-disconnect: treats the disconnect as impossible."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RuntimeError("client went away")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def fixed(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''

MARKED_TEST = """
import pytest

@pytest.mark.asgifuzz(app="myapp:{attr}", max_examples=200)
def test_app_survives_fuzzing():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(myapp=BROKEN_APP)
    return pytester


def _corpus(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / "corpus").glob("*"))


def test_importing_the_plugin_does_not_import_hypothesis_or_the_driver() -> None:
    code = (
        "import sys, asgifuzz.pytest_plugin; "
        "print([m for m in ('hypothesis', 'anyio', 'asgifuzz.server.driver', 'asgifuzz._search') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_broken_app_fails_with_a_readable_report_and_one_corpus_file(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    files = _corpus(project)
    assert len(files) == 1
    name = files[0].name
    assert name.startswith("exception-on-disconnect-") and name.endswith(".json")
    result.stdout.fnmatch_lines(
        [
            "*asgifuzz found 1 violation(s) in myapp:app*seed*",
            "*[[]1] exception-on-disconnect: an exception escaped the app because the client disconnected",
            "*RuntimeError: client went away*",
            "*minimal case (? client message(s)):",
            "*. client disconnects",
            "*why it matters:",
            f"*replay: asgifuzz replay corpus/{name}",
        ]
    )
    assert json.loads(files[0].read_text())["app"] == "myapp:app"


def test_html_option_writes_one_report_per_test_with_findings(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"), test_fixed=MARKED_TEST.format(attr="fixed"))
    result = project.runpytest_subprocess("--asgifuzz-html", "reports")
    result.assert_outcomes(failed=1, passed=1)
    pages = sorted((project.path / "reports").glob("*.html"))
    assert [p.name for p in pages] == ["test_fuzz.py_test_app_survives_fuzzing.html"]  # the clean test writes none
    page = pages[0].read_text()
    assert "exception-on-disconnect" in page and "<svg" in page
    result.stdout.fnmatch_lines(["*HTML report: reports/test_fuzz.py_test_app_survives_fuzzing.html*"])


def test_correct_app_passes_alongside_anyio_tests(project: pytest.Pytester) -> None:
    anyio_test = """

@pytest.mark.anyio
async def test_async_alongside():
    import anyio
    await anyio.sleep(0)


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="fixed") + anyio_test)
    result = project.runpytest_subprocess("-p", "anyio")
    result.assert_outcomes(passed=2)
    assert _corpus(project) == []


def test_fixture_fuzzes_in_three_lines(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fuzz="""
        def test_fixed(asgifuzz_check):
            result = asgifuzz_check("myapp:fixed", max_examples=30)
            assert result.examples >= 30

        def test_broken(asgifuzz_check):
            asgifuzz_check("myapp:app", max_examples=200)
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*exception-on-disconnect*"])


def test_disabled_with_p_no_asgifuzz(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    result = project.runpytest_subprocess("-p", "no:asgifuzz", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=1)
    assert _corpus(project) == []
    result = project.runpytest_subprocess("-p", "no:asgifuzz", "--asgifuzz-max-examples", "5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_options_override_the_marker_and_show_in_the_header(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="fixed"))
    project.makeini("[pytest]\nasgifuzz_seed = 3\n")
    result = project.runpytest_subprocess("--asgifuzz-max-examples", "7", "--asgifuzz-backend", "trio", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["asgifuzz: max_examples=7, backend=trio, seed=3"])


def test_ci_profile_is_deterministic(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    seeds = []
    for _ in range(2):
        result = project.runpytest_subprocess("test_fuzz.py")
        result.assert_outcomes(failed=1)
        line = next(x for x in result.outlines if "asgifuzz found" in x)
        seeds.append(line.split("seed ", 1)[1].split(";")[0])
    assert seeds[0] == seeds[1]
    assert not (project.path / ".hypothesis" / "examples").exists()  # database=None under the ci profile


def test_xdist_workers_leave_a_consistent_corpus(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    tests = "\n".join(
        f"""
@pytest.mark.asgifuzz(app="myapp:app", max_examples=60, seed={i})
def test_broken_{i}():
    pass
"""
        for i in range(4)
    )
    project.makepyfile(test_fuzz="import pytest\n" + tests)
    result = project.runpytest_subprocess("-n", "2")
    result.assert_outcomes(failed=4)
    files = _corpus(project)
    # every file is complete and valid, and no temporary file is left behind
    assert files and all(f.suffix == ".json" and not f.name.startswith(".") for f in files)
    from asgifuzz._corpus import load_corpus

    cases, errors = load_corpus([project.path / "corpus"])
    assert errors == []
    assert {cc.expect for cc in cases} == {"exception-on-disconnect"}


def test_corpus_files_are_collected_as_tests_that_fail_while_the_bug_is_present(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    project.runpytest_subprocess().assert_outcomes(failed=1)
    (saved,) = _corpus(project)
    (project.path / "corpus" / "app-raised-000000000000.json").write_text('{"format": 1')

    result = project.runpytest_subprocess("corpus")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*asgifuzz: *app-raised-000000000000.json: invalid JSON (truncated?)*",
            f"*asgifuzz corpus case {saved.name}: still failing*",
            f"FAILED corpus/{saved.name}::replay*",
        ]
    )

    # The same case replayed against the fixed app: the item passes.
    doc = json.loads(saved.read_text())
    doc["app"] = "myapp:fixed"
    saved.write_text(json.dumps(doc))
    (project.path / "corpus" / "app-raised-000000000000.json").unlink()
    result = project.runpytest_subprocess("--asgifuzz-replay", "-k", "replay")
    result.assert_outcomes(passed=1)


SUPPRESSING_MIDDLEWARE = '''
class Suppress:
    """exception-swallowed (a warning): every exception of the app behind it vanishes."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        except Exception:
            pass


MIDDLEWARE = [Suppress]
'''

SWALLOW_TEST = """
import pytest

@pytest.mark.asgifuzz(middleware="mw:MIDDLEWARE", endpoints=["raises"], max_examples=100, seed=2{extra})
def test_stack():
    pass
"""


def test_a_warning_passes_the_test_and_is_shown_as_plain_text(project: pytest.Pytester) -> None:
    project.makepyfile(mw=SUPPRESSING_MIDDLEWARE, test_fuzz=SWALLOW_TEST.format(extra=""))
    result = project.runpytest_subprocess("-W", "error")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= asgifuzz warnings (not failing) =*",
            "*test_fuzz.py::test_stack*",
            "asgifuzz found 1 violation(s) in mw:MIDDLEWARE (1 warning; none fails the test under fail_on=error*",
            "== 1 warning(s):*not failing*",
            "[[]1] exception-swallowed: *",
            "    severity: warning",
        ]
    )
    assert "Warning:" not in result.stdout.str()  # no Python warning was emitted


def test_fail_on_warning_from_the_marker_the_ini_or_the_command_line(project: pytest.Pytester) -> None:
    project.makepyfile(mw=SUPPRESSING_MIDDLEWARE, test_fuzz=SWALLOW_TEST.format(extra=', fail_on="warning"'))
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*[[]1] exception-swallowed: *"])

    project.makepyfile(test_fuzz=SWALLOW_TEST.format(extra=""))
    project.makeini("[pytest]\nasgifuzz_fail_on = warning\n")
    project.runpytest_subprocess("test_fuzz.py").assert_outcomes(failed=1)
    # The command line wins over the ini.
    project.runpytest_subprocess("test_fuzz.py", "--asgifuzz-fail-on", "error").assert_outcomes(passed=1)
    # The saved case, replayed as a test, follows the same rule.
    assert len(_corpus(project)) == 1
    project.runpytest_subprocess("corpus").assert_outcomes(failed=1)
    project.runpytest_subprocess("corpus", "--asgifuzz-fail-on", "error").assert_outcomes(passed=1)


def test_the_marker_accepts_code_exclusions(project: pytest.Pytester) -> None:
    extra = ', fail_on="warning", checks=["-exception-swallowed"]'
    project.makepyfile(mw=SUPPRESSING_MIDDLEWARE, test_fuzz=SWALLOW_TEST.format(extra=extra))
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "unknown invariant" not in result.stdout.str()
    assert _corpus(project) == []


def test_the_ini_checks_key_selects_invariants(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    project.makeini("[pytest]\nasgifuzz_checks = -exception-on-disconnect, -app-raised\n")
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert _corpus(project) == []
    # The marker wins over the ini.
    project.makepyfile(
        test_fuzz=MARKED_TEST.format(attr="app").replace("max_examples=200", 'max_examples=200, checks="exception-on-disconnect"')
    )
    project.runpytest_subprocess().assert_outcomes(failed=1)


def test_an_unknown_marker_option_fails_with_one_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="fixed").replace("max_examples=200", "max_example=200"))
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*asgifuzz: unknown option(s) 'max_example' (did you mean 'max_examples'?)"])
    assert "Traceback" not in result.stdout.str()
