"""The in-process fake server (anyio: asyncio and trio).

* ``driver``: ``run_case(app, case)`` runs one case and returns its ``Outcome``;
* ``http``: the HTTP connection (server and client sides) and the client's view;
* ``http_receive``: what ``receive()`` hands out, one policy per server family;
* ``app``: the app call, how it ended, the tasks it started;
* ``loop``: the asyncio and trio runners; ``clock``: virtual time and idleness;
* ``profiles``: the real servers imitated, as data;
* ``probe``: what asgifuzz's endpoints report about their own experience;
* ``trace``, ``running``, ``signals``: the trace, the run in progress, what
  the server raises into the app.

Importing this package is cheap: the driver (and anyio) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asgifuzz.server.driver import Outcome as Outcome, replay as replay, run_case as run_case

__all__ = ("Outcome", "replay", "run_case")


def __getattr__(name: str) -> Any:
    if name in __all__:
        from asgifuzz.server import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'asgifuzz.server' has no attribute {name!r}")
