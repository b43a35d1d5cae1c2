"""``_loading``: ``module:attr`` specs become objects, or one line saying what is wrong."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from asgifuzz import UsageError
from asgifuzz._loading import load_object, load_target, looks_like_factory

MODULE = """
import json

async def app(scope, receive, send):
    pass

class Holder:
    inner = app

def factory():
    return app

def broken_factory():
    raise RuntimeError("no config")

def not_an_app_factory():
    return 42

settings = {"debug": True}
"""
_UNIQUE = itertools.count()


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[str]:
    """A folder (``tmp_path``) with fresh modules; the name is unique per test, as sys.modules caches imports."""
    name = f"loadme{next(_UNIQUE)}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    (tmp_path / f"{name}_raises.py").write_text("raise RuntimeError('DATABASE_URL is not set')\n")
    (tmp_path / f"{name}_missing_dep.py").write_text("import no_such_dependency_xyz\n")
    yield name
    for key in [k for k in sys.modules if k.startswith(name)]:
        del sys.modules[key]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_load_object_returns_the_attribute_dotted_paths_included(app_dir: str, tmp_path: Path) -> None:
    app = load_object(f"{app_dir}:app", app_dir=str(tmp_path))
    assert load_object(f"{app_dir}:Holder.inner", app_dir=str(tmp_path)) is app
    assert load_object(f"{app_dir}:settings", app_dir=str(tmp_path)) == {"debug": True}


def test_load_target_calls_a_factory_when_asked(app_dir: str, tmp_path: Path) -> None:
    app = load_object(f"{app_dir}:app", app_dir=str(tmp_path))
    assert load_target(f"{app_dir}:factory", app_dir=str(tmp_path), factory=True) is app
    # Without --factory a callable taking no arguments is refused with uvicorn's hint.
    with pytest.raises(UsageError, match=r"takes no arguments, so it is not an ASGI app .*did you mean --factory\?$"):
        load_target(f"{app_dir}:factory", app_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("source", "factory"),
    [
        ("def obj(): pass", True),
        ("def obj(debug=False): pass", True),
        ("async def obj(scope, receive, send): pass", False),
        ("def obj(*args): pass", False),  # could be either: never refused
        ("class obj:\n    def __init__(self): pass", False),  # a class is an ASGI 2 app, never a factory
        ("class A:\n    def __call__(self): pass\nobj = A()", True),
        ("class A:\n    async def __call__(self, scope, receive, send): pass\nobj = A()", False),
        ("import functools\ndef f(a, b): pass\nobj = functools.partial(f, 1, 2)", True),
    ],
)
def test_looks_like_factory_reads_the_signature_without_calling(source: str, factory: bool) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    assert looks_like_factory(namespace["obj"]) is factory


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("no-colon", {}, "app 'no-colon' must be in the form MODULE:ATTRIBUTE, e.g. 'main:app'"),
        (":app", {}, "app ':app' must be in the form MODULE:ATTRIBUTE"),
        ("{m}:", {}, "must be in the form MODULE:ATTRIBUTE"),
        ("{m}_nope:app", {}, "could not import module '{m}_nope': no such module (looked in '{d}' and sys.path)"),
        ("{m}_raises:app", {}, "importing module '{m}_raises' raised RuntimeError: DATABASE_URL is not set"),
        (
            "{m}_missing_dep:app",
            {},
            "importing module '{m}_missing_dep' failed: ModuleNotFoundError: No module named 'no_such_dependency_xyz'",
        ),
        ("{m}:ap", {}, "module '{m}' has no attribute 'ap'; did you mean 'app'?"),
        ("{m}:zzz", {}, "module '{m}' has no attribute 'zzz'"),
        ("{m}:Holder.nope", {}, "module '{m}' has no attribute 'Holder.nope'"),
        ("{m}:settings", {}, "'{m}:settings' is a dict, not an ASGI application (it is not callable)"),
        ("{m}:settings", {"factory": True}, "'{m}:settings' is not callable, so it cannot be an app factory"),
        ("{m}:broken_factory", {"factory": True}, "app factory '{m}:broken_factory' raised RuntimeError: no config"),
        ("{m}:not_an_app_factory", {"factory": True}, "'{m}:not_an_app_factory' is a int, not an ASGI application"),
    ],
)
def test_every_loading_error_is_one_line(
    app_dir: str, tmp_path: Path, spec: str, options: dict[str, bool], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        load_target(spec.format(m=app_dir), app_dir=str(tmp_path), **options)
    text = str(info.value)
    assert message.format(m=app_dir, d=str(tmp_path)) in text
    assert "\n" not in text


def test_load_object_names_what_it_loads(app_dir: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^middleware 'x' must be in the form MODULE:ATTRIBUTE"):
        load_object("x", app_dir=str(tmp_path), what="middleware")


def test_the_app_dir_goes_first_on_sys_path_once(app_dir: str, tmp_path: Path) -> None:
    load_object(f"{app_dir}:app", app_dir=str(tmp_path))
    load_object(f"{app_dir}:factory", app_dir=str(tmp_path))
    assert sys.path.count(str(tmp_path)) == 1
    assert sys.path[0] == str(tmp_path)
