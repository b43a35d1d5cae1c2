"""The asgifuzz pytest plugin (entry point ``pytest11: asgifuzz``).

Fuzz an app in three lines::

    @pytest.mark.asgifuzz(app="main:app", max_examples=200)
    def test_main_app_survives_fuzzing():
        pass

or call the ``asgifuzz_check`` fixture from a test: ``asgifuzz_check("main:app")``.
A marked test is one item per target of its app (each route, the middleware
stack in front of each adversarial endpoint), named so that ``-k`` selects
them (``test_main[GET-/items]``, ``test_main[stack-read_all]``); they share
the marker's budget, and a root cause seen by several items is reported in
full once (``asgifuzz._pytest_items``).
An error-level finding fails the test with the minimal case, the invariant,
its plain explanation and the command that replays it (warnings too with
``asgifuzz_fail_on = warning``; otherwise they are shown in the test's
report section and the terminal summary, never as Python warnings); the case
is saved under the corpus folder (``--asgifuzz-corpus``, default ``corpus/``
in the rootdir).  Settings are layered command line > marker/fixture > ini >
``[tool.asgifuzz]`` of pyproject.toml > defaults into one ``asgifuzz.Settings``; the report is built by the same
handlers as the CLI's (``asgifuzz.report``).
``pytest corpus/`` (or ``--asgifuzz-replay``) collects each saved case as a
test that fails while its bug is still there.

The plugin is loaded in every pytest run of every environment that has
asgifuzz installed, so it must cost nothing until used: it imports neither
hypothesis, nor anyio, nor the driver at module level (HypothesisWorks
moved its own plugin out of its package for the same reason), and it touches
no pytest internals.  Behaviour lives in ``asgifuzz._corpus`` and
``asgifuzz._api``; this module only adapts options, markers and reports.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from asgifuzz._pytest_report import html_path, relative, report_text, run_report

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._corpus import CorpusCase
    from asgifuzz._pytest_items import ItemTarget
    from asgifuzz._search import SearchResult
    from asgifuzz.report import FailOn, RunReport

__all__ = ("asgifuzz_check",)

#: Marker/fixture options that are not ``Settings`` fields (those go to ``Settings.create``).
_PLUGIN_OPTIONS = frozenset({"app", "middleware", "endpoints", "factory", "app_dir", "corpus", "fail_on"})
_CORPUS_NAME = re.compile(r"^[a-z0-9-]+-[0-9a-f]{12}\.json$")
_DEFAULT_MAX_EXAMPLES = 1000
#: The report section (``item.add_report_section``) that carries warnings of passing tests.
_SECTION = "asgifuzz"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgifuzz", "asgifuzz: fuzz ASGI apps and replay their corpus")
    group.addoption(
        "--asgifuzz-max-examples",
        type=int,
        default=None,
        metavar="N",
        help="interactions each asgifuzz test generates (overrides the marker; default 1000)",
    )
    group.addoption(
        "--asgifuzz-backend",
        choices=["asyncio", "trio", "both"],
        default=None,
        help="event loop(s) to fuzz on (overrides the marker; default asyncio)",
    )
    group.addoption(
        "--asgifuzz-corpus",
        default=None,
        metavar="DIR",
        help="folder where findings are saved and replayed from (default: corpus/ in the rootdir)",
    )
    group.addoption(
        "--asgifuzz-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed every asgifuzz test with N (default: random; fixed under the Hypothesis 'ci' profile)",
    )
    group.addoption(
        "--asgifuzz-checks",
        default=None,
        metavar="CODES",
        help="invariant codes to report, comma-separated; '-code' excludes one (overrides the marker)",
    )
    group.addoption(
        "--asgifuzz-fail-on",
        choices=["error", "warning"],
        default=None,
        help="lowest severity that fails a test (default: error; warnings are shown, not failed)",
    )
    group.addoption(
        "--asgifuzz-database",
        default=None,
        metavar="DIR|URL",
        help="example database of the asgifuzz tests: a directory, or redis://host:port/db shared between "
        "machines (default: the Hypothesis profile's)",
    )
    group.addoption(
        "--asgifuzz-html",
        default=None,
        metavar="DIR",
        help="write each asgifuzz test that has findings as an HTML report (each minimal case drawn as a "
        "sequence diagram) to DIR/<test id>.html",
    )
    group.addoption(
        "--asgifuzz-replay",
        action="store_true",
        default=False,
        help="also collect the corpus folder's cases as tests (each fails while its bug is present)",
    )
    parser.addini("asgifuzz_max_examples", "default interactions per asgifuzz test", default=None)
    parser.addini("asgifuzz_backend", "default backend: asyncio, trio or both", default=None)
    parser.addini("asgifuzz_corpus", "corpus folder, relative to the rootdir (default: corpus)", default=None)
    parser.addini("asgifuzz_seed", "fixed seed for every asgifuzz test", default=None)
    parser.addini(
        "asgifuzz_checks",
        "invariant codes to report (comma or space separated; '-code' excludes one), as --checks",
        default=None,
    )
    parser.addini(
        "asgifuzz_database",
        "example database: a directory (relative to the rootdir) or redis://host:port/db",
        default=None,
    )
    parser.addini("asgifuzz_fail_on", "lowest severity that fails a test: error (default) or warning", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asgifuzz(app=None, *, middleware=None, max_examples=None, backend=None, seed=None, checks=None, "
        "fail_on=None, ...): fuzz the ASGI app (an object or 'module:attr') after the test body runs; "
        "fail with the minimal case of every error-level violation found.",
    )
    _check_database(config)
    if config.getoption("asgifuzz_replay"):
        corpus = _corpus_dir(config)
        if corpus.is_dir() and not any(_covers(a, corpus, config) for a in config.args):
            config.args.append(str(corpus))


def _ini_database(config: pytest.Config) -> str | None:
    """The ``asgifuzz_database`` ini key: a URL, or a directory relative to the rootdir."""
    from asgifuzz._database import is_url

    value = str(config.getini("asgifuzz_database") or "").strip()
    if not value or is_url(value):
        return value or None
    return str(config.rootpath / value)


def _check_database(config: pytest.Config) -> None:
    """A Redis database that does not answer stops the session with one line, not one failure per test."""
    if not (config.getoption("asgifuzz_database") or config.getini("asgifuzz_database")):
        return  # nothing to import in the pytest runs that do not use asgifuzz
    if config.getoption("help", False):
        return
    from asgifuzz._database import check_database
    from asgifuzz._errors import UsageError

    try:
        check_database(config.getoption("asgifuzz_database") or _ini_database(config))
    except UsageError as exc:
        raise pytest.UsageError(f"asgifuzz: {exc}") from None


def _covers(arg: str, corpus: Path, config: pytest.Config) -> bool:
    path = (config.invocation_params.dir / arg.split("::", 1)[0]).resolve()
    return path == corpus or path in corpus.parents


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = {
        "max_examples": _int_setting(config, "max_examples"),
        "backend": _setting(config, "backend"),
        "seed": _int_setting(config, "seed"),
        "corpus": config.getoption("asgifuzz_corpus") or config.getini("asgifuzz_corpus") or None,
        "checks": _setting(config, "checks"),
        "fail_on": _setting(config, "fail_on"),
    }
    shown = [f"{k}={v}" for k, v in settings.items() if v is not None]
    return ["asgifuzz: " + ", ".join(shown)] if shown else None


# ------------------------------------------------------------------ settings

_PROJECT_KEY = pytest.StashKey[Any]()


def _project(config: pytest.Config) -> Any:
    """``[tool.asgifuzz]`` of the pyproject.toml nearest the rootdir (read once per session)."""
    project = config.stash.get(_PROJECT_KEY, None)
    if project is None:
        from asgifuzz._errors import UsageError
        from asgifuzz._project import load_project

        try:
            project = load_project(config.rootpath)
        except UsageError as exc:
            pytest.fail(f"asgifuzz: {exc}", pytrace=False)
        config.stash[_PROJECT_KEY] = project
    return project


#: ``[tool.asgifuzz]`` keys that are ``Settings`` options: key -> ``Settings.create`` name.
_PROJECT_SETTINGS = {
    "max-examples": "max_examples",
    "max-time": "max_time",
    "backend": "backend",
    "seed": "seed",
    "checks": "checks",
    "server-profile": "profile",
    "lifespan": "lifespan",
    "paths": "paths",
    "routes": "routes",
    "block-timeout": "block_timeout",
}


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"asgifuzz_{name}")
    if value is None:
        value = config.getini(f"asgifuzz_{name}") or None
    return None if value is None else str(value)


def _int_setting(config: pytest.Config, name: str) -> int | None:
    value = _setting(config, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"asgifuzz_{name} = {value!r} is not an integer") from None


def _int_ini(config: pytest.Config, name: str) -> int | None:
    value = config.getini(f"asgifuzz_{name}") or None
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise pytest.UsageError(f"asgifuzz_{name} = {value!r} is not an integer") from None


def _checks_text(value: object) -> str | None:
    """The ini's checks, written with commas, spaces or newlines, as the CLI's comma-separated form."""
    if not value:
        return None
    codes = [c for c in re.split(r"[,\s]+", str(value)) if c]
    return ",".join(codes) or None


def _corpus_dir(config: pytest.Config, override: str | None = None) -> Path:
    if override is not None:
        return (config.invocation_params.dir / override).resolve()
    option = config.getoption("asgifuzz_corpus")
    if option:
        return (config.invocation_params.dir / str(option)).resolve()
    ini = config.getini("asgifuzz_corpus")
    if not ini and "corpus" in _project(config):
        return Path(_project(config).get("corpus"))
    return (config.rootpath / str(ini or "corpus")).resolve()


# ------------------------------------------------------------ fuzzing tests


def _marker_options(nodeid: str, marker: pytest.Mark) -> dict[str, Any]:
    if len(marker.args) > 1:
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.asgifuzz takes one positional argument, the app")
    kwargs = dict(marker.kwargs)
    if marker.args:
        kwargs["app"] = marker.args[0]
    return kwargs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A marked test becomes one item per target of its app (``asgifuzz._pytest_items``)."""
    marker = metafunc.definition.get_closest_marker("asgifuzz")
    if marker is None:
        return
    from asgifuzz._pytest_items import parametrize

    nodeid = metafunc.definition.nodeid
    options = _marker_options(nodeid, marker)
    parametrize(metafunc, lambda: _what_to_fuzz(metafunc.config, nodeid, options))


