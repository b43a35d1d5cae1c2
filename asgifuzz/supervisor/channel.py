"""The worker's end of the pipe to its parent, shared by the main and watchdog threads."""

from __future__ import annotations

import contextlib
import threading
from multiprocessing.connection import Connection

from asgifuzz.supervisor.messages import Message

__all__ = ("Channel",)


class Channel:
    """Sends whole messages, one thread at a time; a closed pipe (the parent left) is ignored."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)
