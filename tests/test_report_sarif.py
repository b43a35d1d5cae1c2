"""``asgifuzz.report.sarif``: levels follow the invariants' severity."""

from __future__ import annotations

from report_helpers import finding, report

from asgifuzz import INVARIANTS
from asgifuzz.report.sarif import sarif_document, split_where


def test_each_result_has_the_level_of_its_invariant() -> None:
    doc = sarif_document(report([finding("returned-non-none"), finding("app-raised")]))
    [run] = doc["runs"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("app-raised", "error"), ("returned-non-none", "warning")]


def test_each_rule_has_its_severity_as_default_level() -> None:
    rules = sarif_document(report([]))["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["defaultConfiguration"]["level"] for r in rules} == {
        code: inv.severity for code, inv in INVARIANTS.items()
    }
    assert {r["defaultConfiguration"]["level"] for r in rules} == {"error", "warning"}


def test_results_point_at_the_findings_line_and_carry_the_replay_hint() -> None:
    found = finding("app-raised", where="src/main.py:12 in app")
    rep = report([found])
    rep.hints[found.key] = "asgifuzz replay corpus/a.json"
    [result] = sarif_document(rep)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "src/main.py"}, "region": {"startLine": 12}}
    assert result["message"]["text"].endswith("Replay: asgifuzz replay corpus/a.json")


def test_split_where() -> None:
    assert split_where("a/b.py:3 in f") == ("a/b.py", 3)
    assert split_where("disconnect") == ("disconnect", None)
