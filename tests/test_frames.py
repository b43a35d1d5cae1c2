"""``asgifuzz._frames``: which line a finding points at."""

from __future__ import annotations

import os
from typing import Any

from asgifuzz import _frames
from asgifuzz._frames import exception_site


def _function(filename: str, source: str, name: str, **globals_: Any) -> Any:
    namespace: dict[str, Any] = dict(globals_)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def test_behind_asgifuzzs_endpoint_the_site_is_the_middleware_that_raised_not_the_endpoint() -> None:
    """msgpack-asgi's receive wrapper raised KeyError under asgifuzz's endpoint: the site named the endpoint."""
    middleware = _function(
        os.path.join(os.sep, "venv", "lib", "site-packages", "msgpack_asgi", "_middleware.py"),
        "def receive():\n    raise KeyError('body')\n",
        "receive",
    )
    endpoint = _function(
        os.path.join(os.path.dirname(_frames.__file__), "endpoints.py"),
        "def read_part():\n    receive()\n",
        "read_part",
        receive=middleware,
    )
    try:
        endpoint()
    except KeyError as exc:
        assert exception_site(exc).endswith("msgpack_asgi/_middleware.py:2")
    else:
        raise AssertionError("the endpoint did not raise")


def test_the_users_own_code_stays_the_site_over_the_library_it_called() -> None:
    library = _function(
        os.path.join(os.sep, "venv", "lib", "site-packages", "lib", "x.py"), "def f():\n    raise ValueError\n", "f"
    )
    mine = _function("/srv/app/views.py", "def view():\n    f()\n", "view", f=library)
    try:
        mine()
    except ValueError as exc:
        assert exception_site(exc) == "/srv/app/views.py:2"


def test_without_user_code_the_site_is_the_library_not_the_standard_library_below_it() -> None:
    """strawberry's parse_json fed each encoding failed in another codec file: one cause, five sites."""
    import json

    parse = _function(
        os.path.join(os.sep, "venv", "lib", "site-packages", "strawberry", "http", "base.py"),
        "def parse_json(data):\n    return json.loads(data)\n",
        "parse_json",
        json=json,
    )
    # Caught in the library too (a view of the framework): no frame of the user's code on the traceback.
    catch = _function(
        os.path.join(os.sep, "venv", "lib", "site-packages", "strawberry", "asgi.py"),
        "def catch(f, arg):\n    try:\n        f(arg)\n    except ValueError as e:\n        return e\n",
        "catch",
    )
    exc = catch(parse, "not json")
    assert exception_site(exc).endswith("strawberry/http/base.py:2")
