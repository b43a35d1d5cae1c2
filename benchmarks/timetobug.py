"""Time to bug: how long until the first finding of each known real bug.

Each bug is reproduced on a pinned old Starlette release, in the virtualenv
``tests/oldreleases.py`` builds (asgifuzz installed from this checkout), by a
subprocess running ``asgifuzz.fuzz`` the way a user would: the whole app
(its routes and its middleware in front of the adversarial endpoints), one
backend, ``checks=[code]``, ``exitfirst=True``, one seed after the other.

Two times per seed: *first finding* is when the first example that shows the
bug finished (measured by wrapping the driver's ``run_case``, the
differential ``compare_outcomes`` and ``Target.run`` inside the subprocess); *reported* is when ``fuzz`` returned, i.e. after shrinking.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import ROOT

__all__ = ("BUGS", "Bug", "BugResult", "measure_time_to_bug")


@dataclass(frozen=True, slots=True)
class Bug:
    name: str
    venv: str
    #: module:attribute of the app, importable from tests/.
    app: str
    code: str
    description: str
    #: The backends the app runs on (asgiref's old WsgiToAsgi needs asyncio).
    backends: tuple[str, ...] = ("asyncio", "trio")


BUGS: tuple[Bug, ...] = (
    Bug(
        name="seed bug",
        venv="starlette-0.37.2",
        app="seedapp:app",
        code="exception-on-disconnect",
        description="5 pass-through BaseHTTPMiddleware layers, starlette==0.37.2 + anyio==4.4.0: "
        "'RuntimeError: No response returned.' when the client disconnects",
    ),
    Bug(
        name="pathsend assertion",
        venv="starlette-0.37.2",
        app="seedapp:app",
        code="app-raised",
        description="the same app on a server offering http.response.pathsend: FileResponse fails "
        "BaseHTTPMiddleware's assert in base.py (Kludex/starlette#2613)",
    ),
    Bug(
        name="background before response",
        venv="starlette-0.38.3",
        app="seedapp:app",
        code="background-task-before-response",
        description="the same app on starlette==0.38.3: a response's background task starts before the "
        "client has the last byte (Kludex/starlette#3458, fixed in 1.7.0)",
    ),
    # Issue 12's classes (tests/test_recall_releases.py): the user's own app as each bug report describes it.
    Bug(
        name="background exception swallowed",
        venv="starlette-0.45.3",
        app="recallapps:background_failure",
        code="exception-swallowed",
        description="class 1: behind BaseHTTPMiddleware a background task's exception never reaches the server "
        "while the bare app raises after its response (Kludex/starlette#2812, fixed in 0.46.0)",
    ),
    Bug(
        name="stream error hidden",
        venv="starlette-0.18.0",
        app="recallapps:stream_failure",
        code="exception-swallowed",
        description="class 2: behind BaseHTTPMiddleware a StreamingResponse's error is hidden "
        "(Kludex/starlette#1459, fixed in 0.19.0)",
    ),
    Bug(
        name="truncated stream completed",
        venv="starlette-0.18.0",
        app="recallapps:stream_failure",
        code="truncated-response-completed",
        description="class 2: behind BaseHTTPMiddleware a stream that breaks off reaches the client as a complete "
        "200 (0.18.0 with #1459; again from 0.46.0 to the newest)",
    ),
    Bug(
        name="background task cancelled",
        venv="starlette-0.20.4",
        app="recallapps:route_work",
        code="app-background-task-lost",
        description="class 3: the route's BackgroundTasks are cancelled when the client closes the connection "
        "after the response (Kludex/starlette#1438, fixed in 0.21.0)",
    ),
    Bug(
        name="middleware task dropped",
        venv="starlette-0.38.4",
        app="recallapps:middleware_work",
        code="app-background-task-lost",
        description="class 3: a task BaseHTTPMiddleware sets on the response from call_next never runs "
        "(Kludex/starlette#2688, fixed in 0.38.5)",
    ),
    Bug(
        name="unparsable upload escapes",
        venv="starlette-1.6.0",
        app="bodyapps:form_upload",
        code="app-raised",
        description="class 6: Request.form() lets python-multipart's MultipartParseError escape for a multipart "
        "body it cannot parse, a 500 (Kludex/starlette#3492, fixed in 1.7.0); only typed bodies reach it",
    ),
    Bug(
        name="pathsend dropped by gzip",
        venv="starlette-0.38.0",
        app="behaviourapps:file_behind_gzip",
        code="response-incomplete",
        description="class 5: GZipMiddleware drops a FileResponse's http.response.pathsend with the start it "
        "holds, no response (0.36.0-0.38.0, reverted in 0.38.1); only a server offering pathsend shows it",
    ),
    Bug(
        name="a2wsgi sender died",
        venv="a2wsgi-1.10.3",
        app="a2wsgiapps:echo",
        code="app-hang",
        description="class 5: a2wsgi 1.10.3's WSGIMiddleware waits forever for a sender that died on a send() "
        "raising once the client has gone (abersheeran/a2wsgi#48, #49, fixed in 1.10.4); only under a server "
        "whose send raises (spec 2.4, uvicorn 0.28.0)",
        backends=("asyncio",),
    ),
    Bug(
        name="first chunk only",
        venv="asgiref-3.2.1",
        app="wsgiecho:app",
        code="response-depends-on-chunking",
        description="class 4: asgiref's WsgiToAsgi gives the WSGI app only the first body message "
        "(django/asgiref#115, fixed in 3.2.2)",
        backends=("asyncio",),
    ),
)

PROBE = r"""
import json, sys, time
import asgifuzz, asgifuzz.server.driver as driver, asgifuzz.checks.transparency as transparency
module, attr = {app!r}.split(":")
app = getattr(__import__(module), attr)
code = {code!r}
first = [None]
original = driver.run_case

