"""Server profiles: how the fake server imitates a real one.

Each profile bundles the knobs of asgi-invariants.md section 8.  Oracles never
change with the profile; only what the server hands the app does.  Every
profile keeps ``spec_version`` consistent with what ``send`` does after a
disconnect: Starlette picks its disconnect strategy from that version, so a
mismatch would make correct apps look broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from asgifuzz._errors import UsageError

__all__ = (
    "KNOBS",
    "PROFILES",
    "ServerProfile",
    "behaviour_label",
    "get_profile",
    "knob_value",
    "profile_of",
    "resolve_profile",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerProfile:
    name: str
    description: str
    #: ``scope["asgi"]["spec_version"]``; None leaves the key out.
    spec_version: str | None
    #: What ``send`` does once the client has gone.
    send_after_disconnect: Literal["noop", "raise"]
    #: ``merge``: one event with everything buffered (uvicorn);
    #: ``queue``: one event per received chunk (hypercorn, daphne).
    receive_mode: Literal["merge", "queue"]
    #: Queue mode: end the body with an extra empty ``more_body=False`` event.
    empty_final_chunk: bool = False
    #: Queue mode: buffer the whole body, then queue it in chunks of this size.
    rechunk: int | None = None
    #: After the disconnect was delivered: repeat it, or block forever.
    after_disconnect: Literal["repeat", "block"] = "repeat"
    #: Base ``scope["extensions"]``: None leaves the key out.
    base_extensions: bool = False
    #: Give each request a ``state`` dict.
    state: bool = True
    #: Invariant codes whose messages this server passes on (or drops)
    #: without raising into the app; the finding is still recorded.
    tolerates: frozenset[str] = frozenset({"header-name-case"})
    # -- websocket (asgi-invariants.md 8: K-WS-*); the defaults are uvicorn 0.54's.
    #: ``scope["asgi"]["spec_version"]`` of websocket scopes; None leaves it out.
    ws_spec_version: str | None = "2.4"
    #: What ``send`` does once the client has gone: uvicorn raises ClientDisconnected.
    ws_send_after_disconnect: Literal["noop", "raise"] = "raise"
    #: The disconnect code for a connection lost after accept without a close frame.
    ws_lost_code: int = 1005
    #: The disconnect event carries the client's close ``reason`` (spec 2.5 key).
    ws_disconnect_reason: bool = True
    #: The disconnect code after the app closed: its own (uvicorn) or 1000 (hypercorn).
    ws_echo_app_close_code: bool = True
    # -- lifespan
    #: ``send()`` of ``lifespan.*.failed`` raises ``LifespanFailureError`` into the app (hypercorn);
    #: uvicorn returns and acts on the failure itself (exit code 3 after a failed startup).
    lifespan_failed_raises: bool = False


def _tolerated_everywhere() -> frozenset[str]:
    """The protocol invariants no real server rejects (``checks.invariants``: measured per server)."""
    from asgifuzz.checks.invariants import INVARIANTS

    return frozenset(code for code, inv in INVARIANTS.items() if not inv.servers_that("rejects"))


PROFILES: Final[dict[str, ServerProfile]] = {
    p.name: p
    for p in (
        ServerProfile(
            name="uvicorn",
            description="uvicorn 0.54 HTTP/1.1: merged body, repeated disconnect, "
            "silent no-op send after disconnect, spec 2.3",
            spec_version="2.3",
            send_after_disconnect="noop",
            receive_mode="merge",
        ),
        ServerProfile(
            name="hypercorn",
            description="hypercorn 0.18 HTTP/1.1: one event per chunk plus an empty "
            "final event, one disconnect then receive() blocks, spec 2.1",
            spec_version="2.1",
            send_after_disconnect="noop",
            receive_mode="queue",
            empty_final_chunk=True,
            after_disconnect="block",
            base_extensions=True,
            ws_spec_version="2.3",
            ws_send_after_disconnect="noop",
            ws_lost_code=1006,
            ws_disconnect_reason=False,
            ws_echo_app_close_code=False,
            lifespan_failed_raises=True,
            # h11 under hypercorn drops a 204/304 body instead of raising; its lifespan
            # send ignores a second reply (measured: tests/test_server_reactions.py).
            tolerates=frozenset({"header-name-case", "body-forbidden", "lifespan-reply-order"}),
        ),
        ServerProfile(
            name="daphne",
            description="daphne 4.2: whole body buffered then 8192-byte chunks, one "
            "disconnect then receive() blocks, no spec_version/state/extensions",
            spec_version=None,
            send_after_disconnect="noop",
            receive_mode="queue",
            rechunk=8192,
            after_disconnect="block",
            state=False,
            ws_spec_version=None,
            ws_send_after_disconnect="noop",
            ws_lost_code=1006,
            ws_disconnect_reason=False,
            # twisted drops a 204/304 body and never checks Content-Length.
            tolerates=frozenset({"header-name-case", "body-forbidden", "content-length-mismatch"}),
        ),
        ServerProfile(
            name="strict",
            description="the spec read strictly: spec 2.5, send() raises an OSError after the client disconnected, "
            "every message that some real server rejects is rejected",
            spec_version="2.5",
            send_after_disconnect="raise",
            receive_mode="merge",
            base_extensions=True,
            # Strict rejects what at least one real server rejects, never more: rejecting an
            # upper-case header name (every server sends it on) lost secure's responses "under
            # strict" only, and the stack was reported as losing them (false errors).
            tolerates=_tolerated_everywhere(),
            ws_spec_version="2.5",
            ws_lost_code=1006,
        ),
    )
}


#: Knobs the search draws per example on top of the drawn profile (asgi-invariants.md 8),
#: name -> the values a real server uses.  Each value is one real server's
#: behaviour, so no combination is stricter than some real server:
#: ``send-after-disconnect``: noop (uvicorn 0.54, hypercorn, daphne) or raise an
#: OSError subclass (spec 2.4, uvicorn 0.28, anycorn #79); ``receive-after-disconnect``:
#: repeat (uvicorn) or block (hypercorn, daphne); ``body-events``: merge (uvicorn),
#: chunks (httpx), chunks+empty (hypercorn) or buffered (daphne: whole body, 8192 pieces).
KNOBS: Final[dict[str, tuple[str, ...]]] = {
    "send-after-disconnect": ("noop", "raise"),
    "receive-after-disconnect": ("repeat", "block"),
    "body-events": ("merge", "chunks", "chunks+empty", "buffered"),
}


def knob_value(profile: ServerProfile, knob: str) -> str:
    """The value of ``knob`` in ``profile``."""
    if knob == "send-after-disconnect":
        return profile.send_after_disconnect
    if knob == "receive-after-disconnect":
        return profile.after_disconnect
    if profile.receive_mode == "merge":
        return "merge"
    if profile.rechunk:
        return "buffered"
    return "chunks+empty" if profile.empty_final_chunk else "chunks"


def _version(spec: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in spec.split(".")) if spec else (0,)


def resolve_profile(name: str, knobs: tuple[tuple[str, str], ...] = ()) -> ServerProfile:
    """Profile ``name`` with the ``knobs`` overridden (unknown knobs or values raise ``UsageError``).

    ``spec_version`` follows ``send-after-disconnect`` (asgi-invariants.md 8,
    K-SEND-AFTER-DISCONNECT): Starlette picks its disconnect strategy from it,
    so a server that raises advertises at least 2.4 and one that does not
    advertises less.
    """
    profile = get_profile(name)
    changes: dict[str, object] = {}
    for knob, value in knobs:
        if knob not in KNOBS or value not in KNOBS[knob]:
            raise UsageError(f"server knob {knob}={value!r} is unknown; known: {KNOBS}")
        if knob == "send-after-disconnect":
            changes["send_after_disconnect"] = value
            version = _version(profile.spec_version)
            if value == "raise" and version < (2, 4):
                changes["spec_version"] = "2.4"
            elif value == "noop" and version >= (2, 4):
                changes["spec_version"] = "2.3"
        elif knob == "receive-after-disconnect":
            changes["after_disconnect"] = value
        else:
            changes["receive_mode"] = "merge" if value == "merge" else "queue"
            changes["empty_final_chunk"] = value == "chunks+empty"
            changes["rechunk"] = 8192 if value == "buffered" else None
    if not changes:
        return profile
    import dataclasses

    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


def profile_of(case: object) -> ServerProfile:
    """The server behaviour a case runs under: its profile and its knob overrides."""
    return resolve_profile(getattr(case, "profile", "uvicorn"), getattr(case, "server", ()))


def behaviour_label(name: str, knobs: tuple[tuple[str, str], ...] = ()) -> str:
    """``hypercorn`` or ``uvicorn+send-after-disconnect=raise``: how reports name a behaviour."""
    return "+".join([name, *(f"{k}={v}" for k, v in knobs)])


def get_profile(name: str) -> ServerProfile:
    try:
        return PROFILES[name]
    except KeyError:
        choices = ", ".join(PROFILES)
        raise UsageError(f"server profile {name!r} is unknown; choose one of: {choices}") from None
