"""Every invariant says what each real server does with it, and its severity agrees.

The reactions of the protocol group are measured on the real servers by the
slow ``test_server_reactions``; this checks the records are complete and
honest: an error is something a real server rejects or a client suffers from,
and a protocol warning is something every server lets through unharmed.
"""

from __future__ import annotations

import pytest

from asgifuzz.checks.invariants import INVARIANTS, Invariant
from asgifuzz.checks.invariants._registry import SERVER_NAMES, reactions

ALL = list(INVARIANTS.values())


@pytest.mark.parametrize("inv", ALL, ids=lambda i: i.code)
def test_every_invariant_names_each_server_once(inv: Invariant) -> None:
    assert [r.server for r in inv.servers] == list(SERVER_NAMES)


@pytest.mark.parametrize("inv", [i for i in ALL if i.severity == "error"], ids=lambda i: i.code)
def test_an_error_is_rejected_by_a_server_or_harms_a_client(inv: Invariant) -> None:
    if inv.group == "transparency":
        # The comparison itself shows the client's loss: the same client got less behind the stack.
        assert inv.servers_that("n/a") == SERVER_NAMES
    else:
        assert inv.servers_that("rejects", "harms"), inv.servers_line()


@pytest.mark.parametrize("inv", [i for i in ALL if i.severity == "warning"], ids=lambda i: i.code)
def test_a_warning_harms_no_client_and_no_server_rejects_a_protocol_warning(inv: Invariant) -> None:
    assert not inv.servers_that("harms"), inv.servers_line()
    if inv.group == "protocol":
        assert not inv.servers_that("rejects"), inv.servers_line()


def test_protocol_reactions_are_all_known() -> None:
    # Measured on loopback (test_server_reactions); daphne has no lifespan.
    for inv in ALL:
        if inv.group == "protocol":
            assert not inv.servers_that("unchecked"), inv.code


def test_reactions_line_and_json() -> None:
    inv = INVARIANTS["body-forbidden"]
    assert inv.servers_line() == "rejected by uvicorn; tolerated by hypercorn, daphne, granian"
    assert inv.servers_json()["uvicorn"]["reaction"] == "rejects"
    assert INVARIANTS["disconnect-hidden"].servers_line() == "not a server matter (the app against itself)"


def test_reactions_must_name_every_server() -> None:
    with pytest.raises(RuntimeError, match="must name exactly"):
        reactions(uvicorn="rejects")
    with pytest.raises(RuntimeError, match="unknown reaction"):
        reactions(uvicorn="maybe", hypercorn="rejects", daphne="rejects", granian="rejects")
