"""The corpus handler: saves each finding's case and sets its replay hint.

Run it before the renderers: they print the hint it sets (``asgifuzz
replay corpus/<file>.json``) in place of the run-level rerun command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from asgifuzz.report.base import RunReport

__all__ = ("CorpusHandler",)


class CorpusHandler:
    """Saves every finding that has a case under ``directory`` (``asgifuzz._corpus.save_finding``).

    Args:
        directory: the corpus folder (created when needed).
        app: ``module:attr`` of the app the cases replay against.
        middleware: ``module:attr`` of a middleware list (stacks fuzzed without an app).
        factory: ``app`` names a factory.
        virtual_time: the cases were found under virtual time.
        skip: invariant codes never saved (the supervisor's: replaying them
            would block or end the replaying process).
        hint: the replay command for a saved file; default
            ``asgifuzz replay PATH``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        app: str | None,
        middleware: str | None = None,
        factory: bool = False,
        virtual_time: bool = True,
        skip: frozenset[str] = frozenset(),
        hint: Callable[[Path], str] | None = None,
    ) -> None:
        self.directory = directory
        self.app = app
        self.middleware = middleware
        self.factory = factory
        self.virtual_time = virtual_time
        self.skip = skip
        self.hint = hint
        #: The files written, in the report's order.
        self.saved: list[Path] = []

    def handle(self, report: RunReport) -> None:
        from asgifuzz._corpus import replay_command, save_finding

        for finding in report.findings:
            if finding.code in self.skip or finding.case is None:
                continue
            path = save_finding(
                finding,
                self.app,
                self.directory,
                middleware=self.middleware,
                factory=self.factory,
                virtual_time=self.virtual_time,
            )
            self.saved.append(path)
            report.hints[finding.key] = self.hint(path) if self.hint is not None else replay_command(path)
