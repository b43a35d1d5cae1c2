"""Protocol checks for what an HTTP app sends.

``ResponseChecker`` is fed every message the app passes to ``send()``, in
order, and returns the violations each one commits.  It is pure and
synchronous: the driver records first and decides afterwards what the fake
server does with a bad message (asgi-invariants.md 0.4).
"""

from __future__ import annotations

import importlib
import os
import re
import zlib
from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol

from asgifuzz.checks.invariants import (
    BODY_FORBIDDEN,
    CONTENT_LENGTH_MISMATCH,
    HEADER_NAME_CASE,
    INVALID_BODY,
    INVALID_HEADERS,
    INVALID_MESSAGE,
    INVALID_STATUS,
    UNKNOWN_MESSAGE_TYPE,
    Invariant,
)
from asgifuzz.spec.http import HTTPState, allowed_types, illegal_move, next_state

__all__ = (
    "CONTENT_CODINGS",
    "DECODE_ERRORS",
    "Problem",
    "ResponseChecker",
    "content_decoder",
    "decodable_codings",
    "zerocopy_bytes",
)

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS = re.compile(rb"^[0-9]+$")
#: An invariant broken by one message, and what exactly was wrong.
Problem = tuple[Invariant, str]


def _headers_problem(headers: object) -> str | None:
    if isinstance(headers, dict | str | bytes):
        return f"headers must be a list of [name, value] pairs, got {type(headers).__name__}"
    try:
        pairs = list(headers)  # type: ignore[call-overload]
    except TypeError:
        return f"headers must be iterable, got {headers!r}"
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            return f"header {pair!r} is not a [name, value] pair"
        if not isinstance(name, bytes | bytearray) or not isinstance(value, bytes | bytearray):
            return f"header {pair!r}: name and value must be bytes"
        if name.startswith(b":"):
            return f"header name {bytes(name)!r} is a pseudo-header"
        if not _TOKEN.match(name):
            return f"header name {bytes(name)!r} is not an RFC 9110 token"
        if _BAD_VALUE.search(value):
            return f"header {bytes(name)!r} has a control byte (CR, LF or NUL) in its value"
    return None


def _links_problem(links: object) -> str | None:
    """``links`` of an early hint: each becomes a ``Link:`` header line."""
    if isinstance(links, str | bytes | bytearray | Mapping):
        return f"'links' must be a list of byte strings, got {type(links).__name__}"
    try:
        items = list(links)  # type: ignore[call-overload]
    except TypeError:
        return f"'links' must be iterable, got {links!r}"
    for link in items:
        if not isinstance(link, bytes | bytearray):
            return f"link {link!r} must be bytes"
        if _BAD_VALUE.search(link):
            return f"link {bytes(link)!r} has a control byte (CR, LF or NUL)"
    return None


def _header_values(headers: object, wanted: bytes) -> list[bytes]:
    out: list[bytes] = []
    try:
        for name, value in headers:  # type: ignore[attr-defined]
            if isinstance(name, bytes | bytearray) and bytes(name).lower() == wanted:
                out.append(bytes(value))
    except (TypeError, ValueError):
        pass
    return out


def _upper_case_name(headers: object) -> bytes | None:
    """The first header name that is not lower-case (only called on well-formed headers)."""
    for name, _ in headers:  # type: ignore[attr-defined]
        if bytes(name).lower() != bytes(name):
            return bytes(name)
    return None


def envelope_problem(message: object) -> Problem | None:
    """A message that is not a dict with str keys and a str 'type' (every protocol's first rule)."""
    if not isinstance(message, Mapping):
        return (INVALID_MESSAGE, f"send() got {type(message).__name__}, not a dict")
    if not all(isinstance(k, str) for k in message):
        return (INVALID_MESSAGE, f"message has non-str keys: {list(message)!r}")
    if not isinstance(message.get("type"), str):
        return (INVALID_MESSAGE, f"message 'type' must be a str, got {message.get('type')!r}")
    return None


