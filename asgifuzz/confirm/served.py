"""The exact target a case ran against, for a real server to serve.

A case on a stack target ran the app's own middleware in front of one of
asgifuzz's adversarial endpoints (inside the app: ``asgifuzz._in_app``); a
real server serving just the app would route the request to the app's own
route instead.  So ``asgifuzz confirm`` has the server import
``asgifuzz.confirm.served:app``, which rebuilds the case's target from the
environment: ``ASGIFUZZ_SERVE_APP`` (``module:attr``),
``ASGIFUZZ_SERVE_TARGET`` (the target id) and ``ASGIFUZZ_SERVE_FACTORY``.
"""

from __future__ import annotations

import os

from asgifuzz._loading import load_target
from asgifuzz._targets import discover_targets

__all__ = ("app",)


def _target_app() -> object:
    spec = os.environ["ASGIFUZZ_SERVE_APP"]
    wanted = os.environ["ASGIFUZZ_SERVE_TARGET"]
    user_app = load_target(spec, app_dir=os.getcwd(), factory=os.environ.get("ASGIFUZZ_SERVE_FACTORY") == "1")
    if " -> " not in wanted:
        return user_app  # a route of the app: the app itself, as any server serves it
    for target in discover_targets(user_app):
        if target.id == wanted:
            return target.app
    raise LookupError(f"{spec} has no target {wanted!r}")


app = _target_app()
