"""``asgifuzz confirm``: replay corpus cases on real servers (argument parsing and rendering only)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from asgifuzz import CorpusError, UsageError, __version__
from asgifuzz._case import describe_action
from asgifuzz._corpus import CorpusCase, corpus_files, load_case
from asgifuzz.confirm._confirm import DEFAULT_TIMEOUT, DEFAULT_TRIES, ServerVerdict, confirm_case, select_servers
from asgifuzz.confirm._logs import condense
from asgifuzz.confirm._servers import SERVERS
from asgifuzz.confirm._ws_client import WsClientView

__all__ = ("add_confirm_parser", "cmd_confirm")

EPILOG = """examples:
  asgifuzz confirm corpus/exception-on-disconnect-4dfb048010f9.json
  asgifuzz confirm corpus --server uvicorn --tries 5
  asgifuzz confirm corpus/app-raised-2b3f2335a386.json --python .venv/bin/python --json

Each case's app is served by each installed server (or those given with
--server) on 127.0.0.1 in a subprocess, and a raw HTTP/1.1 client replays the
case: the request, the body in the case's chunks with short pauses where the
app ran, and the disconnect as a socket shutdown.  The finding is confirmed
when the server logs the app's exception (exception-on-disconnect,
app-raised), rejects a message (protocol invariants), or the client gets no
complete response (response-incomplete, app-hang).  Invariants a server
cannot show are "undecided", with the evidence printed.

exit status: 0 no finding reproduced, 1 a finding reproduced on a real server,
2 bad input (unreadable case, app that does not start, no server installed),
130 interrupted
"""


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 1")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def add_confirm_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "confirm",
        help="replay corpus cases on real servers (uvicorn, hypercorn, ...) to confirm findings",
        description="Serve each case's app with real ASGI servers on loopback, replay the case with a raw "
        "socket client, and report whether the finding reproduces outside asgifuzz.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="CASE_FILE", help="corpus case files (or folders of them)")
    parser.add_argument(
        "--server", action="append", default=None, metavar="NAME",
        help=f"server to use: {', '.join(SERVERS)} or all (default: all installed); repeat or comma-separate",
    )  # fmt: skip
    parser.add_argument(
        "--tries", type=_positive_int, default=DEFAULT_TRIES, metavar="N",
        help=f"replays per server; a finding is confirmed if any reproduces (default: {DEFAULT_TRIES})",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"wait this long for the response after the client's script (default: {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument(
        "--python", default=sys.executable, metavar="PATH",
        help="interpreter that has the app's dependencies and the servers (default: this one)",
    )  # fmt: skip
    parser.add_argument(
        "--app-dir", default=None, metavar="DIR",
        help="directory to import the app from (default: the working directory, then the case file's folder)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every try and the whole server log")
    return parser


def _server_names(raw: list[str] | None) -> list[str] | None:
    if not raw:
        return None
    return [name.strip() for item in raw for name in item.split(",") if name.strip()]


def _error(line: str) -> None:
    print(f"asgifuzz: error: {line}", file=sys.stderr)


def cmd_confirm(args: argparse.Namespace) -> int:
    # Every file is read before any server starts: bad input fails fast.
    files, errors = corpus_files(args.paths)
    cases: list[CorpusCase] = []
    for path in files:
        try:
            cases.append(load_case(path))
        except CorpusError as exc:
            errors.append(str(exc))
    for line in errors:
        _error(line)
    if not cases:
        if not errors:
            _error(f"no corpus case files under {', '.join(args.paths)}")
        return 2
    servers = _server_names(args.server)
    try:
        installed = select_servers(servers, args.python)
    except UsageError as exc:
        _error(str(exc))
        return 2
    if not args.json:
        names = ", ".join(f"{spec.name} {version}" for spec, version in installed)
        print(f"asgifuzz {__version__} confirm: {len(cases)} case(s) on {names}")
    results: list[tuple[CorpusCase, list[ServerVerdict]]] = []
    late: list[str] = []
    for cc in cases:
        try:
            verdicts = confirm_case(cc, servers, args.tries, args.timeout, args.python, app_dir=args.app_dir)
        except UsageError as exc:
            late.append(str(exc))
            continue
        late += [f"{cc.name}: {v.reason}" for v in verdicts if v.outcome == "error"]
        results.append((cc, verdicts))
        if not args.json:
            print()
            print(render_case(cc, verdicts, verbose=args.verbose))
    for line in late:
        _error(line)
    errors += late
    confirmed = sum(any(v.confirmed for v in vs) for _, vs in results)
    status = 2 if errors else (1 if confirmed else 0)
    if args.json:
        doc = {
            "asgifuzz": __version__,
            "python": args.python,
            "servers": {spec.name: version for spec, version in installed},
            "cases": [_case_json(cc, vs) for cc, vs in results],
            "errors": errors,
            "exit_status": status,
        }
        print(json.dumps(doc, indent=2))
    else:
        print()
        print(
            f"{len(results)} case(s): {confirmed} confirmed on a real server"
            + (f", {len(errors)} error(s)" if errors else "")
        )
    return status


def _case_json(cc: CorpusCase, verdicts: list[ServerVerdict]) -> dict[str, Any]:
    return {
        "file": str(cc.path) if cc.path is not None else cc.name,
        "invariant": cc.expect,
        "app": cc.app,
        "target": cc.case.target,
        "confirmed": any(v.confirmed for v in verdicts),
        "servers": [v.to_json() for v in verdicts],
    }


def render_case(cc: CorpusCase, verdicts: list[ServerVerdict], *, verbose: bool = False) -> str:
    """The text report of one case on every server."""
    case = cc.case
    scope = case.scope
    lines = [str(cc.path) if cc.path is not None else cc.name]
    lines.append(f"  expects: {cc.expect or 'pass'}" + (f" ({cc.message})" if cc.message else ""))
    lines.append(
        f"  app: {cc.app}; request: {scope.get('method')} {scope.get('path')} with {len(case.body)} body byte(s)"
    )
    script = "; ".join(describe_action(a) for a in case.actions) or "the client sends its request and waits"
    lines.append(f"  script: {script}")
    notes = verdicts[0].notes if verdicts else ()
    lines += [f"  note: {note}" for note in notes]
    for v in verdicts:
        lines += _render_verdict(v, verbose=verbose)
    return "\n".join(lines)


def _render_verdict(v: ServerVerdict, *, verbose: bool) -> list[str]:
    out = [f"  {v.label}: {v.verdict}", f"    why: {v.reason}"]
    attempts = v.attempts if verbose else tuple(a for a in (v.shown,) if a is not None)
    for attempt in attempts:
        if verbose:
            out.append(f"    try {v.attempts.index(attempt) + 1}: {attempt.outcome}: {attempt.reason}")
        c = attempt.client
        out.append(f"    client saw: {c.summary()}")
        if isinstance(c, WsClientView):
            if c.received:
                out.append(f"    messages: {[m for _, m in c.received][:5]!r}")
        elif c.body:
            out.append(f"    body: {c.body_preview()}")
        if attempt.exception:
            out.append(f"    app exception: {attempt.exception}")
        log = list(attempt.log) if verbose else condense(list(attempt.log))
        if log:
            out.append(f"    server log ({len(attempt.log)} line(s)):")
            out += [f"      {line}" for line in log]
    return out
