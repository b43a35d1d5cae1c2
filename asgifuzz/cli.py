"""The ``asgifuzz`` command line.

Commands: ``run`` (fuzz an app in supervised worker processes, see
``_supervisor``), ``demo`` (``run`` on the bundled ``asgifuzz.demo`` app),
``replay`` and ``show`` (corpus cases, ``_corpus_cli``), ``checks``.  This
module parses options and renders; the engine lives elsewhere.

Exit status: 0 no finding, 1 at least one finding, 2 usage error or bad
input, 3 internal error of asgifuzz, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asgifuzz import __version__
from asgifuzz._corpus_cli import add_replay_parser, add_show_parser, cmd_replay, cmd_show
from asgifuzz._errors import UsageError
from asgifuzz.confirm.cli import add_confirm_parser, cmd_confirm

__all__ = ("build_parser", "main")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

DEFAULT_DATABASE = os.path.join(".asgifuzz", "examples")
DEMO_TARGET = "asgifuzz.demo:app"

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
  asgifuzz run main:app --corpus corpus --junit-xml asgifuzz.xml --sarif asgifuzz.sarif
  asgifuzz run main:app --json > findings.json

The app runs in worker processes: an app that blocks the event loop or ends
the process is reported as a finding, and the run ends within --max-time plus
a few seconds.  Workers share one Hypothesis example database (--database), so
a rerun replays the failing examples of earlier runs first.

exit status: 0 no finding, 1 at least one finding, 2 usage error or bad input,
3 internal error of asgifuzz, 130 interrupted (what was found so far is printed
and saved)
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
        "--max-examples", type=_positive_int, default=max_examples,
        help=f"interactions to generate, split between workers (default: {max_examples})",
    )  # fmt: skip
    parser.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS", help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=None, help="random seed, to reproduce a run")
    parser.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N",
        help="worker processes sharing one example database (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--backend", choices=["asyncio", "trio", "both"], default="asyncio", help="event loop (default: asyncio)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout (no progress display)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks behind errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgifuzz",
        description="Fuzz ASGI apps and middleware stacks: body chunking, client disconnects, scheduling.",
        epilog=EPILOG_MAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"asgifuzz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="fuzz an app given as MODULE:ATTR",
        description="Fuzz an ASGI app: each route as it is, and its middleware stack in front of "
        "asgifuzz's adversarial endpoints.",
        epilog=EPILOG_RUN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("target", metavar="MODULE:ATTR", help="the app, e.g. main:app")
    run.add_argument("--app-dir", default=".", help="directory to import the module from (default: .)")
    run.add_argument("--factory", action="store_true", help="MODULE:ATTR is a factory returning the app")
    _add_budget_options(run, max_examples=1000)
    run.add_argument(
        "--server-profile", default="uvicorn", metavar="NAME",
        help="server to imitate: uvicorn (default), hypercorn, daphne, strict",
    )  # fmt: skip
    run.add_argument(
        "--checks", default=None, metavar="CODES",
        help="comma-separated invariant codes to report; prefix a code with '-' to exclude it (default: all)",
    )  # fmt: skip
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first finding")
    run.add_argument("--real-time", action="store_true", help="use the real clock instead of virtual time")
    run.add_argument("--corpus", default=None, metavar="DIR", help="save each finding as a replayable case under DIR")
    run.add_argument("--junit-xml", default=None, metavar="FILE", help="write a JUnit XML report (one test per invariant)")
    run.add_argument("--sarif", default=None, metavar="FILE", help="write a SARIF 2.1.0 log for code-scanning dashboards")
    run.add_argument(
        "--database", default=DEFAULT_DATABASE, metavar="DIR",
        help=f"Hypothesis example database shared by the workers (default: {DEFAULT_DATABASE})",
    )  # fmt: skip
    run.add_argument("--no-database", action="store_true", help="do not read or write an example database")
    run.add_argument(
        "--block-timeout", type=_positive_float, default=5.0, metavar="SECONDS",
        help="report event-loop-blocked when one example makes no progress this long (default: 5)",
    )  # fmt: skip
    demo = sub.add_parser(
        "demo",
        help="fuzz the bundled demo app with a real-world middleware bug",
        description="Fuzz asgifuzz.demo:app, a small Starlette app whose error-handling middleware "
        "sends a 500 after the response started, and show the whole report.",
        epilog=EPILOG_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_budget_options(demo, max_examples=300)
    checks = sub.add_parser(
        "checks",
        help="list the invariants asgifuzz checks",
        description="List every invariant: its code (for --checks and corpus files), a one-line "
        "description and where the rule comes from.",
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

    items = [(code, cls) for code, cls in INVARIANTS.items() if args.group is None or cls.group == args.group]
    if args.json:
        doc = [
            {"code": code, "group": cls.group, "title": cls.title, "explanation": cls.explanation, "source": cls.source}
            for code, cls in items
        ]
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    console = _console()
    table = Table(title=f"{len(items)} invariants", title_justify="left", show_lines=True)
    table.add_column("code", style="bold", no_wrap=True)
    table.add_column("group")
    table.add_column("what it means / source")
    for code, cls in items:
        table.add_row(code, cls.group, f"{cls.title}\n[dim]source: {cls.source}[/]")
    console.print(table)
    return EXIT_OK


# --------------------------------------------------------------------- run


def _select_checks(text: str | None) -> tuple[str, ...] | None:
    """``--checks a,b`` keeps a and b; ``--checks=-a,-b`` keeps all but a and b."""
    from asgifuzz._config import select_checks

    selected = select_checks(text)
    return None if selected is None else tuple(sorted(selected))


def _run(args: argparse.Namespace, *, target: str, app_dir: str | None, demo: bool = False) -> int:
    import random

    from rich.live import Live

    from asgifuzz._report import finding_to_json, print_findings, progress_view, summary_table
    from asgifuzz._supervisor import SUPERVISOR_CODES, RunOptions, Snapshot, supervise
    from asgifuzz.server.profiles import get_profile

    profile = getattr(args, "server_profile", "uvicorn")
    get_profile(profile)
    checks = _select_checks(getattr(args, "checks", None))
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    backends = ("asyncio", "trio") if args.backend == "both" else (args.backend,)
    database = None if getattr(args, "no_database", False) else getattr(args, "database", DEFAULT_DATABASE)
    options = RunOptions(
        target=target,
        app_dir=app_dir,
        factory=getattr(args, "factory", False),
        max_examples=args.max_examples,
        max_time=args.max_time,
        seed=seed,
        backends=backends,
        profile=profile,
        checks=checks,
        exitfirst=getattr(args, "exitfirst", False),
        virtual_time=not getattr(args, "real_time", False),
        database=database,
        block_timeout=getattr(args, "block_timeout", 5.0),
        workers=args.workers,
    )
    console = _console()
    live: Live | None = None
    if console.is_terminal and not args.json:
        if demo:
            console.print(DEMO_INTRO)
        live = Live(
            progress_view(Snapshot(workers=args.workers), target=target, max_examples=args.max_examples,
                          max_time=args.max_time, seed=seed),
            console=console, refresh_per_second=8, transient=True,
        )  # fmt: skip
        live.start()
    elif demo and not args.json:
        console.print(DEMO_INTRO)

    def on_update(snapshot: Snapshot) -> None:
        if live is not None:
            live.update(
                progress_view(snapshot, target=target, max_examples=args.max_examples, max_time=args.max_time, seed=seed)
            )

    try:
        result = supervise(options, on_update)
    finally:
        if live is not None:
            live.stop()
    if result.error is not None:
        if args.debug and result.error_detail:
            print(result.error_detail.rstrip(), file=sys.stderr)
        if result.internal:
            print(f"asgifuzz: {result.error}", file=sys.stderr)
            return EXIT_INTERNAL
        raise UsageError(result.error)

    findings = result.findings
    # Save the corpus and build each finding's reproduction.
    hints: dict[int, str] = {}
    corpus_dir = getattr(args, "corpus", None)
    rerun = ["asgifuzz", "run", target, "--seed", str(seed)]
    if app_dir not in (None, "."):
        rerun += ["--app-dir", str(app_dir)]
    if options.factory:
        rerun.append("--factory")
    if args.workers > 1:
        rerun += ["--workers", str(args.workers)]
    if args.max_examples != 1000:
        rerun += ["--max-examples", str(args.max_examples)]
    if demo:
        rerun = ["asgifuzz", "demo", "--seed", str(seed)]
    from asgifuzz._report import quote_args

    for finding in findings:
        hints[id(finding)] = quote_args(rerun)
    if corpus_dir is not None:
        from asgifuzz._corpus import replay_command, save_finding

        for finding in findings:
            if finding.code in SUPERVISOR_CODES or finding.case is None:
                continue
            path = save_finding(finding, target, corpus_dir, factory=options.factory, virtual_time=options.virtual_time)
            hints[id(finding)] = replay_command(path, app_dir=None if app_dir in (None, ".") else app_dir)

    snap = result.snapshot
    if getattr(args, "junit_xml", None):
        from asgifuzz._export import junit_xml

        _write(args.junit_xml, junit_xml(findings, target=target, codes=checks, elapsed=result.elapsed,
                                         examples=snap.examples, hints=hints))  # fmt: skip
    if getattr(args, "sarif", None):
        from asgifuzz._export import sarif_document

        doc = sarif_document(findings, target=target, version=__version__, hints=hints)
        _write(args.sarif, json.dumps(doc, indent=2) + "\n")

    status = EXIT_FINDINGS if findings else EXIT_OK
    if result.interrupted:
        status = EXIT_INTERRUPTED
    if args.json:
        doc = {
            "asgifuzz": __version__,
            "target": target,
            "examples": snap.examples,
            "elapsed": round(result.elapsed, 3),
            "seed": seed,
            "workers": snap.workers,
            "interrupted": result.interrupted,
            "exit_status": status,
            "coverage": {
                "steps": snap.steps,
                "disconnect_positions": sorted(snap.disconnect_positions),
                "targets": sorted(snap.targets_seen),
                "backends": sorted(snap.backends_seen),
                "stack_depths": sorted(snap.depths_seen),
            },
            "notes": result.notes,
            "findings": [dict(finding_to_json(f), replay=hints.get(id(f))) for f in findings],
        }
        print(json.dumps(doc, indent=2, sort_keys=True))
        return status
    rate = snap.examples / result.elapsed if result.elapsed > 0 else 0.0
    console.print(
        f"asgifuzz {__version__}: {snap.examples} examples in {result.elapsed:.1f}s ({rate:,.0f}/s, "
        f"{snap.workers} worker(s), seed {seed}), {len(findings)} finding(s)"
        + (" -- interrupted" if result.interrupted else "")
    )
    for note in result.notes:
        console.print(f"note: {note}")
    print_findings(console, findings, hints)
    if findings:
        console.print()
        console.print(summary_table(findings, examples=snap.examples, elapsed=result.elapsed, seed=seed))
    if corpus_dir is not None:
        console.print(f"corpus: {sum(1 for f in findings if f.code not in SUPERVISOR_CODES)} case(s) saved under {corpus_dir}")
    if demo:
        console.print()
        console.print(DEMO_OUTRO)
    return status


def _console() -> Any:
    """A rich console on stdout; wide enough for the tables when stdout is a file or a pipe."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _write(path: str, text: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from exc


def _cmd_run(args: argparse.Namespace) -> int:
    return _run(args, target=args.target, app_dir=args.app_dir)


def _cmd_demo(args: argparse.Namespace) -> int:
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