class ResponseChecker:
    """Tracks the response state and checks each sent message."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.state = HTTPState.AWAITING_START
        self.allowed = allowed_types(scope.get("extensions"))
        self.head = scope.get("method") == "HEAD"
        self.status: int | None = None
        self.trailers_declared = False
        self.declared_length: int | None = None
        self.body_bytes = 0
        self.debug_sent = False

    @property
    def complete(self) -> bool:
        return self.state is HTTPState.COMPLETE

    @property
    def started(self) -> bool:
        return self.state is not HTTPState.AWAITING_START

    def check(self, message: object) -> list[Problem]:
        """Check one message and advance the state; returns the violations."""
        envelope = envelope_problem(message)
        if envelope is not None:
            return [envelope]
        assert isinstance(message, Mapping)
        mtype: str = message["type"]
        if mtype not in self.allowed:
            return [
                (UNKNOWN_MESSAGE_TYPE,
                    (
                        f"sent {mtype!r}, which this server does not accept "
                        f"(accepted: {', '.join(sorted(self.allowed))})"
                    ),
                )
            ]
        if mtype == "http.response.debug" and self.debug_sent:
            return [(illegal_move(self.state, mtype), "sent 'http.response.debug' twice")]
        more_key = "more_trailers" if mtype == "http.response.trailers" else "more_body"
        more = bool(message.get(more_key, False))
        new = next_state(self.state, mtype, more=more, trailers_declared=self.trailers_declared)
        if new is None:
            where = self.state.value.replace("-", " ")
            return [(illegal_move(self.state, mtype), f"sent {mtype!r} while the response was {where}")]
        problems: list[Problem] = []
        if mtype == "http.response.start":
            problems += self._check_start(message)
        elif mtype == "http.response.body":
            problems += self._check_body(message, final=not more)
        elif mtype == "http.response.zerocopysend":
            data = zerocopy_bytes(message)
            if data is None:
                problems.append((INVALID_BODY, "zerocopysend 'file' must have a working fileno() and offset/count ints"))
            else:
                problems += self._check_body({"body": data, "more_body": more}, final=not more)
        elif mtype == "http.response.pathsend":
            path = message.get("path")
            if not isinstance(path, str) or not os.path.isabs(path):
                problems.append((INVALID_BODY, f"pathsend 'path' must be an absolute str, got {path!r}"))
        elif mtype == "http.response.debug":
            self.debug_sent = True
        elif mtype == "http.response.early_hint":
            problem = _links_problem(message.get("links", []))
            if problem:
                problems.append((INVALID_HEADERS, f"early hint: {problem}"))
        elif mtype == "http.response.trailers" and "headers" in message:
            problem = _headers_problem(message["headers"])
            if problem:
                problems.append((INVALID_HEADERS, f"trailers: {problem}"))
        self.state = new
        return problems

    def _check_start(self, message: Mapping[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            problems.append((INVALID_STATUS, f"status must be an int, got {status!r}"))
        elif not 200 <= status <= 599:
            problems.append((INVALID_STATUS, f"status {status} is not a final status (200-599)"))
        else:
            self.status = status
        trailers = message.get("trailers", False)
        if not isinstance(trailers, bool):
            problems.append((INVALID_HEADERS, f"'trailers' must be a bool, got {trailers!r}"))
        self.trailers_declared = bool(trailers)
        headers = message.get("headers", [])
        problem = _headers_problem(headers)
        if problem:
            problems.append((INVALID_HEADERS, problem))
            return problems
        upper = _upper_case_name(headers)
        if upper is not None:
            problems.append((HEADER_NAME_CASE, f"header name {upper!r} is not lower-case"))
        types = _header_values(headers, b"content-type")
        if len(types) > 1:
            # RFC 9110 8.3: a singleton field; clients pick one at random.
            problems.append((INVALID_HEADERS, f"Content-Type was set {len(types)} times: {types!r}"))
        lengths = _header_values(headers, b"content-length")
        if lengths:
            values = {v.strip() for v in lengths}
            if len(values) > 1 or not all(_DIGITS.match(v) for v in values):
                problems.append((CONTENT_LENGTH_MISMATCH, f"invalid or conflicting Content-Length {lengths!r}"))
            elif _header_values(headers, b"transfer-encoding"):
                problems.append((CONTENT_LENGTH_MISMATCH, "both Content-Length and Transfer-Encoding were set"))
            else:
                self.declared_length = int(values.pop())
        return problems

    def _check_body(self, message: Mapping[str, Any], *, final: bool) -> list[Problem]:
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if not isinstance(body, bytes | bytearray | memoryview):
            return [(INVALID_BODY, f"body must be bytes, got {type(body).__name__}")]
        if not isinstance(more, bool):
            return [(INVALID_BODY, f"more_body must be a bool, got {more!r}")]
        size = memoryview(body).nbytes
        self.body_bytes += size
        problems: list[Problem] = []
        if self.head:
            return problems
        if self.status in (204, 304) and size:
            problems.append((BODY_FORBIDDEN, f"a {self.status} response sent {size} body byte(s)"))
        exempt = self.status == 304
        n = self.declared_length
        if n is not None and not exempt:
            if self.body_bytes > n:
                problems.append((CONTENT_LENGTH_MISMATCH, f"body reached {self.body_bytes} bytes, Content-Length is {n}"))
            elif final and self.body_bytes < n:
                problems.append(
                    (CONTENT_LENGTH_MISMATCH, f"body ended at {self.body_bytes} bytes, Content-Length is {n}")
                )
        return problems



def zerocopy_bytes(message: Mapping[str, Any]) -> bytes | None:
    """The bytes a ``http.response.zerocopysend`` message puts on the wire; None if it is malformed.

    ``offset`` absent reads from the file's current position, ``count``
    absent to its end (extensions.rst, Zero Copy Send).  Read with ``pread``,
    so the app's file position is left as a server's ``sendfile`` leaves it.
    """
    file = message.get("file")
    offset, count = message.get("offset"), message.get("count")
    for value in (offset, count):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            return None
    try:
        fd = file.fileno()  # type: ignore[union-attr]
        start = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else offset
        size = os.fstat(fd).st_size - start
        return os.pread(fd, max(0, size if count is None else min(count, size)), start)
    except (AttributeError, OSError, TypeError, ValueError):
        return None


# ------------------------------------------------------- content codings
#
# The checks judge what a client sees, so a compressed body is judged after
# decoding, as a browser would.  gzip and deflate come with Python; br and
# zstd need their optional libraries (``pip install asgifuzz[compression]``:
# brotli or brotlicffi, zstandard; Python 3.14's ``compression.zstd`` works
# too).  A body in a coding that cannot be decoded here is not judged at all,
# never reported as if it were the raw bytes.


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped (RFC 9110), or raw as some old ones did."""

    def __init__(self) -> None:
        self._obj = zlib.decompressobj()
        self._started = False

    def decompress(self, data: bytes) -> bytes:
        if not self._started and data:
            self._started = True
            try:
                return self._obj.decompress(data)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data)


