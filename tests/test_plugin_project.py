"""The pytest plugin reads ``[tool.asgifuzz]`` of pyproject.toml under its ini keys and the marker."""

from __future__ import annotations

import json

import pytest
from test_plugin import BROKEN_APP, MARKED_TEST

pytest_plugins = ["pytester"]

BARE_MARKER_TEST = """
import pytest

@pytest.mark.asgifuzz(max_examples=200)
def test_app_survives_fuzzing():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(myapp=BROKEN_APP)
    return pytester


def _pyproject(pytester: pytest.Pytester, body: str, ini: str = "") -> None:
    pytester.makepyprojecttoml(f'[project]\nname = "svc"\n\n[tool.asgifuzz]\n{body}\n{ini}')


def test_pyproject_checks_apply_under_the_ini_and_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"))
    _pyproject(project, 'checks = ["-exception-on-disconnect", "-app-raised"]')
    project.runpytest_subprocess().assert_outcomes(passed=1)
    # The ini key wins over pyproject's table...
    _pyproject(project, 'checks = ["-exception-on-disconnect", "-app-raised"]',
               '[tool.pytest.ini_options]\nasgifuzz_checks = "exception-on-disconnect"\n')  # fmt: skip
    project.runpytest_subprocess().assert_outcomes(failed=1)
    # ... and the command line wins over both (the case the failing run saved is collected too:
    # its invariant is now excluded, so it is skipped).
    _pyproject(project, 'checks = "exception-on-disconnect"')
    result = project.runpytest_subprocess("--asgifuzz-checks=-exception-on-disconnect,-app-raised")
    result.assert_outcomes(passed=1, skipped=1)


def test_the_app_and_corpus_come_from_pyproject_and_its_excluded_cases_are_skipped(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=BARE_MARKER_TEST)
    _pyproject(project, 'app = "myapp:app"\ncorpus = "tests/corpus"')
    project.runpytest_subprocess().assert_outcomes(failed=1)
    saved = sorted((project.path / "tests" / "corpus").glob("*.json"))
    assert saved, "the finding was saved under pyproject's corpus folder"
    doc = json.loads(saved[0].read_text())
    assert (doc["project_root"], doc["app_dir"]) == ("../..", ".")
    project.runpytest_subprocess("tests/corpus").assert_outcomes(failed=len(saved))
    # The invariant accepted in pyproject: its saved cases are skipped with a reason, not failed.
    codes = ",".join(f"-{json.loads(p.read_text())['invariant']}" for p in saved)
    _pyproject(project, f'app = "myapp:app"\ncorpus = "tests/corpus"\nchecks = "{codes}"')
    result = project.runpytest_subprocess("tests/corpus", "-rs")
    result.assert_outcomes(skipped=len(saved))
    result.stdout.fnmatch_lines(["*asgifuzz: * is not checked (asgifuzz checks setting)*"])


def test_a_bad_pyproject_fails_the_asgifuzz_tests_with_one_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_fuzz=MARKED_TEST.format(attr="app"), test_other="def test_other():\n    pass\n")
    _pyproject(project, "max-exampels = 3")
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*asgifuzz: *pyproject.toml: [[]tool.asgifuzz]: unknown key 'max-exampels'*"])
    assert "Traceback" not in result.stdout.str()
