"""Which server behaviours a finding shows under.

A finding is shrunk under one behaviour (a profile and its knobs, drawn per
example).  Its report names every behaviour under which the same shrunk
case shows the same finding: each profile as it is, and uvicorn with each
knob changed alone, so a reader sees at once whether the bug needs, say, a
server that raises on ``send()`` after the disconnect (ASGI spec 2.4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from asgifuzz._finding import Finding
from asgifuzz.server.profiles import KNOBS, PROFILES, behaviour_label, get_profile, knob_value

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._targets import Target

__all__ = ("CANDIDATES", "name_behaviours")

#: Past this many findings, only the first ones are replayed (each costs a run per candidate).
MAX_NAMED = 30


def _candidates() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    out: list[tuple[str, tuple[tuple[str, str], ...]]] = [(name, ()) for name in PROFILES]
    base = get_profile("uvicorn")
    for knob, values in KNOBS.items():
        out += [("uvicorn", ((knob, v),)) for v in values if v != knob_value(base, knob)]
    return out


CANDIDATES = _candidates()


def name_behaviours(findings: Sequence[Finding], targets: Mapping[str, Target], settings: Settings) -> None:
    """Fill each finding's ``behaviours`` by replaying its case under every candidate behaviour."""
    for finding in findings[:MAX_NAMED]:
        case = finding.case
        if case is None or case.target not in targets or case.scope.get("type") != "http":
            continue
        target = targets[case.target]
        shows: list[str] = []
        for name, knobs in CANDIDATES:
            variant = dataclasses.replace(case, profile=name, server=knobs)
            try:
                _, found = target.run(variant, settings)
            except Exception:  # a replay that breaks the fuzzer's own run says nothing of the app
                continue
            if any(f.key == finding.key for f in found):
                shows.append(behaviour_label(name, knobs))
        own = behaviour_label(case.profile, case.server)
        if own not in shows:
            shows.insert(0, own)
        finding.behaviours = shows
