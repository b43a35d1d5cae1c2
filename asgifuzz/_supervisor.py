"""Moved to ``asgifuzz.supervisor``; this re-export goes once the CLI imports from there."""

from __future__ import annotations

from asgifuzz.supervisor import SUPERVISOR_CODES, RunOptions, RunResult, Snapshot, portable_finding, supervise

__all__ = ("SUPERVISOR_CODES", "RunOptions", "RunResult", "Snapshot", "portable_finding", "supervise")
