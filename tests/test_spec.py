"""The HTTP state table: every pair outside it is illegal and names its invariant."""

from __future__ import annotations

import itertools

import pytest

from asgifuzz.checks.http import ResponseChecker
from asgifuzz.checks.invariants import (
    BODY_BEFORE_RESPONSE_START,
    DUPLICATE_RESPONSE_START,
    INVARIANTS,
    MESSAGE_AFTER_RESPONSE_COMPLETE,
)
from asgifuzz.spec.http import CORE_TYPES, EXTENSION_TYPES, HTTP_TRANSITIONS, HTTPState, illegal_move, next_state

ALL_TYPES = sorted(CORE_TYPES | EXTENSION_TYPES)
ILLEGAL = [(s, t) for s, t in itertools.product(HTTPState, ALL_TYPES) if (s, t) not in HTTP_TRANSITIONS]


@pytest.mark.parametrize(("state", "message_type"), ILLEGAL)
def test_pairs_outside_the_table_are_illegal(state: HTTPState, message_type: str) -> None:
    assert next_state(state, message_type, more=False, trailers_declared=False) is None
    assert INVARIANTS[illegal_move(state, message_type).code] is illegal_move(state, message_type)


def test_hand_written_cross_check_against_the_spec() -> None:
    # www.rst: start first, start once, nothing after completion.
    assert illegal_move(HTTPState.AWAITING_START, "http.response.body") is BODY_BEFORE_RESPONSE_START
    assert illegal_move(HTTPState.STREAMING, "http.response.start") is DUPLICATE_RESPONSE_START
    assert illegal_move(HTTPState.COMPLETE, "http.response.body") is MESSAGE_AFTER_RESPONSE_COMPLETE


def test_trailers_follow_the_final_body_when_declared() -> None:
    checker = ResponseChecker({"extensions": {"http.response.trailers": {}}})
    assert checker.check({"type": "http.response.start", "status": 200, "trailers": True}) == []
    assert checker.check({"type": "http.response.body", "body": b"x"}) == []
    assert checker.state is HTTPState.TRAILERS
    assert checker.check({"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")]}) == []
    assert checker.complete


def test_content_length_is_exempt_for_head_and_304() -> None:
    head = ResponseChecker({"method": "HEAD"})
    head.check({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    assert head.check({"type": "http.response.body", "body": b""}) == []
    not_modified = ResponseChecker({"method": "GET"})
    not_modified.check({"type": "http.response.start", "status": 304, "headers": [(b"content-length", b"100")]})
    assert not_modified.check({"type": "http.response.body", "body": b""}) == []


def test_memoryview_bodies_are_accepted() -> None:
    checker = ResponseChecker({"method": "GET"})
    checker.check({"type": "http.response.start", "status": 200, "headers": []})
    assert checker.check({"type": "http.response.body", "body": memoryview(b"abc")}) == []
