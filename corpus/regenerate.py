"""Re-create the committed corpus by fuzzing real old Starlette releases.

    python corpus/regenerate.py

Fuzzes each app of ``oldstarlette_apps`` with asgifuzz inside the pinned
starlette 0.37.2 virtualenv (``tests/oldreleases.py``), saves every finding,
and keeps a case only if ``asgifuzz replay`` reports it "still failing" there
and "passing" on starlette 0.38.3 (where the bugs are fixed); at most one
case per (app, invariant, backend).  Never edit the JSON files by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from oldreleases import venv_python  # noqa: E402

VULNERABLE, FIXED = "starlette-0.37.2", "starlette-0.38.3"
APPS = ("five_passthrough", "one_passthrough")
BACKENDS = ("asyncio", "trio")
SEED = 7
MAX_EXAMPLES = 500

FUZZ = """
import sys, asgifuzz, oldstarlette_apps
from asgifuzz._corpus import save_finding
app_name, backend, out = sys.argv[1:4]
result = asgifuzz.fuzz(getattr(oldstarlette_apps, app_name), seed={seed}, backend=backend, max_examples={n})
for finding in result.findings:
    print(save_finding(finding, "oldstarlette_apps:" + app_name, out))
"""


def replay_rc(venv: str, path: Path) -> int:
    proc = subprocess.run(
        [str(venv_python(venv)), "-m", "asgifuzz", "replay", str(path), "--app-dir", str(HERE)],
        capture_output=True, text=True, cwd=str(HERE),
    )
    return proc.returncode


def main() -> None:
    python = venv_python(VULNERABLE)
    kept: dict[tuple[str, str, str], Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for app_name in APPS:
            for backend in BACKENDS:
                code = FUZZ.format(seed=SEED, n=MAX_EXAMPLES)
                proc = subprocess.run(
                    [str(python), "-c", code, app_name, backend, tmp],
                    capture_output=True, text=True, cwd=str(HERE), check=True,
                )
                for line in proc.stdout.split():
                    path = Path(line)
                    doc = json.loads(path.read_text())
                    key = (app_name, doc["invariant"], backend)
                    if key in kept:
                        continue
                    # Three replays on each pin: a case whose outcome depends on
                    # thread timing would make a flaky CI test, so it is dropped.
                    if all(replay_rc(VULNERABLE, path) == 1 and replay_rc(FIXED, path) == 0 for _ in range(3)):
                        kept[key] = path
                        print("keep", key, path.name)
                    else:
                        print("drop", key, path.name, "(still failing on 0.38.3, or not reproducible)")
        for old in HERE.glob("*.json"):
            old.unlink()
        for path in kept.values():
            shutil.copy(path, HERE / path.name)


if __name__ == "__main__":
    main()
