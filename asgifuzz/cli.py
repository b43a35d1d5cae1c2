"""The ``asgifuzz`` command line.

Commands: ``run`` (fuzz an app in supervised worker processes, see
``asgifuzz.supervisor``), ``demo`` (``run`` on the bundled ``asgifuzz.demo`` app),
``replay`` and ``show`` (corpus cases, ``_corpus_cli``), ``checks``.  This
module parses options and renders; the engine lives elsewhere.

Exit status: 0 no finding that fails the run (warnings alone do not, unless
``--fail-on warning``), 1 at least one, 2 usage error or bad input, 3 internal
error of asgifuzz, 130 interrupted (Ctrl-C).

``run`` builds one ``Settings`` from its options, runs the supervisor, and
hands one ``RunReport`` to the report handlers (``asgifuzz.report``): the
corpus, JUnit, SARIF, then JSON or the terminal report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgifuzz import __version__
from asgifuzz._config import TIME_BOUNDED, resolve_budget
from asgifuzz._corpus_cli import add_replay_parser, add_show_parser, cmd_replay, cmd_show
from asgifuzz._errors import UsageError
from asgifuzz._project import find_root
from asgifuzz._usage import check_backend_mismatch, gitignore_hint
from asgifuzz.confirm.cli import add_confirm_parser, cmd_confirm

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._finding import Finding
    from asgifuzz.report import FailOn, RunReport
    from asgifuzz.report.base import Handler
    from asgifuzz.supervisor import RunOptions, RunResult

__all__ = ("build_parser", "main", "resolve_budget", "run_options")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

DEFAULT_DATABASE = os.path.join(".asgifuzz", "examples")
#: Where the full text report goes when stdout shows one line per finding (``--report summary``).
DEFAULT_REPORT_FILE = os.path.join(".asgifuzz", "report.txt")
DEMO_TARGET = "asgifuzz.demo:app"
DEFAULT_MAX_EXAMPLES = 1000
DEMO_MAX_EXAMPLES = 300

EPILOG_MAIN = """examples:
  asgifuzz demo                          # see asgifuzz find a middleware bug in seconds
  asgifuzz run main:app                  # fuzz your app (uvicorn-style MODULE:ATTR)
  asgifuzz checks                        # what is checked, and where each rule comes from
  asgifuzz replay corpus                 # replay saved cases in CI

run 'asgifuzz COMMAND --help' for the options of each command.
"""

EPILOG_RUN = """examples:
  asgifuzz run main:app
  asgifuzz run main:app --max-examples 5000 --backend both --seed 1
  asgifuzz run app.main:create_app --factory --app-dir src --workers 4 --max-time 60
  asgifuzz run main:app --checks duplicate-response-start,app-hang
  asgifuzz run main:app --checks=-app-raised              # all but app-raised
  asgifuzz run main:app --max-time 60                     # as many examples as fit in 60 s
  asgifuzz run main:app --fail-on warning                 # warnings fail the run too
  asgifuzz run main:app --corpus corpus --junit-xml asgifuzz.xml --sarif asgifuzz.sarif
  asgifuzz run main:app --json > findings.json

The app runs in worker processes: an app that blocks the event loop or ends
the process is reported as a finding, and the run ends within --max-time plus
a few seconds.  Workers share one Hypothesis example database (--database), so
a rerun replays the failing examples of earlier runs first; with
--database redis://host:6379/0, so do runs on other machines.

Findings are errors (a real server rejects it, a client gets a wrong or no
response, a crash, a hang) or warnings (the spec's letter that servers
tolerate, a design choice); the report groups them, errors first.

exit status: 0 no error-level finding (warnings are printed but pass, unless
--fail-on warning), 1 at least one, 2 usage error or bad input, 3 internal
error of asgifuzz, 130 interrupted (what was found so far is printed and saved)
"""

EPILOG_DEMO = """examples:
  asgifuzz demo
  asgifuzz demo --workers 2 --seed 1
  asgifuzz run asgifuzz.demo:fixed_app      # the same app with the bug fixed: no finding

The demo app (asgifuzz/demo.py) is a small Starlette API with a pure-ASGI
error-handling middleware that answers 500 even after the response started.

