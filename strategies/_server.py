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


_NAMES = st.sampled_from([p for p in _PROFILE_ORDER if p in PROFILES])
_FLIP = st.integers(0, _KNOB_ODDS - 1)


@lru_cache(maxsize=64)
def _others(name: str, knob: str) -> st.SearchStrategy[str] | None:
    """The values of ``knob`` other than profile ``name``'s own (built once, not per draw)."""
    others = [v for v in KNOBS[knob] if v != knob_value(get_profile(name), knob)]
    return st.sampled_from(others) if others else None


@st.composite
def _drawn(draw: st.DrawFn) -> Behaviour:
    name = draw(_NAMES)
    knobs: list[tuple[str, str]] = []
    for knob in KNOBS:
        others = _others(name, knob)
        # 0 ("keep the profile's value") is where shrinking goes.
        if others is not None and draw(_FLIP) == _KNOB_ODDS - 1:
            knobs.append((knob, draw(others)))
    return name, tuple(knobs)


@lru_cache(maxsize=8)
def server_behaviours(pinned: str | None = None) -> st.SearchStrategy[Behaviour]:
    """The server behaviour of one example; ``pinned`` (``--server-profile``) fixes the profile, no knobs."""
    if pinned is not None:
        return st.just((pinned, ()))
    return _drawn()
