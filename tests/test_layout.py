"""The layout rules of issue 9, as tests: sizes, no import cycle, pure layers.

* No module over 700 lines, no class over 300, no function or method over
  100 (``asgifuzz/`` and ``strategies/``, read with ``ast``).
* No import cycle between asgifuzz's modules.  The graph has an edge for
  every import that runs when a module is imported: statements at module
  level, including those inside a module-level ``if``/``try``/``with``.  It
  leaves out imports inside functions (they run later, on first use: the
  usual way to keep a heavy dependency or a higher layer off the import
  path) and imports under ``if TYPE_CHECKING:`` (they never run, so they
  cannot make a cycle at runtime; mypy resolves them lazily).
  ``from package import name`` is an edge to ``package.name`` when that is a
  module, else to ``package``.  Importing a submodule also runs its parent
  packages' ``__init__``; those implicit edges are left out, as import
  linters do, since every package ``__init__`` re-exporting its own
  submodules would otherwise count as a cycle.
* ``asgifuzz.spec`` and ``asgifuzz.checks`` stay pure: importing any of their
  modules imports neither anyio nor Hypothesis.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MAX_MODULE_LINES = 700
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 100

#: Offenders being fixed in other branches: "path" for a module, "path::Qual.name"
#: for a class or function.  Remove an entry once its branch is merged (the
#: test fails on a stale entry, so none can outlive its fix).
KNOWN_OFFENDERS: set[str] = set()


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # dotted, as installed: strategies/ is asgifuzz.strategies
    path: Path
    tree: ast.Module
    lines: int

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "strategies":
        parts = ["asgifuzz", *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> list[Module]:
    out = []
    for folder in ("asgifuzz", "strategies"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            out.append(Module(_module_name(path), path, ast.parse(text, str(path)), len(text.splitlines())))
    return out


MODULES = _modules()
BY_NAME = {m.name: m for m in MODULES}


# ------------------------------------------------------------------ sizes


def _span(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    assert node.end_lineno is not None
    return node.end_lineno - start + 1


def _definitions(
    node: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every class and function under ``node``, nested ones included, with its qualified name."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = prefix + child.name
            yield qualname, child
            yield from _definitions(child, qualname + ".")
        else:
            yield from _definitions(child, prefix)


def _size_offenders() -> dict[str, str]:
    """Offender id -> what is too big."""
    out = {}
    for module in MODULES:
        if module.lines > MAX_MODULE_LINES:
            out[module.rel] = f"module has {module.lines} lines (max {MAX_MODULE_LINES})"
        for qualname, node in _definitions(module.tree):
            size = _span(node)
            is_class = isinstance(node, ast.ClassDef)
            limit = MAX_CLASS_LINES if is_class else MAX_FUNCTION_LINES
            if size > limit:
                kind = "class" if is_class else "function"
                out[f"{module.rel}::{qualname}"] = f"{kind} has {size} lines (max {limit}), line {node.lineno}"
    return out


def test_no_module_class_or_function_is_over_its_size_limit() -> None:
    offenders = _size_offenders()
    new = {k: v for k, v in offenders.items() if k not in KNOWN_OFFENDERS}
    assert not new, "too big:\n" + "\n".join(f"  {k}: {v}" for k, v in sorted(new.items()))


def test_known_offenders_are_still_offending() -> None:
    """An entry whose module or function was split must be removed from KNOWN_OFFENDERS."""
    stale = KNOWN_OFFENDERS - set(_size_offenders())
    assert not stale, f"remove from KNOWN_OFFENDERS (now within the limits): {sorted(stale)}"


def test_size_rules_see_nested_functions_and_methods() -> None:
    tree = ast.parse(
        "class C:\n    def method(self):\n        def inner():\n            pass\n"
        "def f():\n    if True:\n        class D:\n            pass\n"
    )
    assert [name for name, _ in _definitions(tree)] == ["C", "C.method", "C.method.inner", "f", "f.D"]


# ---------------------------------------------------------------- imports


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when the module is imported (not in defs, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
            continue
        if isinstance(node, ast.ClassDef):  # a class body runs at import time
            yield from _import_time_statements(node.body)
            continue
        if isinstance(node, ast.Try | ast.TryStar):
            yield from _import_time_statements(node.body)
            for handler in node.handlers:
                yield from _import_time_statements(handler.body)
            yield from _import_time_statements(node.orelse)
            yield from _import_time_statements(node.finalbody)
            continue
        if isinstance(node, ast.With | ast.For | ast.While):
            yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse if not isinstance(node, ast.With) else [])
            continue
        yield node


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _imports(module: Module, names: set[str]) -> set[str]:
    """asgifuzz modules that ``module`` imports when it is imported."""
    out = set()
    for node in _import_time_statements(module.tree.body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in names}
    out.discard(module.name)
    return out


def import_graph() -> dict[str, set[str]]:
    names = set(BY_NAME)
    return {m.name: _imports(m, names) for m in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (iterative DFS, sorted for stable output)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    for root in sorted(graph):
        if color[root] != WHITE:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        color[root] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                color[node] = BLACK
                stack.pop()
            elif color.get(child, BLACK) == GREY:
                path = [n for n, _ in stack]
                return [*path[path.index(child) :], child]
            elif color.get(child) == WHITE:
                color[child] = GREY
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_asgifuzz_modules_have_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_import_graph_sees_the_engine_layers() -> None:
    """The graph is not vacuous: it has the edges the layers are built from."""
    graph = import_graph()
    assert "asgifuzz._errors" in graph["asgifuzz._config"]
    assert "asgifuzz.server.running" in graph["asgifuzz.server.driver"]  # from asgifuzz.server import running
    assert "asgifuzz.strategies._actions" in graph["asgifuzz.strategies"]  # relative import
    assert "asgifuzz._case" in graph["asgifuzz.strategies._actions"]
    # _targets imports _case only for type checking, and _config imports the server inside a method.
    assert "asgifuzz._case" not in graph["asgifuzz._targets"]
    assert "asgifuzz.server.profiles" not in graph["asgifuzz._config"]


def test_cycle_finder_reports_the_cycle_path() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"y"}, "y": {"y2"}, "y2": {"y"}}) == ["y", "y2", "y"]


def test_type_checking_imports_and_function_imports_are_not_edges() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import asgifuzz._errors\n"
        "if TYPE_CHECKING:\n    from asgifuzz._case import Case\nelse:\n    import asgifuzz._types\n"
        "try:\n    from asgifuzz import _frames\nexcept ImportError:\n    pass\n"
        "def f():\n    import asgifuzz._config\n"
    )
    module = Module("asgifuzz.example", ROOT / "asgifuzz" / "example.py", ast.parse(source), 1)
    names = {
        "asgifuzz",
        "asgifuzz._errors",
        "asgifuzz._case",
        "asgifuzz._types",
        "asgifuzz._frames",
        "asgifuzz._config",
    }
    assert _imports(module, names) == {"asgifuzz._errors", "asgifuzz._types", "asgifuzz._frames"}


# ------------------------------------------------------------ pure layers

PURE = sorted(m.name for m in MODULES if m.name.startswith(("asgifuzz.spec", "asgifuzz.checks")))


@pytest.mark.parametrize("module", PURE)
def test_spec_and_checks_import_neither_anyio_nor_hypothesis(module: str) -> None:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    heavy = {m for m in proc.stdout.split() if m.split(".")[0] in ("anyio", "hypothesis", "trio")}
    assert not heavy, f"importing {module} imports {sorted(heavy)}"


def test_the_pure_packages_have_modules() -> None:
    assert {"asgifuzz.spec.http", "asgifuzz.checks.http", "asgifuzz.checks.transparency"} <= set(PURE)
