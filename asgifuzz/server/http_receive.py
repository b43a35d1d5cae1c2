"""What ``receive()`` hands an HTTP app: one policy per family of real servers.

Picked by table lookup (``RECEIVERS[profile.receive_mode]``), not by ``if``
ladders, as h11 picks its readers.  A receiver is told when body bytes
arrive from the client (``on_body``) and when the exchange ends (the
response completed or the client left: ``on_end``), and answers
``next_event`` with the next event for the app, or None to block.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from asgifuzz.server.profiles import ServerProfile

__all__ = ("RECEIVERS", "MergeReceiver", "QueueReceiver", "Receiver")

Event = dict[str, Any]
_DISCONNECT: Final = "http.disconnect"


class Receiver(Protocol):
    def on_body(self, start: int, end: int) -> None:
        """The client has now sent ``body[:end]`` (it had sent ``body[:start]``)."""

    def on_end(self) -> None:
        """The response completed or the client left."""

    def next_event(self, *, delivered: int, ended: bool) -> Event | None:
        """The next event for the app; None blocks until something changes."""


class MergeReceiver:
    """uvicorn: one event with everything received since the last ``receive()``.

    After the exchange ended, ``http.disconnect`` on every call.
    """

    def __init__(self, body: bytes, profile: ServerProfile) -> None:
        self.body = body
        #: Body bytes already given to the app.
        self.given = 0
        self.final_given = False

    def on_body(self, start: int, end: int) -> None:
        pass

    def on_end(self) -> None:
        pass

    def next_event(self, *, delivered: int, ended: bool) -> Event | None:
        if ended:
            return {"type": _DISCONNECT}
        if self.given < delivered or (delivered >= len(self.body) and not self.final_given):
            data = self.body[self.given : delivered]
            self.given = delivered
            more = delivered < len(self.body)
            if not more:
                self.final_given = True
            return {"type": "http.request", "body": data, "more_body": more}
        return None


class QueueReceiver:
    """hypercorn, daphne: one queued event per received chunk, then one disconnect.

    hypercorn ends the body with an extra empty ``more_body=False`` event;
    daphne buffers the whole body and queues it in fixed-size pieces.
    """

    def __init__(self, body: bytes, profile: ServerProfile) -> None:
        self.body = body
        self.profile = profile
        self.queue: list[Event] = []
        self.disconnect_queued = False
        if not body:
            # A request without a body is complete with its head: one empty
            # final event, at once (as hypercorn and daphne send it).
            self._push(b"", more=False)

    def on_body(self, start: int, end: int) -> None:
        if not self.body:
            return  # queued at once, in __init__
        done = end >= len(self.body)
        step = self.profile.rechunk
        if step:
            if done:
                data = self.body
                pieces = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
                if len(data) and len(data) % step == 0:
                    pieces.append(b"")
                for i, piece in enumerate(pieces):
                    self._push(piece, more=i < len(pieces) - 1)
            return
        if end > start:
            self._push(self.body[start:end], more=True)
        if done and start < len(self.body):
            if self.profile.empty_final_chunk:
                self._push(b"", more=False)
            elif self.queue:
                self.queue[-1]["more_body"] = False

    def _push(self, data: bytes, *, more: bool) -> None:
        self.queue.append({"type": "http.request", "body": data, "more_body": more})

    def on_end(self) -> None:
        if not self.disconnect_queued:
            self.disconnect_queued = True
            self.queue.append({"type": _DISCONNECT})

    def next_event(self, *, delivered: int, ended: bool) -> Event | None:
        return self.queue.pop(0) if self.queue else None


RECEIVERS: Final[dict[str, type[MergeReceiver] | type[QueueReceiver]]] = {
    "merge": MergeReceiver,
    "queue": QueueReceiver,
}
