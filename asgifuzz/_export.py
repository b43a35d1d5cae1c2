"""Findings as JUnit XML and SARIF 2.1.0 (for CI test reports and code-scanning dashboards)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from asgifuzz._finding import Finding
from asgifuzz._report import render_finding
from asgifuzz.checks.invariants import INVARIANTS

__all__ = ("junit_xml", "sarif_document", "split_where")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/asgifuzz/asgifuzz"


def split_where(where: str) -> tuple[str, int | None]:
    """``"file:line"`` (or ``"file:line in func"``) as (file, line); (where, None) without a line."""
    head = where.split(" in ", 1)[0].strip()
    path, sep, line = head.rpartition(":")
    if sep and line.isdigit() and path:
        return path, int(line)
    return head, None


def junit_xml(
    findings: Sequence[Finding],
    *,
    target: str,
    codes: Iterable[str] | None = None,
    elapsed: float = 0.0,
    examples: int = 0,
    hints: dict[int, str] | None = None,
) -> str:
    """One ``<testcase>`` per invariant checked, with a ``<failure>`` for each invariant that was broken."""
    checked = list(codes) if codes is not None else list(INVARIANTS)
    for f in findings:
        if f.code not in checked:
            checked.append(f.code)
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    failures = sum(1 for code in checked if code in by_code)
    suite = ET.Element(
        "testsuite",
        {
            "name": f"asgifuzz {target}",
            "tests": str(len(checked)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
            "time": f"{elapsed:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "examples", "value": str(examples)})
    for code in checked:
        cls = INVARIANTS.get(code)
        case = ET.SubElement(suite, "testcase", {"classname": f"asgifuzz.{target}", "name": code, "time": "0"})
        found = by_code.get(code)
        if not found:
            continue
        title = cls.title if cls is not None else code
        text = "\n\n".join(
            render_finding(f, i, replay_hint=(hints or {}).get(id(f))) for i, f in enumerate(found, 1)
        )
        failure = ET.SubElement(
            case,
            "failure",
            {"type": code, "message": f"{title}: {found[0].message}" + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")},
        )
        failure.text = _xml_safe(text)
    wrapper = ET.Element("testsuites", {"name": "asgifuzz", "tests": suite.get("tests", "0"), "failures": str(failures)})
    wrapper.append(suite)
    ET.indent(wrapper)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(wrapper, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (control characters from app data)."""
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and not 0xD800 <= ord(c) <= 0xDFFF))


def _uri(path: str, root: Path) -> dict[str, str]:
    p = Path(path)
    if not p.is_absolute():
        return {"uri": p.as_posix()}
    try:
        return {"uri": p.resolve().relative_to(root.resolve()).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": p.as_uri()}


def sarif_document(
    findings: Sequence[Finding],
    *,
    target: str,
    version: str,
    root: str | os.PathLike[str] = ".",
    hints: dict[int, str] | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one rule per invariant, one result per finding."""
    codes = list(INVARIANTS)
    rules = [
        {
            "id": code,
            "name": "".join(part.title() for part in code.split("-")),
            "shortDescription": {"text": cls.title},
            "fullDescription": {"text": cls.explanation},
            "help": {"text": f"{cls.explanation}\n\nSource: {cls.source}"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"group": cls.group, "source": cls.source, "tags": ["asgi", cls.group]},
        }
        for code, cls in INVARIANTS.items()
    ]
    base = Path(root)
    results = []
    for f in findings:
        text = f"{f.invariant.title}: {f.message}"
        if f.case is not None:
            text += f" [target {f.case.target}]"
        hint = (hints or {}).get(id(f))
        if hint:
            text += f". Replay: {hint}"
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code) if f.code in codes else -1,
            "level": "error",
            "message": {"text": text},
            "partialFingerprints": {"asgifuzz/v1": "|".join(f.key)},
            "properties": {"hits": f.hits, "flaky": f.flaky, "target": f.case.target if f.case is not None else ""},
        }
        path, line = split_where(f.where) if f.where else ("", None)
        if path and line is not None:
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": _uri(path, base), "region": {"startLine": line}}}
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asgifuzz",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base.resolve().as_uri() + "/"}},
                "results": results,
                "properties": {"target": target},
            }
        ],
    }
