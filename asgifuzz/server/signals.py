"""What the fake server raises into the app (imports nothing)."""

from __future__ import annotations

__all__ = ("ClientDisconnected", "LifespanFailureError", "ServerRejectedMessage")


class ClientDisconnected(OSError):
    """Raised by ``send()`` after the client left, in profiles that raise (spec 2.4+)."""


class ServerRejectedMessage(RuntimeError):
    """Raised by ``send()`` for a message the imitated server rejects; deliberately not an OSError.

    Apps and frameworks catch OSError as "the client went away" (Starlette
    turns it into ClientDisconnect), so a rejection raised that way would be
    swallowed (asgi-invariants.md 0.4).
    """


class LifespanFailureError(Exception):
    """hypercorn's ``send()`` raises this for ``lifespan.startup.failed`` / ``lifespan.shutdown.failed``.

    hypercorn (``asyncio/lifespan.py``) records the failure and raises into the
    app; only if the exception comes back out of the app does hypercorn refuse
    to start (``run.py`` re-raises it), so an app that swallows it is served.
    """

    def __init__(self, stage: str, message: object) -> None:
        super().__init__(f"Lifespan failure in {stage}. '{message}'")