def _what_to_fuzz(config: pytest.Config, nodeid: str, options: Mapping[str, Any]) -> tuple[Any, Any, Any, Settings]:
    """The app, middleware list, endpoints and settings ``run_check`` would fuzz with, loaded the same way."""
    plugin = _plugin_options(config, options)
    settings = build_settings(config, nodeid, {k: v for k, v in options.items() if k not in _PLUGIN_OPTIONS})
    app_dir = plugin.get("app_dir")
    rootdir = str(config.rootpath)
    if app_dir is None and rootdir not in sys.path:
        sys.path.append(rootdir)  # after everything else: never shadow installed packages
    factory = bool(plugin.get("factory", False))
    app = None if plugin.get("app") is None else _load(plugin["app"], app_dir, rootdir, factory=factory)[0]
    middleware = (
        None if plugin.get("middleware") is None else _load(plugin["middleware"], app_dir, rootdir, is_app=False)[0]
    )
    return app, middleware, plugin.get("endpoints"), settings


@pytest.fixture
def asgifuzz_target() -> ItemTarget | None:
    """The target an ``asgifuzz``-marked test's item fuzzes (an ``ItemTarget``; None for an app with one target)."""
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    marker = item.get_closest_marker("asgifuzz")
    if marker is not None:
        from asgifuzz._pytest_items import item_target

        run_check(item.config, item.nodeid, _marker_options(item.nodeid, marker), node=item, target=item_target(item))
    return result