class _Brotli:
    def __init__(self, module: Any) -> None:
        self._obj = module.Decompressor()
        # brotli names it ``process``, brotlicffi ``decompress``.
        self._step = getattr(self._obj, "process", None) or self._obj.decompress

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._step(data))


class _Chain:
    """Codings applied in order (``Content-Encoding: gzip, br``) are undone in reverse."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def decompress(self, data: bytes) -> bytes:
        for decoder in reversed(self._decoders):
            data = decoder.decompress(data)
        return data


def _optional(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _one_decoder(coding: bytes) -> _Decoder | None:
    if coding in (b"gzip", b"x-gzip"):
        return zlib.decompressobj(wbits=31)
    if coding == b"deflate":
        return _Deflate()
    if coding == b"br":
        module = _optional("brotli", "brotlicffi")
        return None if module is None else _Brotli(module)
    if coding == b"zstd":
        module = _optional("zstandard")
        if module is not None:
            decoder: _Decoder = module.ZstdDecompressor().decompressobj()
            return decoder
        stdlib = _optional("compression.zstd")
        return None if stdlib is None else stdlib.ZstdDecompressor()
    return None


#: Every coding ``content_decoder`` knows, whether or not its library is installed.
CONTENT_CODINGS: Final = (b"gzip", b"x-gzip", b"deflate", b"br", b"zstd")
#: Decoding errors of the codecs above (each library raises its own).
DECODE_ERRORS: tuple[type[BaseException], ...] = (zlib.error, ValueError, OSError, EOFError)


def decodable_codings() -> tuple[bytes, ...]:
    """The codings this environment can decode (br and zstd need their optional libraries)."""
    return tuple(c for c in CONTENT_CODINGS if _one_decoder(c) is not None)


def content_decoder(content_encoding: bytes | None) -> _Decoder | Literal[False] | None:
    """An incremental decoder for a ``Content-Encoding`` value.

    None when the body is not encoded (no header or ``identity``); False when
    it is in a coding that cannot be decoded here (unknown, or its optional
    library is missing): the caller must then not judge the decoded body.
    """
    codings = [c.strip().lower() for c in (content_encoding or b"").split(b",")]
    codings = [c for c in codings if c and c != b"identity"]
    if not codings:
        return None
    decoders = [_one_decoder(c) for c in codings]
    if any(d is None for d in decoders):
        return False
    found = [d for d in decoders if d is not None]
    return found[0] if len(found) == 1 else _Chain(found)
