"""The ``asgifuzz replay`` and ``asgifuzz show`` subcommands (rendering only; logic in ``_corpus``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from asgifuzz._errors import CorpusError, UsageError

__all__ = ("add_replay_parser", "add_show_parser", "cmd_replay", "cmd_show")

EPILOG_REPLAY = """examples:
  asgifuzz replay                       # every case under ./corpus
  asgifuzz replay corpus/exception-on-disconnect-0123456789ab.json
  asgifuzz replay corpus --app main:app --app-dir src
  asgifuzz replay corpus --checks=-exception-swallowed   # an accepted invariant: its cases are skipped

Defaults come from [tool.asgifuzz] in the nearest pyproject.toml (corpus,
checks, fail-on); the command line overrides them.

exit status: 0 every case passes (the bugs are fixed, or only warnings remain),
1 at least one case still fails with an error-level finding (or any finding,
with --fail-on warning), 2 bad input (unreadable or invalid files, apps that do
not import)
"""


def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="replay saved corpus cases (no generation), e.g. in CI",
        description="Replay every corpus case exactly as saved, with the same driver and invariant checks "
        "as fuzzing but no Hypothesis generation, and report which still fail.",
        epilog=EPILOG_REPLAY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", metavar="CORPUS_DIR_OR_FILE",
        help="corpus files or folders (default: 'corpus' in [tool.asgifuzz], else ./corpus)",
    )  # fmt: skip
    _app_options(parser)
    parser.add_argument(
        "--checks", default=None, metavar="CODES",
        help="invariant codes that count, as for 'run' ('-code' excludes one); cases saved for an "
        "excluded invariant are skipped with a note",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="print the full report of every failing case")
    parser.add_argument(
        "--fail-on", choices=["error", "warning"], default=None,
        help="lowest severity that makes a case fail (default: error; warning-only cases are listed, exit 0)",
    )  # fmt: skip
    return parser


def add_show_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "show",
        help="print a corpus case as the messages between client, server and app",
        description="Print a corpus case: the request, the client's script, and (when the app imports) the "
        "trace of messages between client, server and app obtained by replaying it.",
    )
    parser.add_argument("file", metavar="FILE", help="a corpus JSON file")
    _app_options(parser)
    parser.add_argument("--no-replay", action="store_true", help="only print the saved script, do not run the app")
    parser.add_argument(
        "--http", nargs="?", const="127.0.0.1:8000", default=None, metavar="HOST:PORT",
        help="print the raw HTTP/1.1 bytes and pauses a client sends to reproduce the case against a "
        "running server (default 127.0.0.1:8000), and a curl command where curl can express it",
    )  # fmt: skip
    parser.add_argument(
        "--html", default=None, metavar="FILE",
        help="also write the replayed case as an HTML sequence diagram (client, server, each middleware, the endpoint)",
    )  # fmt: skip
    return parser


def _app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app", default=None, metavar="MODULE:ATTR", help="replay against this app instead of the one each file names")
    parser.add_argument(
        "--app-dir",
        default=None,
        metavar="DIR",
        help="directory to import apps from (default: the working directory, then the corpus file's folder)",
    )


def cmd_replay(args: argparse.Namespace) -> int:
    from asgifuzz._config import select_checks
    from asgifuzz._corpus import AppCache, ReplayResult, load_corpus, replay_case
    from asgifuzz._project import load_project
    from asgifuzz.report.text import render_finding

    project = load_project()
    paths = args.paths or [project.get("corpus", "corpus")]
    checks_text = args.checks if args.checks is not None else project.get("checks")
    checks = select_checks(checks_text)
    checks_from = "--checks" if args.checks is not None else f"checks in {project.path}"
    if args.fail_on is None:
        args.fail_on = project.get("fail-on", "error")
    cases, errors = load_corpus(paths)
    for line in errors:
        print(f"asgifuzz: error: {line}", file=sys.stderr)
    cache = AppCache()
    rows: list[tuple[str, str, str]] = []
    failing: list[ReplayResult] = []
    warned: list[ReplayResult] = []
    fail_on = getattr(args, "fail_on", "error")
    bad = bool(errors)
    skipped: list[str] = []
    for cc in cases:
        label = str(cc.path) if cc.path is not None else cc.name
        if checks is not None and cc.expect is not None and cc.expect not in checks:
            rows.append((label, cc.expect, "skipped (invariant not checked)"))
            skipped.append(cc.expect)
            continue
        app_dir = args.app_dir
        if app_dir is None and cc.import_dir() is None and args.app is None:
            app_dir = project.get("app-dir")  # a file saved before cases recorded their app's folder
        try:
            result = replay_case(cc, app=args.app, app_dir=app_dir, cache=cache)
        except (CorpusError, UsageError) as exc:
            print(f"asgifuzz: error: {label}: {exc}" if not str(exc).startswith(label) else f"asgifuzz: error: {exc}", file=sys.stderr)
            rows.append((label, cc.expect or "pass", "error"))
            bad = True
            continue
        if checks is not None:
            result.findings = [f for f in result.findings if f.code in checks]
        if result.failing and (fail_on == "warning" or any(f.severity == "error" for f in result.findings)):
            failing.append(result)
            rows.append((label, cc.expect or "pass", result.outcome))
        elif result.failing:
            warned.append(result)
            rows.append((label, cc.expect or "pass", f"{result.outcome} (warning)"))
        else:
            rows.append((label, cc.expect or "pass", result.outcome))
    if rows:
        width = max(len("case"), *(len(r[0]) for r in rows))
        inv_width = max(len("invariant"), *(len(r[1]) for r in rows))
        print(f"{'case':<{width}}  {'invariant':<{inv_width}}  outcome")
        for case_label, invariant, outcome in rows:
            print(f"{case_label:<{width}}  {invariant:<{inv_width}}  {outcome}")
    passing = sum(1 for r in rows if r[2] == "passing")
    print(
        f"{len(rows)} case(s): {passing} passing, {len(failing)} still failing"
        + (f", {len(skipped)} skipped" if skipped else "")
        + (f", {len(warned)} with warnings only (not failing)" if warned else "")
        + (f", {len(errors) + sum(1 for r in rows if r[2] == 'error')} bad input" if bad else "")
    )
    if skipped:
        codes = ", ".join(sorted(set(skipped)))
        print(f"note: {len(skipped)} case(s) skipped: {codes} not checked ({checks_from}); "
              "delete their files once the invariant is accepted for good")  # fmt: skip
    if args.verbose:
        for i, result in enumerate(failing + warned, 1):
            finding = result.finding
            if finding is not None:
                print()
                print(render_finding(finding, i, replay_hint=_hint(result)))
    if not rows and not errors:
        print(f"asgifuzz: error: no corpus files found under {', '.join(paths)}", file=sys.stderr)
        return 2
    if bad:
        return 2
    return 1 if failing else 0


def _hint(result: Any) -> str:
    from asgifuzz._corpus import replay_command

    path = result.corpus_case.path
    return replay_command(path) if path is not None else ""


def _print_http(cc: Any, host: str) -> int:
    """``show --http``: the bytes and pauses that reproduce the case against a server at ``host``."""
    from asgifuzz._http_script import curl_command, render_http

    print()
    port = host.rpartition(":")[2] or "8000"
    serve = f"uvicorn {cc.app} --port {port}" + (" --factory" if cc.factory else "") if cc.app else "your server"
    print(f"to reproduce against a running server (e.g. '{serve}'), a client sends:")
    try:
        lines = render_http(cc.case, host)
    except ValueError as exc:
        print(f"asgifuzz: error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    curl, note = curl_command(cc.case, f"http://{host}")
    print()
    if curl is None:
        print(f"curl: cannot express this case: {note}")
    else:
        print("with curl" + (f" ({note}):" if note else ":"))
        print(f"  {curl}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from asgifuzz._case import describe_action
    from asgifuzz._corpus import load_case, replay_case
    from asgifuzz.report.text import render_trace

    try:
        cc = load_case(args.file)
    except CorpusError as exc:
        print(f"asgifuzz: error: {exc}", file=sys.stderr)
        return 2
    case = cc.case
    scope = case.scope
    query = scope.get("query_string") or b""
    print(f"case: {args.file}  (format 1, saved by asgifuzz {cc.asgifuzz_version or '?'})")
    if cc.description:
        print(f"  {cc.description}")
    print(f"app: {cc.app or '-'}" + (f"  middleware: {cc.middleware}" if cc.middleware else ""))
    print(f"target: {case.target}  (backend {case.backend}, server profile {case.profile}"
          + (f", schedule seed {case.schedule_seed}" if case.backend == "trio" else "") + ")")
    print(f"expect: {'violation ' + cc.expect if cc.expect else 'pass'}")
    print(f"request: {scope.get('method')} {scope.get('path')}" + (f"?{query.decode('latin-1')}" if query else ""))
    for name, value in scope.get("headers", []):
        print(f"  {name.decode('latin-1')}: {value.decode('latin-1')}")
    print(f"  body: {len(case.body)} byte(s) {case.body[:80]!r}" + ("..." if len(case.body) > 80 else ""))
    print("client script:")
    steps = [describe_action(a) for a in case.actions] or ["(no actions: the client sends its request and waits)"]
    for i, step in enumerate(steps, 1):
        print(f"  {i}. {step}")
    if args.http is not None:
        status = _print_http(cc, args.http)
        if status or not args.html:
            return status
    if args.no_replay:
        if args.html:
            print("asgifuzz: error: --html draws the replayed case; it cannot go with --no-replay", file=sys.stderr)
            return 2
        return 0
    app_dir = args.app_dir
    if app_dir is None and cc.import_dir() is None and args.app is None:
        from asgifuzz._project import load_project

        app_dir = load_project().get("app-dir")  # as replay does, for a case saved without its app's folder
    try:
        result = replay_case(cc, app=args.app, app_dir=app_dir)
    except (CorpusError, UsageError) as exc:
        print(f"(not replayed: {exc}; use --app/--app-dir, or --no-replay)")
        return 2
    finding = result.finding
    print(f"replayed: {result.outcome}")
    if finding is not None:
        print(f"  {finding.code}: {finding.invariant.title}")
        print(f"  {finding.message}")
        trace = finding.trace
    else:
        trace = result.trace
    print("messages (seq, virtual time, who -> whom, message):")
    for line in render_trace(trace, limit=200):
        print(line)
    if args.html:
        _write_html(args.html, cc, finding, trace, outcome=result.outcome)
    return 0


def _write_html(path: str, cc: Any, finding: Any, trace: Any, *, outcome: str) -> None:
    from asgifuzz.report.base import write_file
    from asgifuzz.report.html import case_document

    name = cc.path.name if cc.path is not None else cc.name
    heading = [f"app: {cc.app or '-'}", f"expect: {'violation ' + cc.expect if cc.expect else 'pass'}; replayed: {outcome}"]
    write_file(path, case_document(f"asgifuzz case {name}", finding=finding, trace=trace, case=cc.case, heading=heading))
    print(f"html: {path}")