@pytest.fixture
def asgifuzz_check(request: pytest.FixtureRequest) -> Callable[..., SearchResult]:
    """Return ``check(app=None, **options)``: fuzz the app and fail the test on any error-level finding.

    ``app`` is an ASGI app or a ``"module:attr"`` string (the string form
    lets the corpus name the app); the options are those of the
    ``asgifuzz`` marker.  Returns the ``SearchResult`` when nothing fails.
    Call it from a synchronous test: it runs its own event loops.
    """

    def check(app: Any = None, **options: Any) -> SearchResult:
        node = request.node if isinstance(request.node, pytest.Item) else None
        return run_check(request.config, request.node.nodeid, {"app": app, **options}, node=node)

    return check


def build_settings(config: pytest.Config, nodeid: str, options: Mapping[str, Any]) -> Settings:
    """One ``Settings`` from command line > marker/fixture ``options`` > ini > defaults.

    ``options`` holds only ``Settings`` fields (and ``backend``); anything
    unknown or invalid fails the test with one line.
    """
    from hypothesis import settings as hypothesis_settings

    from asgifuzz._config import Settings
    from asgifuzz._errors import UsageError
    from asgifuzz.cli import resolve_budget

    project = _project(config)
    pyproject = {name: project.get(key) for key, name in _PROJECT_SETTINGS.items()}
    if project.get("real-time"):
        pyproject["virtual_time"] = False
    ini = {
        "max_examples": _int_ini(config, "max_examples"),
        "backend": config.getini("asgifuzz_backend") or None,
        "seed": _int_ini(config, "seed"),
        "checks": _checks_text(config.getini("asgifuzz_checks")),
        "database": _ini_database(config),
    }
    marker = dict(options)
    if "backends" in marker:  # one spelling, so the layers override each other
        marker["backend"] = marker.pop("backends")
    command_line = {
        "max_examples": config.getoption("asgifuzz_max_examples"),
        "backend": config.getoption("asgifuzz_backend"),
        "seed": config.getoption("asgifuzz_seed"),
        "checks": config.getoption("asgifuzz_checks"),
        "database": config.getoption("asgifuzz_database"),
    }
    merged: dict[str, Any] = {}
    for layer in (pyproject, ini, marker, command_line):
        merged.update({k: v for k, v in layer.items() if v is not None})
    # Determinism: an explicit seed wins; Hypothesis's derandomizing profiles
    # (the built-in 'ci' profile, loaded when CI=true) fix the seed per test
    # and turn the example database off, as they do for @given tests.
    current = hypothesis_settings()
    if merged.get("seed") is None and current.derandomize:
        merged["seed"] = zlib.crc32(nodeid.encode())
    merged.setdefault("database", None if current.derandomize else current.database)
    merged["max_examples"] = resolve_budget(merged.get("max_examples"), merged.get("max_time"), _DEFAULT_MAX_EXAMPLES)
    try:
        return Settings.create(**merged)
    except UsageError as exc:
        pytest.fail(f"asgifuzz: {exc}", pytrace=False)


