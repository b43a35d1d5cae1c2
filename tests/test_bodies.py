"""Bodies that reach the code: typed, sometimes compressed; negotiation headers; every coding decoded."""

from __future__ import annotations

import gzip
import json
import urllib.parse
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel

from asgifuzz.checks.http import content_decoder, decodable_codings
from asgifuzz.strategies import http_scopes
from asgifuzz.strategies._bodies import ACCEPT_ENCODINGS, TypedBody, _compress, encodable_codings, typed_bodies

brotli = pytest.importorskip("brotli")
zstandard = pytest.importorskip("zstandard")


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(scope["headers"])


def _decode(coding: bytes | None, body: bytes) -> bytes:
    decoder = content_decoder(coding)
    assert decoder is not False
    return body if decoder is None else decoder.decompress(body)


@settings(max_examples=300, deadline=None)
@given(typed_bodies(st.binary(max_size=16)))
def test_typed_bodies_are_framed_as_their_content_type(typed: tuple[Any, bytes, Any]) -> None:
    content_type, body, coding = typed
    if coding is not None:
        try:
            body = _decode(coding, body)
        except (zlib.error, ValueError, OSError, EOFError, brotli.error, zstandard.ZstdError):
            return  # announced, not applied: the broken variant
    if content_type == b"application/x-www-form-urlencoded":
        urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    elif content_type is not None and content_type.startswith(b"multipart/form-data"):
        assert body.startswith(b"--asgifuzz-7d3f1c\r\nContent-Disposition: form-data; name=")


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _typed_as(content_type: bytes) -> Callable[[TypedBody], bool]:
    return lambda typed: typed[0] == content_type


def _coded_as(coding: bytes) -> Callable[[TypedBody], bool]:
    return lambda typed: typed[2] == coding and len(typed[1]) > 0


def test_every_kind_and_coding_is_drawn() -> None:
    from hypothesis import find

    for content_type in (b"application/json", b"application/x-www-form-urlencoded", b"application/vnd.msgpack"):
        find(typed_bodies(st.binary()), _typed_as(content_type))
    find(typed_bodies(st.binary()), lambda t: t[0] == b"application/json" and t[1][:1] == b"{" and _parses(t[1]))
    find(typed_bodies(st.binary()), lambda t: (t[0] or b"").startswith(b"multipart/form-data") and b"filename=" in t[1])
    for coding in encodable_codings():
        typed = find(typed_bodies(st.binary()), _coded_as(coding))
        assert typed[2] == coding


@settings(max_examples=200, deadline=None)
@given(http_scopes(["POST"]))
def test_scopes_announce_the_body_they_carry(pair: tuple[dict[str, Any], bytes]) -> None:
    scope, body = pair
    headers = _headers(scope)
    if b"content-length" in headers:
        assert int(headers[b"content-length"]) == len(body)
    if b"accept-encoding" in headers:
        assert headers[b"accept-encoding"] in ACCEPT_ENCODINGS
    if b"content-encoding" in headers:
        assert headers[b"content-encoding"] in encodable_codings()


@pytest.mark.parametrize("coding", [b"gzip", b"x-gzip", b"deflate", b"br", b"zstd"])
def test_every_common_coding_decodes_incrementally(coding: bytes) -> None:
    assert coding in decodable_codings()
    payload = b"data: event %d\n\n"
    if coding in (b"gzip", b"x-gzip"):
        comp: Any = zlib.compressobj(wbits=31)
        parts = [comp.compress(payload % i) + comp.flush(zlib.Z_SYNC_FLUSH) for i in range(3)] + [comp.flush()]
    elif coding == b"deflate":
        comp = zlib.compressobj()
        parts = [comp.compress(payload % i) + comp.flush(zlib.Z_SYNC_FLUSH) for i in range(3)] + [comp.flush()]
    elif coding == b"br":
        comp = brotli.Compressor()
        parts = [comp.process(payload % i) + comp.flush() for i in range(3)] + [comp.finish()]
    else:
        comp = zstandard.ZstdCompressor().compressobj()
        parts = [comp.compress(payload % i) + comp.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for i in range(3)]
        parts.append(comp.flush())
    decoder = content_decoder(coding)
    assert decoder not in (None, False)
    # Each event decodes as soon as its flushed chunk arrives: what stream-buffered relies on.
    for i, part in enumerate(parts[:3]):
        assert decoder.decompress(part) == payload % i  # type: ignore[union-attr]


def test_raw_deflate_stacked_codings_and_unknown_ones() -> None:
    raw = zlib.compressobj(wbits=-15)
    assert _decode(b"deflate", raw.compress(b"hello") + raw.flush()) == b"hello"
    assert _decode(b"gzip, br", brotli.compress(gzip.compress(b"hi"))) == b"hi"
    assert content_decoder(None) is None and content_decoder(b"identity") is None
    assert content_decoder(b"compress") is False  # not decodable: never judged as raw bytes
    assert _compress(b"zstd", b"x") is not None


def test_a_coding_whose_library_is_missing_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    import asgifuzz.checks.http as http

    monkeypatch.setattr(http, "_optional", lambda *names: None)
    assert http.content_decoder(b"br") is False and http.content_decoder(b"zstd") is False
    assert b"br" not in http.decodable_codings() and b"gzip" in http.decodable_codings()


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def _described_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/items/{item_id}")
    async def create(item_id: int, item: Item, limit: int) -> dict[str, Any]:
        return {"id": item_id, "name": item.name, "limit": limit}

    return app


def test_openapi_operations_get_valid_bodies_and_queries_mixed_with_invalid_ones() -> None:
    pytest.importorskip("hypothesis_jsonschema")
    from asgifuzz import fuzz

    # FastAPI's own bug #13111 (a non-UTF-8 body answered 500, tests/test_recall_releases_56.py) is left out:
    # shrinking it would spend the route's examples on one 500.
    result = fuzz(_described_app(), max_examples=300, seed=5, checks=["-app-raised", "-exception-on-disconnect"])
    [statuses] = [counts for target, counts in result.stats.statuses.items() if target.startswith("route POST")]
    # Past validation to the handler, and still sent invalid requests that validation rejects.
    assert statuses.get("200", 0) >= 3 and statuses.get("422", 0) >= 3, statuses
    assert result.findings == []


def test_operation_requests_follow_the_schema() -> None:
    pytest.importorskip("hypothesis_jsonschema")
    from hypothesis import find

    from asgifuzz.routes.openapi import served_openapi
    from asgifuzz.strategies._openapi import openapi_requests_for

    doc = served_openapi(_described_app())
    parts = openapi_requests_for(doc, "/items/{item_id:int}", ("POST",))["POST"]
    assert parts.body is not None and parts.query is not None
    body = json.loads(find(parts.body, lambda b: True))
    assert isinstance(body["name"], str) and isinstance(body["price"], int | float)
    assert find(parts.query, lambda q: True).startswith(b"limit=")