exit status: as for 'asgifuzz run' (1: the bug was found)
"""

EPILOG_CHECKS = """examples:
  asgifuzz checks
  asgifuzz checks --group transparency
  asgifuzz checks --json
"""

DEMO_INTRO = """\
The demo app (asgifuzz/demo.py) is a small Starlette JSON API: /health,
/upload (counts the request body) and /export.csv (streams rows).  In front of
it sits ErrorEnvelopeMiddleware, a pure-ASGI middleware that catches any
exception and answers a JSON 500 -- even when the response had already
started.  asgifuzz fuzzes each route, and the middleware in front of its own
adversarial endpoints (streams that fail halfway, background tasks that raise,
clients that disconnect), checking the ASGI rules at every step.
"""

DEMO_OUTRO = """\
The fix: remember whether 'http.response.start' went out, and re-raise instead
of answering when it did (FixedErrorEnvelopeMiddleware in asgifuzz/demo.py).
Check it:  asgifuzz run asgifuzz.demo:fixed_app
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _add_budget_options(parser: argparse.ArgumentParser, *, max_examples: int) -> None:
    parser.add_argument(
        "--max-examples", type=_positive_int, default=None, metavar="N",
        help=f"interactions to generate, split between workers (default: {max_examples}; "
        "with --max-time alone, as many as fit in the time)",
    )  # fmt: skip
    parser.add_argument(
        "--max-time", type=_positive_float, default=None, metavar="SECONDS",
        help="stop after this many seconds (alone, it bounds the run by time)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="random seed, to reproduce a run")
    parser.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="worker processes sharing one example database (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--backend", choices=["asyncio", "trio", "both"], default=None, help="event loop (default: asyncio)"
    )
    parser.add_argument(
        "--fail-on", choices=["error", "warning"], default=None,
        help="lowest severity that makes the exit status 1 (default: error; warnings are still printed)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout (no progress display)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks behind errors")


