"""``asgifuzz.report.junit``: errors are failures, warnings are skipped unless they fail the run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from report_helpers import finding, report

from asgifuzz import INVARIANTS, Settings
from asgifuzz.report import RunReport
from asgifuzz.report.junit import junit_xml


def _cases(rep: RunReport) -> tuple[ET.Element, dict[str, ET.Element]]:
    suite = ET.fromstring(junit_xml(rep)).find("testsuite")
    assert suite is not None
    return suite, {str(c.get("name")): c for c in suite.iter("testcase")}


def test_an_error_is_a_failure_and_a_warning_is_skipped_with_its_report() -> None:
    suite, cases = _cases(report([finding("returned-non-none", "w"), finding("app-raised", "e")]))
    assert set(cases) == set(INVARIANTS)
    failure = cases["app-raised"].find("failure")
    assert failure is not None and cases["app-raised"].find("skipped") is None
    assert str(failure.get("message")).startswith("error: ")
    skipped = cases["returned-non-none"].find("skipped")
    assert skipped is not None and cases["returned-non-none"].find("failure") is None
    assert str(skipped.get("message")).startswith("warning: the app returned a value other than None: w")
    assert "[2] returned-non-none" in str(skipped.text)
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")


def test_under_fail_on_warning_a_warning_is_a_failure() -> None:
    suite, cases = _cases(report([finding("returned-non-none")], fail_on="warning"))
    assert cases["returned-non-none"].find("failure") is not None
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "0")


def test_only_the_selected_checks_are_testcases() -> None:
    rep = report([])
    rep.settings = Settings.create(checks="-app-raised")
    _, cases = _cases(rep)
    assert set(cases) == set(INVARIANTS) - {"app-raised"}