def run_case(*args, **kwargs):
    outcome = original(*args, **kwargs)
    if first[0] is None and any(f.code == code for f in outcome.findings):
        first[0] = time.monotonic()
    return outcome

original_compare = transparency.compare_outcomes

def compare_outcomes(*args, **kwargs):  # the transparency findings come from here
    findings = original_compare(*args, **kwargs)
    if first[0] is None and any(f.code == code for f in findings):
        first[0] = time.monotonic()
    return findings

import asgifuzz._targets as targets
original_target_run = targets.Target.run

def target_run(self, *args, **kwargs):  # the findings a target adds (background work, chunking)
    outcome, findings = original_target_run(self, *args, **kwargs)
    if first[0] is None and any(f.code == code for f in findings):
        first[0] = time.monotonic()
    return outcome, findings

driver.run_case = run_case
transparency.compare_outcomes = compare_outcomes
targets.Target.run = target_run
asgifuzz.fuzz(app, max_examples=20, seed=12345, backend={backend!r}, checks=[code])  # warm up imports
for seed in {seeds!r}:
    first[0] = None
    start = time.monotonic()
    result = asgifuzz.fuzz(app, seed=seed, backend={backend!r}, checks=[code], exitfirst=True)
    end = time.monotonic()
    found = [f for f in result.findings if f.code == code]
    print(json.dumps({{
        "seed": seed,
        "found": bool(found),
        "first": None if first[0] is None else first[0] - start,
        "reported": end - start,
        "examples": result.examples,
        "message": found[0].message if found else "",
    }}), flush=True)
import os
os._exit(0)  # (a thread an old app left blocked, e.g. asgiref 3.2's WsgiToAsgi, must not hold the exit)
"""


@dataclass(slots=True)
class BugResult:
    bug: str
    code: str
    venv: str
    backend: str
    seeds: int
    found: int = 0
    median_first: float | None = None
    max_first: float | None = None
    median_reported: float | None = None
    max_reported: float | None = None
    median_examples: float | None = None
    error: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _venv_python(name: str) -> Path:
    spec = importlib.util.spec_from_file_location("_asgifuzz_oldreleases", ROOT / "tests" / "oldreleases.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("tests/oldreleases.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.venv_python(name))


def _summarise(result: BugResult) -> None:
    firsts = [r["first"] for r in result.runs if r["found"] and r["first"] is not None]
    reported = [r["reported"] for r in result.runs if r["found"]]
    result.found = sum(1 for r in result.runs if r["found"])
    if firsts:
        result.median_first = statistics.median(firsts)
        result.max_first = max(firsts)
    if reported:
        result.median_reported = statistics.median(reported)
        result.max_reported = max(reported)
    if result.runs:
        result.median_examples = statistics.median(r["examples"] for r in result.runs)


def measure_time_to_bug(
    seeds: int,
    *,
    backends: tuple[str, ...] = ("asyncio", "trio"),
    bugs: tuple[Bug, ...] = BUGS,
    timeout: float = 600,
    log: Callable[[str], None] = print,
) -> list[BugResult]:
    results = []
    for bug in bugs:
        python: Path | None = None
        error = ""
        start = time.monotonic()
        try:
            python = _venv_python(bug.venv)
        except Exception as exc:  # a missing network, pip failure...: report it and go on
            error = f"could not build the {bug.venv} virtualenv: {type(exc).__name__}: {exc}"
            log(f"  time to bug: {error}")
        else:
            log(f"  time to bug: virtualenv {bug.venv} ready in {time.monotonic() - start:.1f}s")
        for backend in [b for b in backends if b in bug.backends]:
            result = BugResult(bug=bug.name, code=bug.code, venv=bug.venv, backend=backend, seeds=seeds, error=error)
            results.append(result)
            if python is None:
                continue
            code = PROBE.format(app=bug.app, code=bug.code, backend=backend, seeds=list(range(seeds)))
            try:
                proc = subprocess.run(
                    [str(python), "-c", code],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    cwd=str(ROOT / "tests"),
                    env=_env(),
                )
            except subprocess.TimeoutExpired:
                result.error = f"timed out after {timeout:g}s"
                continue
            result.runs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode != 0:
                result.error = f"exit status {proc.returncode}: {proc.stderr.strip()[-500:]}"
            _summarise(result)
            log(
                f"  time to bug {bug.name} {backend}: found {result.found}/{seeds}, "
                f"median first {_fmt(result.median_first)}, max {_fmt(result.max_first)}"
            )
    return results


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(ROOT / "tests")
    return env


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


if __name__ == "__main__":
    for r in measure_time_to_bug(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(r.to_json())
