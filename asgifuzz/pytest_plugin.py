"""The asgifuzz pytest plugin (entry point ``pytest11: asgifuzz``).

Fuzz an app in three lines::

    @pytest.mark.asgifuzz(app="main:app", max_examples=200)
    def test_main_app_survives_fuzzing():
        pass

or call the ``asgifuzz_check`` fixture from a test: ``asgifuzz_check("main:app")``.
A finding fails the test with the minimal case, the invariant, its plain
explanation and the command that replays it; the case is saved under the
corpus folder (``--asgifuzz-corpus``, default ``corpus/`` in the rootdir).
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

import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asgifuzz._corpus import CorpusCase
    from asgifuzz._search import SearchResult

__all__ = ("asgifuzz_check",)

#: Keyword arguments the marker and the fixture accept (the rest are rejected).
_OPTIONS = frozenset(
    {
        "app",
        "middleware",
        "endpoints",
        "max_examples",
        "max_time",
        "seed",
        "backend",
        "profile",
        "checks",
        "exitfirst",
        "virtual_time",
        "factory",
        "app_dir",
        "corpus",
    }
)
_CORPUS_NAME = re.compile(r"^[a-z0-9-]+-[0-9a-f]{12}\.json$")
_DEFAULT_MAX_EXAMPLES = 1000


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
        "--asgifuzz-replay",
        action="store_true",
        default=False,
        help="also collect the corpus folder's cases as tests (each fails while its bug is present)",
    )
    parser.addini("asgifuzz_max_examples", "default interactions per asgifuzz test", default=None)
    parser.addini("asgifuzz_backend", "default backend: asyncio, trio or both", default=None)
    parser.addini("asgifuzz_corpus", "corpus folder, relative to the rootdir (default: corpus)", default=None)
    parser.addini("asgifuzz_seed", "fixed seed for every asgifuzz test", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asgifuzz(app=None, *, middleware=None, max_examples=None, backend=None, seed=None, ...): "
        "fuzz the ASGI app (an object or 'module:attr') after the test body runs; "
        "fail with the minimal case of every violation found.",
    )
    if config.getoption("asgifuzz_replay"):
        corpus = _corpus_dir(config)
        if corpus.is_dir() and not any(_covers(a, corpus, config) for a in config.args):
            config.args.append(str(corpus))


def _covers(arg: str, corpus: Path, config: pytest.Config) -> bool:
    path = (config.invocation_params.dir / arg.split("::", 1)[0]).resolve()
    return path == corpus or path in corpus.parents


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings = {
        "max_examples": _int_setting(config, "max_examples"),
        "backend": _setting(config, "backend"),
        "seed": _int_setting(config, "seed"),
        "corpus": config.getoption("asgifuzz_corpus") or config.getini("asgifuzz_corpus") or None,
    }
    shown = [f"{k}={v}" for k, v in settings.items() if v is not None]
    return ["asgifuzz: " + ", ".join(shown)] if shown else None


# ------------------------------------------------------------------ settings


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


def _corpus_dir(config: pytest.Config, override: str | None = None) -> Path:
    if override is not None:
        return (config.invocation_params.dir / override).resolve()
    option = config.getoption("asgifuzz_corpus")
    if option:
        return (config.invocation_params.dir / str(option)).resolve()
    ini = str(config.getini("asgifuzz_corpus") or "corpus")
    return (config.rootpath / ini).resolve()


# ------------------------------------------------------------ fuzzing tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    marker = item.get_closest_marker("asgifuzz")
    if marker is not None:
        if len(marker.args) > 1:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.asgifuzz takes one positional argument, the app")
        kwargs = dict(marker.kwargs)
        if marker.args:
            kwargs["app"] = marker.args[0]
        run_check(item.config, item.nodeid, kwargs)
    return result


@pytest.fixture
def asgifuzz_check(request: pytest.FixtureRequest) -> Callable[..., SearchResult]:
    """Return ``check(app=None, **options)``: fuzz the app and fail the test on any finding.

    ``app`` is an ASGI app or a ``"module:attr"`` string (the string form
    lets the corpus name the app); the options are those of the
    ``asgifuzz`` marker.  Returns the ``SearchResult`` when nothing is found.
    Call it from a synchronous test: it runs its own event loops.
    """

    def check(app: Any = None, **options: Any) -> SearchResult:
        return run_check(request.config, request.node.nodeid, {"app": app, **options})

    return check


def run_check(config: pytest.Config, nodeid: str, options: Mapping[str, Any]) -> SearchResult:
    """Fuzz with the marker/fixture ``options`` layered over the command line and ini."""
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        import difflib

        hints = [f"{u!r}" + (f" (did you mean {c[0]!r}?)" if (c := difflib.get_close_matches(u, _OPTIONS, n=1)) else "") for u in unknown]
        pytest.fail(f"asgifuzz: unknown option(s) {', '.join(hints)}; known: {', '.join(sorted(_OPTIONS))}", pytrace=False)

    from hypothesis import settings as hypothesis_settings

    from asgifuzz._api import fuzz
    from asgifuzz._corpus import load_corpus, replay_command, save_finding
    from asgifuzz._errors import UsageError
    from asgifuzz._loading import load_target

    app_dir = options.get("app_dir")
    rootdir = str(config.rootpath)
    if app_dir is None and rootdir not in sys.path:
        sys.path.append(rootdir)  # after everything else: never shadow installed packages

    def load(spec: Any, *, factory: bool = False, is_app: bool = True) -> tuple[Any, str | None]:
        if not isinstance(spec, str):
            return spec, _spec_of(spec)
        try:
            if is_app:
                return load_target(spec, app_dir=app_dir or rootdir, factory=factory), spec
            from asgifuzz._corpus import _load

            return _load(spec, app_dir, [rootdir], factory=False, callable_=False), spec
        except UsageError as exc:
            pytest.fail(f"asgifuzz: {exc}", pytrace=False)

    factory = bool(options.get("factory", False))
    app, app_spec = (None, None) if options.get("app") is None else load(options["app"], factory=factory)
    middleware, mw_spec = (None, None) if options.get("middleware") is None else load(options["middleware"], is_app=False)

    # Budget: command line > marker/fixture > ini > default.
    max_examples = config.getoption("asgifuzz_max_examples")
    if max_examples is None:
        max_examples = options.get("max_examples")
    if max_examples is None:
        max_examples = _int_setting(config, "max_examples") or _DEFAULT_MAX_EXAMPLES
    backend_opt = config.getoption("asgifuzz_backend") or options.get("backend") or _setting(config, "backend") or "asyncio"
    backend: Any = ["asyncio", "trio"] if backend_opt == "both" else backend_opt

    # Determinism: an explicit seed wins; Hypothesis's derandomizing profiles
    # (the built-in 'ci' profile, loaded when CI=true) fix the seed per test
    # and turn the example database off, as they do for @given tests.
    current = hypothesis_settings()
    seed = config.getoption("asgifuzz_seed")
    if seed is None:
        seed = options.get("seed")
    if seed is None:
        seed = _int_setting(config, "seed")
    if seed is None and current.derandomize:
        seed = zlib.crc32(nodeid.encode())
    database = None if current.derandomize else current.database

    corpus = _corpus_dir(config, options.get("corpus"))
    seeds = []
    if corpus.is_dir() and (app_spec is not None or mw_spec is not None):
        # Earlier findings for this app run first, so a fixed bug stays fixed.
        # Bad files are reported by the replay items, not here.
        cases, _ = load_corpus([corpus])
        seeds = [cc.case for cc in cases if cc.app == app_spec and cc.middleware == mw_spec]

    try:
        result = fuzz(
            app,
            middleware=middleware,
            endpoints=options.get("endpoints"),
            max_examples=int(max_examples),
            max_time=options.get("max_time"),
            seed=seed,
            backend=backend,
            profile=options.get("profile", "uvicorn"),
            checks=options.get("checks"),
            exitfirst=bool(options.get("exitfirst", False)),
            virtual_time=bool(options.get("virtual_time", True)),
            database=database,
            seeds=seeds,
        )
    except UsageError as exc:
        pytest.fail(f"asgifuzz: {exc}", pytrace=False)
    if result.interrupted:
        raise KeyboardInterrupt
    if not result.findings:
        return result

    from asgifuzz._report import render_finding

    name = app_spec or mw_spec or repr(app if app is not None else middleware)
    lines = [
        (
            f"asgifuzz found {len(result.findings)} violation(s) in {name} "
            f"({result.examples} examples, seed {result.seed}; rerun with --asgifuzz-seed {result.seed})"
        )
    ]
    for i, finding in enumerate(result.findings, 1):
        hint: str | None = None
        if app_spec is not None or mw_spec is not None:
            path = save_finding(
                finding,
                app_spec,
                corpus,
                middleware=mw_spec,
                factory=factory,
                virtual_time=bool(options.get("virtual_time", True)),
            )
            shown = _relative(path, config.invocation_params.dir)
            hint = replay_command(shown, app_dir=_app_dir_hint(app_spec or mw_spec, config, app_dir))
        lines.append("")
        lines.append(render_finding(finding, i, replay_hint=hint))
        if hint is None:
            lines.append("    (not saved to the corpus: name the app as 'module:attr' so a replay can import it)")
    pytest.fail("\n".join(lines), pytrace=False)


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return str(path)


def _app_dir_hint(spec: str | None, config: pytest.Config, app_dir: str | None) -> str | None:
    """``--app-dir`` for the replay command, when the app's module is not importable from the cwd."""
    if app_dir is not None:
        return _relative(Path(app_dir).resolve(), config.invocation_params.dir)
    if spec is None:
        return None
    module_name = spec.partition(":")[0]
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    depth = module_name.count(".") + (2 if Path(file).name == "__init__.py" else 1)
    root = Path(file).resolve().parents[depth - 1]
    if root == config.invocation_params.dir.resolve():
        return None
    return _relative(root, config.invocation_params.dir)


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


class CorpusFile(pytest.File):
    """A corpus JSON file: one case, one test item."""

    def collect(self) -> Iterator[pytest.Item]:
        yield CorpusItem.from_parent(self, name="replay")


class CorpusItem(pytest.Item):
    """Replays one corpus case; fails while the case still shows its violation."""

    def runtest(self) -> None:
        from asgifuzz._corpus import load_case, replay_case, replay_command
        from asgifuzz._errors import CorpusError, UsageError
        from asgifuzz._report import render_finding

        try:
            cc: CorpusCase = load_case(self.path)
            result = replay_case(cc)
        except (CorpusError, UsageError) as exc:
            pytest.fail(f"asgifuzz: {exc}", pytrace=False)
        finding = result.finding
        if finding is None:
            return
        hint = replay_command(_relative(self.path, self.config.invocation_params.dir))
        pytest.fail(
            f"asgifuzz corpus case {self.path.name}: {result.outcome}\n\n" + render_finding(finding, replay_hint=hint),
            pytrace=False,
        )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"asgifuzz corpus case {self.path.name}"
