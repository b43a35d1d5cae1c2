"""pytest is an optional dependency: the CLI and the API work where it is not installed.

The real check is in ``.ci/run`` (the wheel alone in a fresh virtualenv runs
``asgifuzz --version`` and ``asgifuzz demo``); these tests catch a stray
``import pytest`` sooner, in the development virtualenv, by making it fail.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: ``import pytest`` (and pytest's internals) raise ImportError, as in a virtualenv without pytest.
NO_PYTEST = """
import sys
sys.modules["pytest"] = None
sys.modules["_pytest"] = None
"""

FUZZ_AND_CLI = """
import asgifuzz
from asgifuzz.cli import main

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.start", "status": 500, "headers": []})

result = asgifuzz.fuzz(app, max_examples=5, seed=1)
assert {f.code for f in result.findings} == {"duplicate-response-start"}, result.findings
assert main(["checks", "--json"]) == 0
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_PYTEST + code], capture_output=True, text=True, cwd="/", timeout=120, check=False
    )


#: The plugin and the modules only it imports (its per-target items, its report): pytest loads them.
PLUGIN_MODULES = {"pytest_plugin.py", "_pytest_items.py", "_pytest_report.py"}


def test_only_the_plugin_imports_its_items_module() -> None:
    importers = [
        path.name
        for path in (ROOT / "asgifuzz").rglob("*.py")
        if "_pytest_items" in path.read_text() and path.name not in PLUGIN_MODULES
    ]
    assert importers == []


def test_no_module_but_the_plugin_imports_pytest() -> None:
    # Every import statement, at any depth (a lazy import inside a function counts too).
    offenders = []
    sources = [*(ROOT / "asgifuzz").rglob("*.py"), *(ROOT / "strategies").rglob("*.py")]
    for path in sources:
        if path.name in PLUGIN_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] in ("pytest", "_pytest") for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(sources) > 50
    assert offenders == []


def test_the_api_and_the_cli_work_without_pytest() -> None:
    # In a process where ``import pytest`` fails: the API finds a bug, the CLI lists the checks.
    proc = _run(FUZZ_AND_CLI)
    assert proc.returncode == 0, proc.stderr


def test_the_plugin_is_what_needs_pytest() -> None:
    # The control: the blocker does block.
    proc = _run("import asgifuzz.pytest_plugin")
    assert proc.returncode != 0 and "import of pytest halted" in proc.stderr


def test_pytest_is_not_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [dep.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]]
    assert "pytest" not in names
    assert {"trio", "redis", "servers", "openapi"} <= set(project["optional-dependencies"])
