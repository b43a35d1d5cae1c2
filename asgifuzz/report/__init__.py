"""Reports of a run: handlers fed by one ``RunReport``, shared by the CLI and the pytest plugin.

``base`` holds ``RunReport`` and the ``Handler`` protocol; each output is one
module with one handler: ``corpus`` (saves cases, sets replay hints),
``text`` (plain text, the pytest failure message), ``terminal`` (rich),
``json`` (``--json``), ``junit`` (``--junit-xml``), ``sarif`` (``--sarif``),
``html`` (``--html``: each finding as a sequence diagram, drawn by ``diagram``).
A new format is one new module here, usable by both front ends.
"""

from __future__ import annotations

from asgifuzz.report.base import (
    FAIL_ON as FAIL_ON,
    SEVERITIES as SEVERITIES,
    Coverage as Coverage,
    FailOn as FailOn,
    Handler as Handler,
    RunReport as RunReport,
    check_fail_on as check_fail_on,
    run_handlers as run_handlers,
)

__all__ = ("FAIL_ON", "SEVERITIES", "Coverage", "FailOn", "Handler", "RunReport", "check_fail_on", "run_handlers")
