"""``server.http_receive``: what ``receive()`` hands an HTTP app, per server family."""

from __future__ import annotations

from typing import Any

import pytest

from asgifuzz.server.http_receive import RECEIVERS, MergeReceiver, QueueReceiver
from asgifuzz.server.profiles import PROFILES, ServerProfile

UVICORN, HYPERCORN, DAPHNE = PROFILES["uvicorn"], PROFILES["hypercorn"], PROFILES["daphne"]
DISCONNECT = {"type": "http.disconnect"}


def request(body: bytes, *, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


def drain(receiver: QueueReceiver) -> list[dict[str, Any]]:
    out = []
    while (event := receiver.next_event(delivered=0, ended=False)) is not None:
        out.append(event)
    return out


def test_each_profile_gets_the_receiver_of_its_mode() -> None:
    assert {name: RECEIVERS[p.receive_mode] for name, p in PROFILES.items()} == {
        "uvicorn": MergeReceiver,
        "hypercorn": QueueReceiver,
        "daphne": QueueReceiver,
        "strict": MergeReceiver,
    }


class TestMergeReceiver:
    """uvicorn: everything received since the last receive() in one event."""

    def test_merges_what_arrived_since_the_last_receive(self) -> None:
        receiver = MergeReceiver(b"hello world", UVICORN)
        assert receiver.next_event(delivered=0, ended=False) is None  # nothing sent yet: block
        receiver.on_body(0, 2)
        receiver.on_body(2, 5)
        assert receiver.next_event(delivered=5, ended=False) == request(b"hello", more=True)
        assert receiver.next_event(delivered=5, ended=False) is None
        assert receiver.next_event(delivered=11, ended=False) == request(b" world", more=False)
        assert receiver.next_event(delivered=11, ended=False) is None  # the body is over: block

    def test_empty_body_is_one_final_empty_event(self) -> None:
        receiver = MergeReceiver(b"", UVICORN)
        assert receiver.next_event(delivered=0, ended=False) == request(b"", more=False)
        assert receiver.next_event(delivered=0, ended=False) is None

    def test_repeats_the_disconnect_once_the_exchange_ended(self) -> None:
        receiver = MergeReceiver(b"abc", UVICORN)
        receiver.on_end()
        for _ in range(3):
            assert receiver.next_event(delivered=1, ended=True) == DISCONNECT

    def test_body_not_yet_given_is_not_handed_out_after_the_end(self) -> None:
        """Once the client left, the rest of what it sent is never delivered (uvicorn drops it)."""
        receiver = MergeReceiver(b"abcdef", UVICORN)
        assert receiver.next_event(delivered=2, ended=False) == request(b"ab", more=True)
        assert receiver.next_event(delivered=4, ended=True) == DISCONNECT


class TestQueueReceiver:
    def test_hypercorn_queues_each_chunk_then_an_empty_final_event(self) -> None:
        receiver = QueueReceiver(b"hello world", HYPERCORN)
        receiver.on_body(0, 2)
        receiver.on_body(2, 2)  # an empty chunk queues nothing
        receiver.on_body(2, 11)
        assert drain(receiver) == [
            request(b"he", more=True),
            request(b"llo world", more=True),
            request(b"", more=False),
        ]

    def test_hypercorn_empty_body_is_one_empty_final_event(self) -> None:
        receiver = QueueReceiver(b"", HYPERCORN)
        receiver.on_body(0, 0)
        assert drain(receiver) == [request(b"", more=False)]

    def test_without_the_empty_final_event_the_last_chunk_ends_the_body(self) -> None:
        profile = ServerProfile(
            name="queue-plain", description="", spec_version="2.3", send_after_disconnect="noop", receive_mode="queue"
        )
        receiver = QueueReceiver(b"hello", profile)
        receiver.on_body(0, 3)
        receiver.on_body(3, 5)
        assert drain(receiver) == [request(b"hel", more=True), request(b"lo", more=False)]

    def test_daphne_buffers_the_whole_body_then_rechunks_it_by_8192(self) -> None:
        body = bytes(range(256)) * 80  # 20480 bytes: 8192 + 8192 + 4096
        receiver = QueueReceiver(body, DAPHNE)
        receiver.on_body(0, 100)
        assert drain(receiver) == []  # nothing until the body is complete
        receiver.on_body(100, len(body))
        assert drain(receiver) == [
            request(body[:8192], more=True),
            request(body[8192:16384], more=True),
            request(body[16384:], more=False),
        ]

    def test_daphne_body_of_an_exact_multiple_ends_with_an_empty_event(self) -> None:
        body = b"x" * 16384
        receiver = QueueReceiver(body, DAPHNE)
        receiver.on_body(0, len(body))
        assert drain(receiver) == [
            request(body[:8192], more=True),
            request(body[8192:], more=True),
            request(b"", more=False),
        ]

    def test_daphne_empty_body_is_one_empty_final_event(self) -> None:
        receiver = QueueReceiver(b"", DAPHNE)
        receiver.on_body(0, 0)
        assert drain(receiver) == [request(b"", more=False)]

    @pytest.mark.parametrize("profile", [HYPERCORN, DAPHNE], ids=lambda p: p.name)
    def test_one_disconnect_after_the_body_then_block(self, profile: ServerProfile) -> None:
        receiver = QueueReceiver(b"ab", profile)
        receiver.on_body(0, 2)
        receiver.on_end()
        receiver.on_end()  # the response completing and the client leaving: still one disconnect
        events = drain(receiver)
        assert events[-1] == DISCONNECT and events.count(DISCONNECT) == 1
        assert receiver.next_event(delivered=2, ended=True) is None
