"""Invariants (the rules) and the checks that detect them; pure, no I/O.

* ``invariants``: every rule as a record (code, severity, explanation) in
  one registry, ``INVARIANTS``;
* ``http``: what an HTTP app sends (one ``ResponseChecker`` per response);
* ``lifecycle``: how the app call ends (exceptions, incomplete responses,
  hangs, leaked tasks);
* ``transparency``: a middleware stack against the bare app, same script.
"""

from __future__ import annotations

from asgifuzz.checks.invariants import INVARIANTS as INVARIANTS, Invariant as Invariant

__all__ = ("INVARIANTS", "Invariant")
