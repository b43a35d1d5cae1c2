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
        app_dir: the folder the app imports from, and
        project_root: the project's folder; recorded in each file (the
            first relative to the second) so a replay finds the app from
            any directory.
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
        app_dir: str | os.PathLike[str] | None = None,
        project_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.project_root = project_root
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
                app_dir=self.app_dir,
                project_root=self.project_root,
            )
            self.saved.append(path)
            report.hints[finding.key] = self.hint(path) if self.hint is not None else replay_command(path)
