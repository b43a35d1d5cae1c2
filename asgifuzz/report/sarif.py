"""SARIF 2.1.0 for code-scanning dashboards: one rule per invariant, one result per finding.

Each rule's ``defaultConfiguration.level`` and each result's ``level`` is the
invariant's severity ("error" or "warning"), so dashboards sort and filter
them as the text report does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from asgifuzz import __version__
from asgifuzz.checks.invariants import INVARIANTS
from asgifuzz.report.base import RunReport, write_file

__all__ = ("SARIF_SCHEMA", "SarifHandler", "sarif_document", "split_where")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/asgifuzz/asgifuzz"


def split_where(where: str) -> tuple[str, int | None]:
    """``"file:line"`` (or ``"file:line in func"``) as (file, line); (where, None) without a line."""
    head = where.split(" in ", 1)[0].strip()
    path, sep, line = head.rpartition(":")
    if sep and line.isdigit() and path:
        return path, int(line)
    return head, None


def _uri(path: str, root: Path) -> dict[str, str]:
    p = Path(path)
    if not p.is_absolute():
        return {"uri": p.as_posix()}
    try:
        return {"uri": p.resolve().relative_to(root.resolve()).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": p.as_uri()}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": code,
            "name": "".join(part.title() for part in code.split("-")),
            "shortDescription": {"text": inv.title},
            "fullDescription": {"text": inv.explanation},
            "help": {"text": f"{inv.explanation}\n\nSource: {inv.source}"},
            "defaultConfiguration": {"level": inv.severity},
            "properties": {"group": inv.group, "source": inv.source, "severity": inv.severity, "servers": inv.servers_json(), "tags": ["asgi", inv.group]},
        }
        for code, inv in INVARIANTS.items()
    ]


def sarif_document(report: RunReport, *, root: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """A SARIF 2.1.0 log of ``report``; absolute paths under ``root`` become relative to ``%SRCROOT%``."""
    codes = list(INVARIANTS)
    base = Path(root)
    results = []
    for f in report.findings:
        text = f"{f.invariant.title}: {f.message}"
        if f.case is not None:
            text += f" [target {f.case.target}]"
        hint = report.hint(f)
        if hint:
            text += f". Replay: {hint}"
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code) if f.code in codes else -1,
            "level": f.severity,
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
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": _rules(),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base.resolve().as_uri() + "/"}},
                "results": results,
                "properties": {"target": report.target, "seed": report.seed, "examples": report.examples},
            }
        ],
    }


class SarifHandler:
    """Writes ``sarif_document`` to ``path`` (``--sarif``)."""

    def __init__(self, path: str | Path, *, root: str | os.PathLike[str] = ".") -> None:
        self.path = path
        self.root = root

    def handle(self, report: RunReport) -> None:
        write_file(self.path, json.dumps(sarif_document(report, root=self.root), indent=2) + "\n")