def _fail_on(config: pytest.Config, marker: object) -> FailOn:
    """``fail_on``: command line > marker/fixture > ini > "error"."""
    from asgifuzz._errors import UsageError
    from asgifuzz.report import check_fail_on

    value = (
        config.getoption("asgifuzz_fail_on")
        or marker
        or config.getini("asgifuzz_fail_on")
        or _project(config).get("fail-on")
        or "error"
    )
    try:
        return check_fail_on(str(value).strip())
    except UsageError as exc:
        pytest.fail(f"asgifuzz: {exc}", pytrace=False)


def _plugin_options(config: pytest.Config, options: Mapping[str, Any]) -> dict[str, Any]:
    """The marker/fixture's non-``Settings`` options, the app and its folder from ``[tool.asgifuzz]`` when not given."""
    plugin = {k: v for k, v in options.items() if k in _PLUGIN_OPTIONS}
    project = _project(config)
    if plugin.get("app") is None and plugin.get("middleware") is None and "app" in project:
        plugin.update(app=project.get("app"), factory=plugin.get("factory", project.get("factory", False)))
    if plugin.get("app_dir") is None and "app-dir" in project:
        plugin["app_dir"] = project.get("app-dir")
    return plugin


def run_check(
    config: pytest.Config,
    nodeid: str,
    options: Mapping[str, Any],
    node: pytest.Item | None = None,
    target: ItemTarget | None = None,
) -> SearchResult:
    """Fuzz with the marker/fixture ``options`` layered over the command line and ini.

    ``target``: only that target of the app, with its share of the budget (one item per target).
    """
    from asgifuzz._api import fuzz
    from asgifuzz._corpus import load_corpus
    from asgifuzz._errors import UsageError

    plugin = _plugin_options(config, options)
    settings = build_settings(config, nodeid, {k: v for k, v in options.items() if k not in _PLUGIN_OPTIONS})
    if target is not None:
        from asgifuzz._pytest_items import share_budget

        examples, seconds = share_budget(settings.max_examples, settings.max_time, target.share)
        settings = settings.replace(max_examples=examples, max_time=seconds)
    fail_on = _fail_on(config, plugin.get("fail_on"))
    app_dir = plugin.get("app_dir")
    rootdir = str(config.rootpath)
    if app_dir is None and rootdir not in sys.path:
        sys.path.append(rootdir)  # after everything else: never shadow installed packages
    factory = bool(plugin.get("factory", False))
    app, app_spec = (
        (None, None) if plugin.get("app") is None else _load(plugin["app"], app_dir, rootdir, factory=factory)
    )
    middleware, mw_spec = (
        (None, None)
        if plugin.get("middleware") is None
        else _load(plugin["middleware"], app_dir, rootdir, is_app=False)
    )

    corpus = _corpus_dir(config, plugin.get("corpus"))
    seeds = []
    if corpus.is_dir() and (app_spec is not None or mw_spec is not None):
        # Earlier findings for this app run first, so a fixed bug stays fixed.
        # Bad files are reported by the replay items, not here.
        cases, _ = load_corpus([corpus])
        seeds = [cc.case for cc in cases if cc.app == app_spec and cc.middleware == mw_spec]

    try:
        result = fuzz(
            app, middleware=middleware, endpoints=plugin.get("endpoints"), settings=settings, seeds=seeds,
            target_ids=None if target is None else list(target.ids),
        )  # fmt: skip
    except UsageError as exc:
        pytest.fail(f"asgifuzz: {exc}", pytrace=False)
    if result.interrupted:
        raise KeyboardInterrupt
    if not result.findings:
        return result
    report = run_report(
        result, settings, fail_on, name=app_spec or mw_spec or repr(app if app is not None else middleware)
    )
    text = report_text(
        config, report, app_spec=app_spec, mw_spec=mw_spec, factory=factory, corpus=corpus, app_dir=app_dir,
        html=html_path(config, nodeid), project_root=_project(config).root or config.rootpath,
    )  # fmt: skip
    if report.failing:
        _fail_grouped(config, nodeid, report, text, split=target is not None)
    if node is not None:
        node.add_report_section("call", _SECTION, text)
    return result


