"""Without an example database a run writes nothing to the working directory (issue 10, robustness).

Hypothesis keeps more than the example database under ``.hypothesis/`` in the
working directory: its cache of the constants in loaded modules
(``.hypothesis/constants/``) is written on every run, whatever the
``database`` setting.  Both the CLI's ``--no-database`` and the API's
``database=None`` promise a run that leaves no files behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

APPS = str(Path(__file__).parent / "cli_apps")


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="120")
    env.pop("PYTHONPATH", None)
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    return env


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_cli_no_database_writes_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asgifuzz", "run", "cliapps:ok", "--app-dir", APPS, "--seed", "1",
         "--max-examples", "60", "--workers", "2", "--no-database"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "60 examples" in proc.stdout
    assert _files(tmp_path) == []


def test_api_without_database_writes_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {APPS!r})
        import asgifuzz, cliapps
        result = asgifuzz.fuzz(cliapps.ok, max_examples=60, seed=1, database=None)
        print(result.examples, len(result.findings))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=_env(), check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["60", "0"]
    assert _files(tmp_path) == []


def test_hypothesis_storage_is_restored_after_the_run(tmp_path: Path) -> None:
    # The run borrows Hypothesis' storage directory; the caller's own setting comes back.
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {APPS!r})
        from hypothesis import configuration
        configuration.set_hypothesis_home_dir("mine")
        import asgifuzz, cliapps
        asgifuzz.fuzz(cliapps.ok, max_examples=10, seed=1)
        print(configuration.storage_directory("x", intent_to_write=False).path)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=_env(), check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == os.path.join("mine", "x")
    assert _files(tmp_path) == []
