"""Confirm findings on real ASGI servers (``asgifuzz confirm``).

A corpus case is replayed against its app served by uvicorn, hypercorn,
daphne or granian on loopback, with a raw-socket HTTP/1.1 client that
follows the case's script; each invariant's rule (``RULES``) decides from
what the client saw and what the server logged whether the finding
reproduced.  ``confirm_case`` is the API; ``asgifuzz.confirm.cli`` the
command line.
"""

from __future__ import annotations

from asgifuzz.confirm._client import ClientView, replay_over_socket
from asgifuzz.confirm._confirm import (
    DEFAULT_TIMEOUT,
    DEFAULT_TRIES,
    ServerVerdict,
    TryResult,
    confirm_case,
    select_servers,
)
from asgifuzz.confirm._rules import RULES, Evidence, Outcome
from asgifuzz.confirm._servers import SERVERS, installed_servers

__all__ = (
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRIES",
    "RULES",
    "SERVERS",
    "ClientView",
    "Evidence",
    "Outcome",
    "ServerVerdict",
    "TryResult",
    "confirm_case",
    "installed_servers",
    "replay_over_socket",
    "select_servers",
)
