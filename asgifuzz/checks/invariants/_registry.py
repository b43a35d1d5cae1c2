"""The invariant record and the one registry every definition module adds to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = (
    "INVARIANTS",
    "SERVER_NAMES",
    "Group",
    "Invariant",
    "Protocol",
    "Reaction",
    "ServerReaction",
    "Severity",
    "define",
    "reactions",
    "same_for_all",
)

Group = Literal["protocol", "lifecycle", "transparency"]
Severity = Literal["error", "warning"]
Protocol = Literal["http", "websocket", "lifespan", "any"]
#: How a real server meets the message or behaviour:
#: ``rejects``: it refuses it (raises, logs an error, answers 500, drops the connection);
#: ``harms``: it goes along, and the client gets a wrong, incomplete or no response, or a task is stuck;
#: ``tolerates``: it goes along and the client gets what the app meant;
#: ``n/a``: not the server's matter (the app against itself), or the server lacks the protocol;
#: ``unchecked``: neither measured nor read in the server's source yet.
Reaction = Literal["rejects", "harms", "tolerates", "n/a", "unchecked"]
#: The real servers every invariant states a reaction for, in this order.
SERVER_NAMES: Final = ("uvicorn", "hypercorn", "daphne", "granian")


@dataclass(frozen=True, slots=True)
class ServerReaction:
    server: str
    reaction: Reaction
    #: What the server does, in a few words ("RuntimeError, the client gets 500").
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.server}: {self.reaction}" + (f" ({self.detail})" if self.detail else "")


def reactions(**by_server: str) -> tuple[ServerReaction, ...]:
    """``reactions(uvicorn="rejects: RuntimeError", ...)``: one ``"reaction[: detail]"`` per server.

    Every server of ``SERVER_NAMES`` must be named: an invariant says what each does.
    """
    if set(by_server) != set(SERVER_NAMES):
        raise RuntimeError(f"reactions() must name exactly {SERVER_NAMES}, got {sorted(by_server)}")
    out = []
    for server in SERVER_NAMES:
        reaction, _, detail = by_server[server].partition(":")
        if reaction not in ("rejects", "harms", "tolerates", "n/a", "unchecked"):
            raise RuntimeError(f"unknown reaction {reaction!r} for {server}")
        out.append(ServerReaction(server, reaction, detail.strip()))  # type: ignore[arg-type]
    return tuple(out)


def same_for_all(text: str) -> tuple[ServerReaction, ...]:
    return reactions(**dict.fromkeys(SERVER_NAMES, text))


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
    #: What each real server (``SERVER_NAMES``) does with it.  For the protocol
    #: group these are measured on loopback by ``tests/test_server_reactions.py``.
    servers: tuple[ServerReaction, ...] = ()

    def __repr__(self) -> str:
        return f"<invariant {self.code}>"

    def reaction(self, server: str) -> ServerReaction | None:
        return next((r for r in self.servers if r.server == server), None)

    def servers_that(self, *kinds: Reaction) -> tuple[str, ...]:
        return tuple(r.server for r in self.servers if r.reaction in kinds)

    def servers_line(self) -> str:
        """One line for reports: ``rejected by uvicorn, hypercorn; tolerated by daphne, granian``."""
        words: tuple[tuple[Reaction, str], ...] = (
            ("rejects", "rejected by"),
            ("harms", "accepted to the client's harm by"),
            ("tolerates", "tolerated by"),
        )
        parts = [f"{w} {', '.join(self.servers_that(k))}" for k, w in words if self.servers_that(k)]
        na, unchecked = self.servers_that("n/a"), self.servers_that("unchecked")
        if na and parts:
            parts.append(f"n/a for {', '.join(na)}")
        if unchecked and parts:
            parts.append(f"unchecked on {', '.join(unchecked)}")
        return "; ".join(parts) if parts else "not a server matter (the app against itself)"

    def servers_json(self) -> dict[str, dict[str, str]]:
        return {r.server: {"reaction": r.reaction, "detail": r.detail} for r in self.servers}


#: Every invariant by code, in the order ``asgifuzz checks`` lists them.
INVARIANTS: Final[dict[str, Invariant]] = {}


def define(**fields: object) -> Invariant:
    invariant = Invariant(**fields)  # type: ignore[arg-type]
    if invariant.code in INVARIANTS:
        raise RuntimeError(f"invariant {invariant.code!r} is defined twice")
    if len(invariant.servers) != len(SERVER_NAMES):
        raise RuntimeError(f"invariant {invariant.code!r} must say what each of {SERVER_NAMES} does (servers=)")
    INVARIANTS[invariant.code] = invariant
    return invariant
