"""The pytest plugin's report of one test: the same handlers as the CLI, a headline, the corpus and HTML files.

Kept apart from ``pytest_plugin`` (hooks, options, markers); imports nothing heavy until a test has findings.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._search import SearchResult
    from asgifuzz.report import FailOn, RunReport
    from asgifuzz.report.base import Handler

__all__ = ("headline", "html_path", "import_root", "relative", "report_text", "run_report")


def run_report(result: SearchResult, settings: Settings, fail_on: FailOn, *, name: str) -> RunReport:
    from asgifuzz.report import Coverage, RunReport

    return RunReport(
        findings=result.findings,
        target=name,
        seed=result.seed,
        examples=result.examples,
        elapsed=result.elapsed,
        settings=settings,
        coverage=Coverage.of(result.stats),
        fail_on=fail_on,
    )


def report_text(
    config: pytest.Config,
    report: RunReport,
    *,
    app_spec: str | None,
    mw_spec: str | None,
    factory: bool,
    corpus: Path,
    app_dir: str | None,
    html: Path | None = None,
    project_root: Path,
) -> str:
    """Save the corpus and render the report, with the same handlers as the CLI."""
    from asgifuzz._corpus import replay_command
    from asgifuzz.report import run_handlers
    from asgifuzz.report.corpus import CorpusHandler
    from asgifuzz.report.text import TextHandler

    handlers: list[Handler] = []
    if app_spec is not None or mw_spec is not None:
        handlers.append(
            CorpusHandler(
                corpus, app=app_spec, middleware=mw_spec, factory=factory, virtual_time=report.settings.virtual_time,
                # The file records where the app imports from: the replay needs no --app-dir.
                hint=lambda path: replay_command(relative(path, config.invocation_params.dir)),
                app_dir=import_root(app_spec or mw_spec, app_dir, config.rootpath),
                project_root=project_root,
            )
        )  # fmt: skip
    else:
        report.notes.append("not saved to the corpus: name the app as 'module:attr' so a replay can import it")
    if html is not None:
        from asgifuzz.report.html import HtmlHandler

        handlers.append(HtmlHandler(html))
        report.notes.append(f"HTML report: {relative(html, config.invocation_params.dir)}")
    buffer = io.StringIO()
    handlers.append(TextHandler(buffer))
    run_handlers(report, handlers)
    return headline(report) + "\n" + buffer.getvalue()


def html_path(config: pytest.Config, nodeid: str) -> Path | None:
    """``--asgifuzz-html DIR``: the test's file, named after its id (path separators and brackets made safe)."""
    folder = config.getoption("asgifuzz_html")
    if folder is None:
        return None
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") or "asgifuzz"
    return Path(config.invocation_params.dir, folder) / f"{name}.html"


def headline(report: RunReport) -> str:
    from asgifuzz.report.text import severity_counts

    counts = severity_counts(report)
    verdict = "" if report.failing else f"; none fails the test under fail_on={report.fail_on}"
    return (
        f"asgifuzz found {len(report.findings)} violation(s) in {report.target} ({counts}{verdict}; "
        f"{report.examples} examples, seed {report.seed}; rerun with --asgifuzz-seed {report.seed})"
    )


def relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return str(path)


def import_root(spec: str | None, app_dir: str | None, rootdir: Path) -> str:
    """The folder ``spec``'s module was imported from (recorded in corpus files), else ``app_dir`` or the rootdir."""
    if app_dir is not None:
        return str(Path(app_dir).resolve())
    module_name = (spec or "").partition(":")[0]
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file:
        return str(rootdir)
    depth = module_name.count(".") + (2 if Path(file).name == "__init__.py" else 1)
    return str(Path(file).resolve().parents[depth - 1])
