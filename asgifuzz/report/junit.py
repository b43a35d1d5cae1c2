"""JUnit XML: one ``<testcase>`` per invariant checked.

A broken invariant that fails the run (an error, or a warning under
``--fail-on warning``) is a ``<failure>`` with the full text report.  A
warning that does not fail the run is a ``<skipped message="warning: ...">``
with the same text: CI dashboards (GitHub test reporters, GitLab, Jenkins)
show skipped tests in their own colour with the message next to the test's
name, neither green (the rule was broken) nor red (the run passed), and
count them apart from failures.  A ``<system-out>`` note on a passing
testcase would hide the warning behind a green tick, and most dashboards
show system-out only after a click.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from asgifuzz._finding import Finding
from asgifuzz.checks.invariants import INVARIANTS
from asgifuzz.report.base import RunReport, write_file
from asgifuzz.report.text import render_finding

__all__ = ("JUnitHandler", "junit_xml")


def _checked(report: RunReport) -> list[str]:
    checks = report.settings.checks
    checked = [code for code in INVARIANTS if checks is None or code in checks]
    checked += [f.code for f in report.findings if f.code not in checked]
    return list(dict.fromkeys(checked))


def junit_xml(report: RunReport) -> str:
    checked = _checked(report)
    by_code: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    failed = [code for code in checked if code in by_code and report.fails(by_code[code][0])]
    skipped = [code for code in checked if code in by_code and code not in failed]
    suite = ET.Element(
        "testsuite",
        {
            "name": f"asgifuzz {report.target}",
            "tests": str(len(checked)),
            "failures": str(len(failed)),
            "errors": "0",
            "skipped": str(len(skipped)),
            "time": f"{report.elapsed:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "examples", "value": str(report.examples)})
    ET.SubElement(props, "property", {"name": "seed", "value": str(report.seed)})
    ET.SubElement(props, "property", {"name": "fail_on", "value": report.fail_on})
    numbers = {f.key: i for i, f in enumerate(report.findings, 1)}
    for code in checked:
        case = ET.SubElement(suite, "testcase", {"classname": f"asgifuzz.{report.target}", "name": code, "time": "0"})
        found = by_code.get(code)
        if not found:
            continue
        invariant = found[0].invariant
        text = "\n\n".join(render_finding(f, numbers[f.key], replay_hint=report.hint(f)) for f in found)
        summary = f"{invariant.title}: {found[0].message}" + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
        if code in failed:
            element = ET.SubElement(case, "failure", {"type": code, "message": f"{invariant.severity}: {summary}"})
        else:
            element = ET.SubElement(case, "skipped", {"type": code, "message": f"warning: {summary}"})
        element.text = _xml_safe(text)
    wrapper = ET.Element(
        "testsuites",
        {"name": "asgifuzz", "tests": suite.get("tests", "0"), "failures": str(len(failed)), "skipped": str(len(skipped))},
    )
    wrapper.append(suite)
    ET.indent(wrapper)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(wrapper, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (control characters from app data)."""
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and not 0xD800 <= ord(c) <= 0xDFFF))


class JUnitHandler:
    """Writes ``junit_xml`` to ``path`` (``--junit-xml``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = path

    def handle(self, report: RunReport) -> None:
        write_file(self.path, junit_xml(report))