def _add_run_parser(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="fuzz an app given as MODULE:ATTR",
        description="Fuzz an ASGI app: each route as it is, and its middleware stack in front of "
        "asgifuzz's adversarial endpoints.",
        epilog=EPILOG_RUN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "target", metavar="MODULE:ATTR", nargs="?", default=None,
        help="the app, e.g. main:app (default: 'app' in [tool.asgifuzz] of pyproject.toml)",
    )  # fmt: skip
    run.add_argument("--app-dir", default=None, help="directory to import the module from (default: .)")
    run.add_argument(
        "--factory", action=argparse.BooleanOptionalAction, default=None,
        help="MODULE:ATTR is a factory returning the app",
    )  # fmt: skip
    _add_budget_options(run, max_examples=DEFAULT_MAX_EXAMPLES)
    run.add_argument(
        "--server-profile", default=None, metavar="NAME",
        help="pin the server to imitate: uvicorn, hypercorn, daphne, strict "
        "(default: draw the server behaviour per example)",
    )  # fmt: skip
    run.add_argument(
        "--checks", default=None, metavar="CODES",
        help="comma-separated invariant codes to report; prefix a code with '-' to exclude it (default: all)",
    )  # fmt: skip
    run.add_argument(
        "--path", action="append", default=None, metavar="ROUTE",
        help="a route to fuzz, e.g. 'GET,POST /items/{id:int}' (repeatable); default: the routes read from the app",
    )  # fmt: skip
    run.add_argument(
        "--route", action="append", default=None, metavar="PATTERN",
        help="fuzz only the targets whose route path (or target name) matches this glob, "
        "e.g. '/items/*' or 'stack*' (repeatable)",
    )  # fmt: skip
    run.add_argument(
        "--connections", type=_positive_int, default=None, metavar="N",
        help="most connections per example: one example in four is a session of 2 to N connections on the one "
        "app instance, checked for state leaking between them (connection-isolation); 1 turns sessions off "
        "(default: 3)",
    )  # fmt: skip
    run.add_argument(
        "--lifespan", choices=["auto", "on", "off"], default=None,
        help="run the app's lifespan startup/shutdown around each connection, as uvicorn does (default: auto)",
    )  # fmt: skip
    run.add_argument(
        "--confirm", action="store_true",
        help="replay each finding on the real servers installed here (uvicorn, hypercorn, ...) and say where it reproduced",
    )  # fmt: skip
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first finding")
    run.add_argument(
        "-v", "--verbose", action="store_true",
        help="let the app's logging and prints through as they happen (no live panel); by default they are "
        "captured per example and shown with its finding",
    )  # fmt: skip
    run.add_argument(
        "--real-time", action=argparse.BooleanOptionalAction, default=None,
        help="use the real clock instead of virtual time",
    )  # fmt: skip
    run.add_argument(
        "--corpus", default=None, metavar="DIR",
        help="save each finding as a replayable case under DIR (default: a temporary folder, printed)",
    )  # fmt: skip
    run.add_argument("--junit-xml", default=None, metavar="FILE", help="write a JUnit XML report (one test per invariant)")
    run.add_argument("--sarif", default=None, metavar="FILE", help="write a SARIF 2.1.0 log for code-scanning dashboards")
    run.add_argument(
        "--report", choices=["auto", "full", "summary"], default="auto",
        help="what stdout shows: every finding in full, or one line each with the full report written to "
        f"{DEFAULT_REPORT_FILE} (default auto: full on a terminal, summary when piped, as in CI logs)",
    )  # fmt: skip
    run.add_argument(
        "--html", default=None, metavar="FILE",
        help="write an HTML report: each finding's minimal case drawn as a sequence diagram",
    )  # fmt: skip
    run.add_argument(
        "--database", default=None, metavar="DIR|URL",
        help=f"Hypothesis example database shared by the workers (default: {DEFAULT_DATABASE}); "
        "redis://host:port/db shares it between machines (pip install 'asgifuzz[redis]')",
    )  # fmt: skip
    run.add_argument("--no-database", action="store_true", help="do not read or write an example database")
    run.add_argument(
        "--block-timeout", type=_positive_float, default=None, metavar="SECONDS",
        help="report event-loop-blocked when one example makes no progress this long (default: 5)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgifuzz",
        description="Fuzz ASGI apps and middleware stacks: body chunking, client disconnects, scheduling.",
        epilog=EPILOG_MAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"asgifuzz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run_parser(sub)
    demo = sub.add_parser(
        "demo",
        help="fuzz the bundled demo app with a real-world middleware bug",
        description="Fuzz asgifuzz.demo:app, a small Starlette app whose error-handling middleware "
        "sends a 500 after the response started, and show the whole report.",
        epilog=EPILOG_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_budget_options(demo, max_examples=DEMO_MAX_EXAMPLES)
    demo.add_argument(
        "--confirm", action="store_true", help="replay each finding on the real servers installed here (uvicorn, ...)"
    )
    checks = sub.add_parser(
        "checks",
        help="list the invariants asgifuzz checks",
        description="List every invariant: its code (for --checks and corpus files), its group and "
        "severity (error or warning), a one-line description and where the rule comes from.",
        epilog=EPILOG_CHECKS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    checks.add_argument("--group", choices=["protocol", "lifecycle", "transparency"], default=None, help="only this group")
    checks.add_argument("--json", action="store_true", help="print the list as JSON")
    add_replay_parser(sub)
    add_show_parser(sub)
    add_confirm_parser(sub)
    return parser


# ------------------------------------------------------------------ checks


def _cmd_checks(args: argparse.Namespace) -> int:
    from rich.table import Table

    from asgifuzz.checks.invariants import INVARIANTS
    from asgifuzz.report.terminal import severity_style

    items = [inv for inv in INVARIANTS.values() if args.group is None or inv.group == args.group]
    if args.json:
        doc = [
            {"code": inv.code, "group": inv.group, "severity": inv.severity, "title": inv.title,
             "explanation": inv.explanation, "source": inv.source, "servers": inv.servers_json()}
            for inv in items
        ]  # fmt: skip
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    console = _console()
    table = Table(title=f"{len(items)} invariants", title_justify="left", show_lines=True)
    table.add_column("code", style="bold", no_wrap=True)
    table.add_column("group")
    table.add_column("severity")
    table.add_column("what it means / source")
    for inv in items:
        table.add_row(inv.code, inv.group, severity_style(inv.severity), f"{inv.title}\n[dim]real servers: {inv.servers_line()}\nsource: {inv.source}[/]")
    console.print(table)
    return EXIT_OK


# --------------------------------------------------------------------- run


#: The options of ``run`` that ``[tool.asgifuzz]`` can set: argparse dest -> (key, default).
#: The command line overrides the project, which overrides the default.
RUN_OPTIONS: dict[str, tuple[str, Any]] = {
    "target": ("app", None),
    "app_dir": ("app-dir", "."),
    "factory": ("factory", False),
    "checks": ("checks", None),
    "fail_on": ("fail-on", "error"),
    "max_time": ("max-time", None),
    "max_examples": ("max-examples", None),
    "seed": ("seed", None),
    "workers": ("workers", 1),
    "server_profile": ("server-profile", None),
    "backend": ("backend", "asyncio"),
    "lifespan": ("lifespan", "auto"),
    "connections": ("connections", 3),
    "path": ("paths", None),
    "route": ("routes", None),
    "corpus": ("corpus", None),
    "database": ("database", DEFAULT_DATABASE),
    "block_timeout": ("block-timeout", 5.0),
    "real_time": ("real-time", False),
}


def layer_options(args: argparse.Namespace, options: dict[str, tuple[str, Any]], project: Any) -> None:
    """Fill each option not given on the command line from ``project`` (``[tool.asgifuzz]``), else its default."""
    for dest, (key, default) in options.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, project.get(key, default) if project is not None else default)


def _settings(args: argparse.Namespace, *, demo: bool) -> Settings:
    """Every knob of the run from the command line, as one ``Settings``."""
    import random

    from asgifuzz._config import Settings

    default = DEMO_MAX_EXAMPLES if demo else DEFAULT_MAX_EXAMPLES
    return Settings.create(
        max_examples=resolve_budget(args.max_examples, args.max_time, default),
        max_time=args.max_time,
        seed=args.seed if args.seed is not None else random.randrange(2**32),
        backend=args.backend,
        profile=getattr(args, "server_profile", None),
        checks=getattr(args, "checks", None),
        exitfirst=getattr(args, "exitfirst", False),
        virtual_time=not getattr(args, "real_time", False),
        database=None if getattr(args, "no_database", False) else getattr(args, "database", DEFAULT_DATABASE),
        block_timeout=getattr(args, "block_timeout", 5.0),
        workers=args.workers,
        lifespan=getattr(args, "lifespan", "auto"),
        connections=getattr(args, "connections", None),
        paths=tuple(getattr(args, "path", None) or ()),
        routes=tuple(getattr(args, "route", None) or ()),
        show_output=getattr(args, "verbose", False),
    )


def _confirm_findings(findings: list[Finding], *, target: str, app_dir: str | None, factory: bool) -> None:
    """``--confirm``: replay each finding's case on the real servers installed here, and say what they did."""
    from asgifuzz._corpus import case_from_finding
    from asgifuzz.confirm import confirm_case
    from asgifuzz.supervisor import SUPERVISOR_CODES

    for finding in findings:
        if finding.case is None or finding.code in SUPERVISOR_CODES:
            continue
        cc = case_from_finding(finding, app=target, factory=factory)
        try:
            verdicts = confirm_case(cc, tries=2, timeout=10.0, app_dir=app_dir)
        except UsageError as exc:
            finding.confirmations.append(f"not confirmed: {exc}")
            continue
        finding.confirmations += [v.verdict for v in verdicts]


def run_options(settings: Settings, *, target: str, app_dir: str | None, factory: bool) -> RunOptions:
    """The supervisor's ``RunOptions``: the app to load in each worker, and the run's ``Settings``."""
    from asgifuzz.supervisor import RunOptions

    return RunOptions(target, app_dir=app_dir, factory=factory, settings=settings)


def _supervise(options: RunOptions, console: Any, *, live: bool, intro: str | None) -> RunResult:
    """Run the workers, with the live panel on a terminal."""
    from rich.live import Live

    from asgifuzz.report.terminal import progress_view
    from asgifuzz.supervisor import Snapshot, supervise

    budget = None if options.max_examples >= TIME_BOUNDED else options.max_examples

    def view(snapshot: Snapshot) -> Any:
        return progress_view(snapshot, target=options.target, max_examples=budget, max_time=options.max_time,
                             seed=options.seed)  # fmt: skip

    if intro is not None:
        console.print(intro)
    panel: Live | None = None
    if live:
        panel = Live(view(Snapshot(workers=options.workers)), console=console, refresh_per_second=8, transient=True)
        panel.start()

    def on_update(snapshot: Snapshot) -> None:
        if panel is not None:
            panel.update(view(snapshot))

    try:
        return supervise(options, on_update)
    finally:
        if panel is not None:
            panel.stop()


def _check_error(result: RunResult, *, debug: bool) -> int | None:
    """Exit status 3 for asgifuzz's own failure; ``UsageError`` for bad input; None when the run worked."""
    if result.error is None:
        return None
    if debug and result.error_detail:
        print(result.error_detail.rstrip(), file=sys.stderr)
    if result.internal:
        print(f"asgifuzz: {result.error}", file=sys.stderr)
        return EXIT_INTERNAL
    raise UsageError(result.error)


def _rerun_command(args: argparse.Namespace, options: RunOptions, *, demo: bool) -> str:
    """The command that reruns this run (the replay hint of findings not saved to a corpus)."""
    from asgifuzz.report.text import quote_args

    rerun = ["asgifuzz", "demo"] if demo else ["asgifuzz", "run", options.target]
    rerun += ["--seed", str(options.seed)]
    if options.app_dir not in (None, "."):
        rerun += ["--app-dir", str(options.app_dir)]
    if options.factory:
        rerun.append("--factory")
    if options.workers > 1 and not demo:
        rerun += ["--workers", str(options.workers)]
    if args.max_examples is not None and not demo:
        rerun += ["--max-examples", str(args.max_examples)]
    elif args.max_time is not None and not demo:
        rerun += ["--max-time", f"{args.max_time:g}"]
    return quote_args(rerun)


def _report(result: RunResult, settings: Settings, *, target: str, fail_on: FailOn) -> RunReport:
    from asgifuzz.report import Coverage, RunReport

    snap = result.snapshot
    return RunReport(
        findings=result.findings,
        target=target,
        seed=result.seed,
        examples=snap.examples,
        elapsed=result.elapsed,
        settings=settings,
        notes=list(result.notes),
        interrupted=result.interrupted,
        coverage=Coverage.of(snap),
        workers=snap.workers,
        fail_on=fail_on,
    )


def _run(args: argparse.Namespace, *, target: str, app_dir: str | None, demo: bool = False) -> int:
    from asgifuzz.report import check_fail_on, run_handlers
    from asgifuzz.report.corpus import CorpusHandler
    from asgifuzz.supervisor import SUPERVISOR_CODES

    settings = _settings(args, demo=demo)
    fail_on = check_fail_on(args.fail_on)
    database_was_new = settings.database is not None and not Path(settings.database).exists()
    options = run_options(settings, target=target, app_dir=app_dir, factory=getattr(args, "factory", False))
    console = _console()
    show = not args.json
    result = _supervise(options, console, live=show and console.is_terminal and not settings.show_output, intro=DEMO_INTRO if demo and show else None)
    status = _check_error(result, debug=args.debug)
    if status is not None:
        return status
    check_backend_mismatch(result.findings, settings.backends)
    report = _report(result, settings, target=target, fail_on=fail_on)
    rerun = _rerun_command(args, options, demo=demo)
    report.hints.update({f.key: rerun for f in report.findings})

    handlers: list[Handler] = []
    # Every finding gets a self-contained replay: a case file under --corpus,
    # else under a temporary folder; the file records where the app imports
    # from (relative to the project root), so 'asgifuzz replay FILE' works
    # from any directory and runs only that case.
    corpus_dir = getattr(args, "corpus", None)
    saved_to_temp = corpus_dir is None
    if corpus_dir is None and any(f.code not in SUPERVISOR_CODES and f.case is not None for f in report.findings):
        corpus_dir = tempfile.mkdtemp(prefix="asgifuzz-cases-")
    corpus: CorpusHandler | None = None
    if corpus_dir is not None:
        corpus = CorpusHandler(
            corpus_dir, app=target, factory=options.factory, virtual_time=options.virtual_time,
            skip=SUPERVISOR_CODES, hint=lambda path: replay_command(path, app_dir=None),
            app_dir=None if demo else (app_dir or "."), project_root=None if demo else find_root(),
        )  # fmt: skip
        handlers.append(corpus)
    handlers += _file_handlers(args)
    handlers.append(_output_handler(args, console))
    if getattr(args, "confirm", False):
        _confirm_findings(report.findings, target=target, app_dir=app_dir, factory=options.factory)
    run_handlers(report, handlers)
    if show and corpus is not None and corpus.saved:
        where = f"the temporary folder {corpus_dir} (--corpus DIR keeps them)" if saved_to_temp else str(corpus_dir)
        console.print(f"corpus: {len(corpus.saved)} case(s) saved under {where}", soft_wrap=True)
    if show:
        hint = gitignore_hint(database_was_new, getattr(args, "database", None))
        if hint:
            console.print(hint, soft_wrap=True)
    if show and demo:
        console.print()
        console.print(DEMO_OUTRO)
    return report.exit_status()


def replay_command(path: Path, *, app_dir: str | None) -> str:
    from asgifuzz._corpus import replay_command as command

    return command(path, app_dir=app_dir)


def _file_handlers(args: argparse.Namespace) -> list[Handler]:
    """``--junit-xml``, ``--sarif`` and ``--html``."""
    out: list[Handler] = []
    if getattr(args, "junit_xml", None):
        from asgifuzz.report.junit import JUnitHandler

        out.append(JUnitHandler(args.junit_xml))
    if getattr(args, "sarif", None):
        from asgifuzz.report.sarif import SarifHandler

        out.append(SarifHandler(args.sarif))
    if getattr(args, "html", None):
        from asgifuzz.report.html import HtmlHandler

        out.append(HtmlHandler(args.html))
    return out


def _output_handler(args: argparse.Namespace, console: Any) -> Handler:
    """What goes to stdout: the JSON document, or the terminal report."""
    if args.json:
        from asgifuzz.report.json import JsonHandler

        return JsonHandler(sys.stdout)
    from asgifuzz.report.terminal import SummaryHandler, TerminalHandler

    mode = getattr(args, "report", "full")  # the demo always shows its whole report
    if mode == "summary" or (mode == "auto" and not console.is_terminal):
        return SummaryHandler(console, DEFAULT_REPORT_FILE)
    return TerminalHandler(console)


def _console() -> Any:
    """A rich console on stdout; wide enough for the tables when stdout is a file or a pipe."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _cmd_run(args: argparse.Namespace) -> int:
    from asgifuzz._project import load_project

    project = load_project()
    options = RUN_OPTIONS
    if args.max_time is not None or args.max_examples is not None:
        # The budget is one setting: '--max-time 300' on the command line runs for 300 s,
        # not until the project's max-examples.
        options = {k: v for k, v in RUN_OPTIONS.items() if k not in ("max_time", "max_examples")}
    layer_options(args, options, project)
    if args.target is None:
        raise UsageError("no app given: name it as MODULE:ATTR (e.g. 'asgifuzz run main:app') "
                         "or set app = \"main:app\" under [tool.asgifuzz] in pyproject.toml")  # fmt: skip
    return _run(args, target=args.target, app_dir=args.app_dir)


def _cmd_demo(args: argparse.Namespace) -> int:
    # The demo fuzzes the bundled app: the project's [tool.asgifuzz] does not apply.
    layer_options(args, {k: RUN_OPTIONS[k] for k in ("fail_on", "max_time", "max_examples", "seed", "workers", "backend")}, None)
    return _run(args, target=DEMO_TARGET, app_dir=None, demo=True)


# -------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "checks":
            return _cmd_checks(args)
        if args.command == "replay":
            return cmd_replay(args)
        if args.command == "show":
            return cmd_show(args)
        if args.command == "confirm":
            return cmd_confirm(args)
        parser.print_help()
        return EXIT_USAGE
    except UsageError as exc:
        if debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"asgifuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("asgifuzz: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
