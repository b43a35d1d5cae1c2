"""The ``asgifuzz`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from asgifuzz import __version__
from asgifuzz._corpus_cli import add_replay_parser, add_show_parser, cmd_replay, cmd_show
from asgifuzz._errors import UsageError

__all__ = ("main",)

EPILOG_RUN = """examples:
  asgifuzz run main:app
  asgifuzz run main:app --max-examples 5000 --backend trio --seed 1
  asgifuzz run main:app --json > findings.json

exit status: 0 no finding, 1 at least one finding, 2 usage error or bad input
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgifuzz",
        description="Fuzz ASGI apps and middleware stacks: body chunking, client disconnects, scheduling.",
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
    run.add_argument("--max-examples", type=_positive_int, default=1000, help="interactions to generate (default: 1000)")
    run.add_argument("--max-time", type=_positive_float, default=None, help="stop after this many seconds")
    run.add_argument("--seed", type=int, default=None, help="random seed, to reproduce a run")
    run.add_argument("--backend", choices=["asyncio", "trio", "both"], default="asyncio", help="event loop (default: asyncio)")
    run.add_argument("--server-profile", default="uvicorn", help="server to imitate: uvicorn, hypercorn, daphne, strict")
    run.add_argument("--checks", default=None, help="comma-separated invariant codes to report (default: all)")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first finding")
    run.add_argument("--real-time", action="store_true", help="use the real clock instead of virtual time")
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    run.add_argument("--corpus", default=None, metavar="DIR", help="save each finding as a replayable case under DIR")
    sub.add_parser("checks", help="list the invariants asgifuzz checks")
    add_replay_parser(sub)
    add_show_parser(sub)
    return parser


def _cmd_checks() -> int:
    from asgifuzz._errors import INVARIANTS

    for code, cls in INVARIANTS.items():
        print(f"{code:<34} [{cls.group}] {cls.title}")
        print(f"{'':<34} source: {cls.source}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from asgifuzz._api import fuzz
    from asgifuzz._loading import load_target
    from asgifuzz._report import finding_to_json, render_finding

    app = load_target(args.target, app_dir=args.app_dir, factory=args.factory)
    backend: list[str] = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    result = fuzz(
        app,
        max_examples=args.max_examples,
        max_time=args.max_time,
        seed=args.seed,
        backend=backend,  # type: ignore[arg-type]
        profile=args.server_profile,
        checks=checks,
        exitfirst=args.exitfirst,
        virtual_time=not args.real_time,
    )
    saved: dict[int, str] = {}
    if args.corpus is not None:
        from asgifuzz._corpus import replay_command, save_finding

        for finding in result.findings:
            path = save_finding(finding, args.target, args.corpus, factory=args.factory, virtual_time=not args.real_time)
            saved[id(finding)] = replay_command(path, app_dir=None if args.app_dir == "." else args.app_dir)
    if args.json:
        doc = {
            "asgifuzz": __version__,
            "target": args.target,
            "examples": result.examples,
            "elapsed": round(result.elapsed, 3),
            "seed": result.seed,
            "findings": [finding_to_json(f) for f in result.findings],
        }
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(
            f"asgifuzz {__version__}: {result.examples} examples in {result.elapsed:.1f}s "
            f"(seed {result.seed}), {len(result.findings)} finding(s)"
        )
        for i, finding in enumerate(result.findings, 1):
            print()
            hint = saved.get(id(finding), f"asgifuzz run {args.target} --seed {result.seed}")
            print(render_finding(finding, i, replay_hint=hint))
    return 1 if result.findings else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "checks":
            return _cmd_checks()
        if args.command == "replay":
            return cmd_replay(args)
        if args.command == "show":
            return cmd_show(args)
        parser.print_help()
        return 2
    except UsageError as exc:
        print(f"asgifuzz: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