_GROUPED = pytest.StashKey[Any]()


def _fail_grouped(config: pytest.Config, nodeid: str, report: RunReport, text: str, *, split: bool) -> None:
    """Fail with the report; a target's item whose every root cause another item reported points there."""
    from asgifuzz._pytest_items import Grouped, repeated_text

    grouped = config.stash.setdefault(_GROUPED, Grouped())
    repeats = grouped.add(nodeid, report.failing)
    if split and len(repeats) == len(report.failing):
        pytest.fail(repeated_text(repeats), pytrace=False)
    pytest.fail(text, pytrace=False)


def _load(
    spec: Any, app_dir: str | None, rootdir: str, *, factory: bool = False, is_app: bool = True
) -> tuple[Any, str | None]:
    """The app (or middleware list) and its ``module:attr`` name, from an object or a name."""
    from asgifuzz._errors import UsageError
    from asgifuzz._loading import load_object, load_target

    if not isinstance(spec, str):
        return spec, _spec_of(spec)
    try:
        if is_app:
            return load_target(spec, app_dir=app_dir or rootdir, factory=factory), spec
        if app_dir is None and rootdir not in sys.path:
            sys.path.append(rootdir)
        return load_object(spec, app_dir=app_dir, what="middleware list"), spec
    except UsageError as exc:
        pytest.fail(f"asgifuzz: {exc}", pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show the warnings of passing asgifuzz tests (failing ones carry them in their failure),
    and each root cause that failed several tests, once."""
    grouped = terminalreporter.config.stash.get(_GROUPED, None)
    lines = grouped.summary() if grouped is not None else []
    if lines:
        terminalreporter.write_sep("=", "asgifuzz: root causes that failed several tests")
        terminalreporter.write("\n".join(lines) + "\n")
    title = f"Captured {_SECTION} call"
    shown = [
        (report.nodeid, content)
        for report in terminalreporter.stats.get("passed", [])
        for name, content in getattr(report, "sections", [])
        if name == title and getattr(report, "when", "call") == "call"
    ]
    if not shown:
        return
    terminalreporter.write_sep("=", "asgifuzz warnings (not failing)")
    for nodeid, content in shown:
        terminalreporter.write_sep("-", nodeid)
        terminalreporter.write(content if content.endswith("\n") else content + "\n")


def _spec_of(obj: object) -> str | None:
    """Find ``module:attr`` naming ``obj`` among the imported modules (app objects only)."""
    for name, module in list(sys.modules.items()):
        if module is None or name == "__main__" or name.startswith(("asgifuzz", "_pytest", "pytest")):
            continue
        base = name.rpartition(".")[2]
        if base.startswith("test_") or base == "conftest":
            continue  # test modules are often not importable by name outside pytest
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for attr, value in list(namespace.items()):
            if value is obj and not attr.startswith("_"):
                return f"{name}:{attr}"
    return None


# ---------------------------------------------------------- corpus as tests


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".json" or not _CORPUS_NAME.match(file_path.name):
        return None
    config = parent.config
    corpus = _corpus_dir(config)
    inside = corpus == file_path.parent or corpus in file_path.parents
    if inside or config.getoption("asgifuzz_replay"):
        return CorpusFile.from_parent(parent, path=file_path)
    return None


def _checks(config: pytest.Config) -> frozenset[str] | None:
    """The invariants that count, as fuzzing tests select them: command line > ini > pyproject.toml."""
    from asgifuzz._config import select_checks

    text = config.getoption("asgifuzz_checks") or _checks_text(config.getini("asgifuzz_checks"))
    return select_checks(text if text else _project(config).get("checks"))


class CorpusFile(pytest.File):
    """A corpus JSON file: one case, one test item."""

    def collect(self) -> Iterator[pytest.Item]:
        yield CorpusItem.from_parent(self, name="replay")


class CorpusItem(pytest.Item):
    """Replays one corpus case; fails while the case still shows an error-level violation (any, with fail_on=warning)."""

    def runtest(self) -> None:
        from asgifuzz._corpus import load_case, replay_case, replay_command
        from asgifuzz._errors import CorpusError, UsageError
        from asgifuzz.report.text import render_finding

        try:
            cc: CorpusCase = load_case(self.path)
            checks = _checks(self.config)
            if checks is not None and cc.expect is not None and cc.expect not in checks:
                pytest.skip(
                    f"asgifuzz: {cc.expect} is not checked (asgifuzz checks setting); delete this case once accepted"
                )
            result = replay_case(cc)
        except (CorpusError, UsageError) as exc:
            pytest.fail(f"asgifuzz: {exc}", pytrace=False)
        if checks is not None:
            result.findings = [f for f in result.findings if f.code in checks]
        finding = result.finding
        if finding is None:
            return
        hint = replay_command(relative(self.path, self.config.invocation_params.dir))
        text = f"asgifuzz corpus case {self.path.name}: {result.outcome}\n\n" + render_finding(
            finding, replay_hint=hint
        )
        fails = _fail_on(self.config, None) == "warning" or any(f.severity == "error" for f in result.findings)
        if not fails:
            self.add_report_section("call", _SECTION, text)
            return
        pytest.fail(text, pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"asgifuzz corpus case {self.path.name}"
