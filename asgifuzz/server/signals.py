"""What the fake server raises into the app (imports nothing)."""

from __future__ import annotations

__all__ = ("ClientDisconnected", "ServerRejectedMessage")


class ClientDisconnected(OSError):
    """Raised by ``send()`` after the client left, in profiles that raise (spec 2.4+)."""


class ServerRejectedMessage(RuntimeError):
    """Raised by ``send()`` for a message the imitated server rejects; deliberately not an OSError.

    Apps and frameworks catch OSError as "the client went away" (Starlette
    turns it into ClientDisconnect), so a rejection raised that way would be
    swallowed (asgi-invariants.md 0.4).
    """
