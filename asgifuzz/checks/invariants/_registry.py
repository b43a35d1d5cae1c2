"""The invariant record and the one registry every definition module adds to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ("INVARIANTS", "Group", "Invariant", "Protocol", "Severity", "define")

Group = Literal["protocol", "lifecycle", "transparency"]
Severity = Literal["error", "warning"]
Protocol = Literal["http", "websocket", "lifespan", "any"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invariant:
    #: Stable kebab-case identifier (corpus files, ``--checks``, reports).
    code: str
    group: Group
    severity: Severity
    #: One line: what went wrong.
    title: str
    #: A plain paragraph: the rule, and why a real server or client suffers.
    explanation: str
    #: Where the rule comes from (spec section, server behaviour, issue).
    source: str
    protocol: Protocol = "http"

    def __repr__(self) -> str:
        return f"<invariant {self.code}>"


#: Every invariant by code, in the order ``asgifuzz checks`` lists them.
INVARIANTS: Final[dict[str, Invariant]] = {}


def define(**fields: object) -> Invariant:
    invariant = Invariant(**fields)  # type: ignore[arg-type]
    if invariant.code in INVARIANTS:
        raise RuntimeError(f"invariant {invariant.code!r} is defined twice")
    INVARIANTS[invariant.code] = invariant
    return invariant
