"""Request bodies that reach the code: typed by their content type, sometimes compressed.

Random bytes stop at the first parser, so middleware that acts on a content
type (JSON, forms, multipart uploads, msgpack) or on a content coding is
never exercised by them.  ``typed_bodies`` draws a body *kind* first
(random bytes, where shrinking goes, then JSON, a urlencoded form, a
multipart form with files, msgpack, text), each valid most of the time and
slightly broken sometimes (a truncated document, a missing closing
boundary), and then, now and then, a ``Content-Encoding`` applied to it
(gzip, deflate, and br or zstd when their libraries are installed), or
announced but not applied.  ``accept_encodings`` draws what the client
negotiates, from the common to the slightly broken.
"""

from __future__ import annotations

import gzip
import json
import struct
import urllib.parse
import zlib
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from ._chars import TEXT_CHARS

__all__ = ("ACCEPT_ENCODINGS", "TypedBody", "accept_encodings", "encodable_codings", "typed_bodies")

#: (content type or None, body, content encoding or None).
TypedBody = tuple[bytes | None, bytes, bytes | None]

#: What clients send: browsers, curl, HTTP libraries; then slightly broken values.
ACCEPT_ENCODINGS: tuple[bytes, ...] = (
    b"gzip, deflate",
    b"gzip, deflate, br, zstd",
    b"br",
    b"zstd",
    b"gzip",
    b"br;q=1.0, gzip;q=0.8, *;q=0.1",
    b"identity",
    b"*",
    b"gzip;q=0, br",
    b"GZIP, BR",
    b"gzip;q=",
    b"br;q=abc, gzip",
    b", ,",
)

_BOUNDARY = b"asgifuzz-7d3f1c"
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(TEXT_CHARS, max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT_CHARS, max_size=8), inner, max_size=4),
    max_leaves=10,
)
_KEYS = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_BROKEN = st.integers(0, 4).map(lambda n: n == 4)  # one in five, shrinking to "valid"


def _msgpack(value: Any) -> bytes:
    """A small msgpack encoder (nil, bool, int, float, str, array, map): enough to be parsed for real."""
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack("b", value)
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return (bytes([0xA0 | len(data)]) if len(data) < 32 else b"\xd9" + bytes([len(data)])) + data
    if isinstance(value, list):
        return bytes([0x90 | len(value)]) + b"".join(_msgpack(v) for v in value)
    assert isinstance(value, dict)
    return bytes([0x80 | len(value)]) + b"".join(_msgpack(k) + _msgpack(v) for k, v in value.items())


@st.composite
def _json(draw: st.DrawFn) -> TypedBody:
    body = json.dumps(draw(_JSON)).encode()
    if draw(_BROKEN):
        body = body[:-1] if len(body) > 1 else b"{"
    return b"application/json", body, None


@st.composite
def _form(draw: st.DrawFn) -> TypedBody:
    pairs = draw(_FORM_PAIRS)
    body = urllib.parse.urlencode(pairs).encode()
    if draw(_BROKEN):
        body += b"&%zz=%"
    return b"application/x-www-form-urlencoded", body, None


@st.composite
def _multipart(draw: st.DrawFn) -> TypedBody:
    parts = []
    for name in draw(_PART_NAMES):
        if draw(st.booleans()):
            content = draw(_FILE_CONTENT)
            parts.append(
                b"--" + _BOUNDARY + b"\r\n"
                b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="' + name.encode() + b'.bin"\r\n'
                b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
            )
        else:
            value = draw(_SHORT_TEXT).encode()
            parts.append(
                b"--" + _BOUNDARY + b"\r\n"
                b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
            )
    body = b"".join(parts) + (b"" if draw(_BROKEN) else b"--" + _BOUNDARY + b"--\r\n")
    return b"multipart/form-data; boundary=" + _BOUNDARY, body, None


_MSGPACK_TYPES = st.sampled_from([b"application/vnd.msgpack", b"application/msgpack", b"application/x-msgpack"])
_MSGPACK_VALUES = st.dictionaries(st.text(TEXT_CHARS, max_size=8), _SCALARS, max_size=4)
_FORM_PAIRS = st.lists(st.tuples(_KEYS, st.text(TEXT_CHARS, max_size=12)), max_size=5)
_PART_NAMES = st.lists(_KEYS, min_size=1, max_size=3, unique=True)
_FILE_CONTENT = st.binary(max_size=64)
_SHORT_TEXT = st.text(TEXT_CHARS, max_size=12)


@st.composite
def _msgpack_body(draw: st.DrawFn) -> TypedBody:
    body = _msgpack(draw(_MSGPACK_VALUES))
    if draw(_BROKEN):
        body = body[:-1]
    return draw(_MSGPACK_TYPES), body, None


_TEXT = st.text(TEXT_CHARS, max_size=40)


@st.composite
def _text(draw: st.DrawFn) -> TypedBody:
    return b"text/plain; charset=utf-8", draw(_TEXT).encode(), None


def _compress(coding: bytes, body: bytes) -> bytes | None:
    if coding == b"gzip":
        return gzip.compress(body, mtime=0)
    if coding == b"deflate":
        return zlib.compress(body)
    if coding == b"br":
        for name in ("brotli", "brotlicffi"):
            try:
                module: Any = __import__(name)
            except ImportError:
                continue
            return bytes(module.compress(body))
        return None
    if coding == b"zstd":
        try:
            import zstandard
        except ImportError:
            return None
        return bytes(zstandard.ZstdCompressor().compress(body))
    return None


@lru_cache(maxsize=1)
def encodable_codings() -> tuple[bytes, ...]:
    """The content codings a request body can be compressed with here (br and zstd are optional)."""
    return tuple(c for c in (b"gzip", b"deflate", b"br", b"zstd") if _compress(c, b"") is not None)


_KIND = st.sampled_from(("bytes", "json", "form", "multipart", "msgpack", "text"))
_RAW_TYPES = st.sampled_from([None, b"application/octet-stream", b"text/plain", b"application/json"])
_ONE_IN_FOUR = st.integers(0, 3)


@lru_cache(maxsize=1)
def _kinds() -> dict[str, st.SearchStrategy[TypedBody]]:
    # Built once: building (and validating) these per draw cost seconds per example.
    return {"json": _json(), "form": _form(), "multipart": _multipart(), "msgpack": _msgpack_body(), "text": _text()}


@lru_cache(maxsize=1)
def _codings() -> st.SearchStrategy[bytes]:
    return st.sampled_from(encodable_codings())


@st.composite
def _typed(draw: st.DrawFn, raw: st.SearchStrategy[bytes]) -> TypedBody:
    kind = draw(_KIND)
    if kind == "bytes":
        return draw(_RAW_TYPES), draw(raw), None
    content_type, body, _ = draw(_kinds()[kind])
    # One body in four is compressed: a real coding, or announced but not applied (broken).
    if draw(_ONE_IN_FOUR) == 3:
        coding = draw(_codings())
        if draw(_BROKEN):
            return content_type, body, coding
        compressed = _compress(coding, body)
        assert compressed is not None
        return content_type, compressed, coding
    return content_type, body, None


def typed_bodies(raw: st.SearchStrategy[bytes]) -> st.SearchStrategy[TypedBody]:
    """(content type, body, content encoding): random ``raw`` bytes or a typed, maybe compressed, body."""
    return _typed(raw)


def accept_encodings() -> st.SearchStrategy[bytes | None]:
    """An ``Accept-Encoding`` value, or None for no header (where shrinking goes)."""
    return st.one_of(st.none(), st.sampled_from(ACCEPT_ENCODINGS))
