"""Strategies for the server behaviour a case runs under: a profile and its knobs.

By default every example draws the server it meets (``Settings.profile`` is
None): one of the profiles, uvicorn most often, and now and then a knob
changed to another real server's value (``server.profiles.KNOBS``).  Both
shrink towards plain uvicorn, so a finding that does not need another
server ends up reported under uvicorn.
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from asgifuzz.server.profiles import KNOBS, PROFILES, get_profile, knob_value

__all__ = ("Behaviour", "server_behaviours")

#: (profile name, knob overrides): ``Case.profile`` and ``Case.server``.
Behaviour = tuple[str, tuple[tuple[str, str], ...]]

#: uvicorn first (what shrinking goes to) and twice (what most deployments run).
_PROFILE_ORDER = ("uvicorn", "uvicorn", "hypercorn", "daphne", "strict")
#: One knob in this many is changed from the profile's own value.
_KNOB_ODDS = 4


@st.composite
def _drawn(draw: st.DrawFn) -> Behaviour:
    name = draw(st.sampled_from([p for p in _PROFILE_ORDER if p in PROFILES]))
    profile = get_profile(name)
    knobs: list[tuple[str, str]] = []
    for knob, values in KNOBS.items():
        others = [v for v in values if v != knob_value(profile, knob)]
        # 0 ("keep the profile's value") is where shrinking goes.
        if others and draw(st.integers(0, _KNOB_ODDS - 1)) == _KNOB_ODDS - 1:
            knobs.append((knob, draw(st.sampled_from(others))))
    return name, tuple(knobs)


@lru_cache(maxsize=8)
def server_behaviours(pinned: str | None = None) -> st.SearchStrategy[Behaviour]:
    """The server behaviour of one example; ``pinned`` (``--server-profile``) fixes the profile, no knobs."""
    if pinned is not None:
        return st.just((pinned, ()))
    return _drawn()
