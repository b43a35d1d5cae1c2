"""asgifuzz: fuzz ASGI apps and middleware stacks.

An in-process fake server drives the app with arbitrary request-body
chunking, client disconnects at any point, scheduler interleavings and
virtual time, checks ASGI invariants at every step, and shrinks every
finding to a minimal replayable case.

Layers (each imports only those above it; docs/architecture.md draws them):
``_errors``/``_types`` <- ``checks.invariants`` <- ``spec`` (pure state tables)
<- ``checks`` (pure) <- ``server`` (anyio: the fake server) <- ``_targets`` <-
``_search`` (Hypothesis) <- ``_api`` <- ``report`` <- ``cli`` / ``pytest_plugin``.
Importing ``asgifuzz`` itself is cheap: heavy members load on first use.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any

from asgifuzz._errors import (
    ASGIFuzzError as ASGIFuzzError,
    CorpusError as CorpusError,
    UsageError as UsageError,
    Violation as Violation,
)
from asgifuzz.checks.invariants import INVARIANTS as INVARIANTS, Invariant as Invariant

if TYPE_CHECKING:
    from asgifuzz._api import fuzz as fuzz
    from asgifuzz._case import Case as Case
    from asgifuzz._config import Settings as Settings
    from asgifuzz._finding import Finding as Finding
    from asgifuzz.server.driver import replay as replay, run_case as run_case

__version__ = "0.1.0"

# ``strategies/`` sits beside this package in a source checkout and is
# installed as ``asgifuzz.strategies``.  When Python imports asgifuzz straight
# from a checkout (``python -m asgifuzz`` run inside it puts the checkout first
# on sys.path), let the submodule be found there too.  Cheap: two stat calls.
_here = __path__[0]
_checkout = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "strategies")) and _os.path.isfile(
    _os.path.join(_checkout, "strategies", "_scopes.py")
):
    __path__.append(_checkout)

__all__ = (
    "INVARIANTS",
    "ASGIFuzzError",
    "Case",
    "CorpusError",
    "Finding",
    "Invariant",
    "Settings",
    "UsageError",
    "Violation",
    "__version__",
    "fuzz",
    "replay",
    "run_case",
)

_LAZY = {
    "fuzz": "asgifuzz._api",
    "Case": "asgifuzz._case",
    "Settings": "asgifuzz._config",
    "replay": "asgifuzz.server.driver",
    "run_case": "asgifuzz.server.driver",
    "Finding": "asgifuzz._finding",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'asgifuzz' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
