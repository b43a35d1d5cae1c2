"""Strategies for HTTP connection scopes and request bodies."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from asgifuzz._errors import UsageError

from ._bodies import TypedBody, accept_encodings, typed_bodies
from ._openapi import OperationRequests, openapi_requests_for

__all__ = ("http_scopes", "request_bodies")

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?}")
_SEGMENT_ALPHABET = string.ascii_letters + string.digits + "-_.~"
#: Extensions the fake server can honour; each is advertised only sometimes.
EXTENSIONS = (
    "http.response.pathsend",
    "http.response.zerocopysend",
    "http.response.trailers",
    "http.response.early_hint",
)


def request_bodies(*, max_size: int = 2048) -> st.SearchStrategy[bytes]:
    """Request bodies: mostly short, sometimes past compression thresholds.

    Bodies shrink towards ``b""``.
    """
    if max_size < 0:
        raise UsageError(f"max_size={max_size!r} must be >= 0")
    small = st.binary(max_size=min(max_size, 32))
    if max_size <= 32:
        return small
    return st.one_of(small, st.binary(min_size=33, max_size=max_size))


def _path_values(kind: str | None) -> st.SearchStrategy[str]:
    if kind == "int":
        return st.integers(0, 10**6).map(str)
    if kind == "float":
        # Always with a dot: Werkzeug's float converter (Quart) needs one.
        return st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}")
    if kind == "slug":
        return st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)
    if kind == "uuid":
        return st.uuids().map(str)
    if kind == "path":
        return st.lists(st.text(_SEGMENT_ALPHABET, min_size=1, max_size=6), min_size=1, max_size=3).map("/".join)
    return st.text(_SEGMENT_ALPHABET, min_size=1, max_size=8)


def _paths(template: str) -> st.SearchStrategy[str]:
    parts: list[st.SearchStrategy[str]] = []
    pos = 0
    for m in _PARAM.finditer(template):
        parts.append(st.just(template[pos : m.start()]))
        parts.append(_path_values(m.group(2)))
        pos = m.end()
    parts.append(st.just(template[pos:]))
    return st.tuples(*parts).map("".join)


_VERSIONS = st.sampled_from(["1.1", "1.1", "1.0", "2"])
_FRAMINGS = st.sampled_from(["content-length", "chunked", "none"])
_ACCEPT_ENCODINGS = accept_encodings()
_QUERIES = st.sampled_from([b"", b"", b"q=1", b"a=1&b=%20x"])
_ONE_IN_FIVE = st.integers(0, 4)


#: Cookie names tried when the app's middleware names none.
COOKIE_NAMES = ("session", "sessionid", "csrftoken")
#: What a cookie value may hold: tokens, signed-looking values, and what a client should not send
#: (quotes, commas, spaces, bytes past ASCII) -- never CR, LF, NUL or the pair separator.
_COOKIE_VALUES = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "-_.=+/", max_size=48).map(str.encode),
    st.binary(max_size=24).map(lambda b: bytes(c for c in b if c >= 0x20 and c not in b";\x7f")),
)


@lru_cache(maxsize=64)
def _cookies(names: tuple[str, ...]) -> st.SearchStrategy[bytes | None]:
    """A ``cookie`` header in about one request in three: 1-2 pairs under the names the app reads."""
    pair = st.tuples(st.sampled_from(names), _COOKIE_VALUES).map(lambda nv: nv[0].encode("latin-1") + b"=" + nv[1])
    some = st.lists(pair, min_size=1, max_size=2).map(b"; ".join)
    return st.one_of(st.none(), st.none(), some)


@st.composite
def _scope_and_body(
    draw: st.DrawFn,
    methods: st.SearchStrategy[str],
    paths: st.SearchStrategy[str],
    bodies: st.SearchStrategy[TypedBody],
    extensions: bool,
    extra_headers: Sequence[tuple[bytes, bytes]],
    openapi: Mapping[str, OperationRequests],
    cookies: st.SearchStrategy[bytes | None],
) -> tuple[dict[str, Any], bytes]:
    # The sub-strategies are built once by ``http_scopes``, not per draw:
    # building and validating strategies was a visible share of each example.
    method = draw(methods)
    concrete = draw(paths)
    content_type, body, coding = (None, b"", None)
    described = openapi.get(method)
    # Half the requests of a described operation carry a valid body (past
    # validation, to the handler); the rest stay typed, random or broken.
    if described is not None and described.body is not None and draw(st.booleans()):
        content_type, body = b"application/json", draw(described.body)
    elif not (method in ("GET", "HEAD") and draw(st.booleans())):
        content_type, body, coding = draw(bodies)
    http_version = draw(_VERSIONS)
    host = next((v for n, v in extra_headers if n == b"host"), b"testserver")
    headers: list[tuple[bytes, bytes]] = [(b"host", host)]
    framing = draw(_FRAMINGS) if body else "content-length"
    if framing == "chunked" and http_version == "1.1":
        headers.append((b"transfer-encoding", b"chunked"))
    elif body or method in ("POST", "PUT", "PATCH"):
        headers.append((b"content-length", str(len(body)).encode()))
    accept = draw(_ACCEPT_ENCODINGS)
    if accept is not None:
        headers.append((b"accept-encoding", accept))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if coding is not None:
        headers.append((b"content-encoding", coding))
    cookie = draw(cookies)
    if cookie is not None:
        headers.append((b"cookie", cookie))
    headers.extend((n, v) for n, v in extra_headers if n != b"host")
    query = draw(_QUERIES)
    if described is not None and described.query is not None and draw(st.booleans()):
        query = draw(described.query)
    ext: dict[str, dict[str, Any]] = {}
    if extensions:
        for name in EXTENSIONS:
            if draw(_ONE_IN_FIVE) == 4:
                ext[name] = {}
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": http_version,
        "method": method,
        "scheme": "http",
        "path": concrete,
        "raw_path": concrete.encode("utf-8"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    if ext:
        scope["extensions"] = ext
    return scope, body


def http_scopes(
    methods: Sequence[str] = ("GET", "POST"),
    *,
    path: str = "/",
    max_body: int = 2048,
    extensions: bool = True,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    openapi: Mapping[str, Any] | None = None,
    cookie_names: Sequence[str] = (),
) -> st.SearchStrategy[tuple[dict[str, Any], bytes]]:
    """Pairs of (HTTP scope, request body) for a route.

    ``path`` is a route template: ``{name}``, ``{name:int}``, ``{name:path}``
    and the other Starlette convertors are filled with matching values.
    Headers are consistent with the body: a ``content-length`` that matches,
    or ``transfer-encoding: chunked`` on HTTP/1.1 (never both).  Extensions
    the fake server supports (pathsend, zerocopysend, trailers, early hints)
    are advertised in about one scope in five each.  Bodies are typed by
    their content type (``_bodies``); ``openapi``, the app's own OpenAPI
    document, adds valid JSON bodies and query strings for the route's
    operations (``_openapi``, with hypothesis-jsonschema installed).  About
    one request in three carries a ``cookie`` header under ``cookie_names``
    (those the app's middleware is configured with; ``COOKIE_NAMES`` when it
    names none), its values tokens or junk: a middleware that fails on a malformed cookie
    answers 500 to any client (starlette-session 0.4.3).
    """
    if not methods:
        raise UsageError("methods=() is empty; pass at least one HTTP method")
    bad = [m for m in methods if not isinstance(m, str) or not m.isupper()]
    if bad:
        raise UsageError(f"methods={list(methods)!r}: methods must be upper-case strings")
    return _scope_and_body(
        st.sampled_from(list(methods)),
        _paths(path),
        typed_bodies(request_bodies(max_size=max_body)),
        extensions,
        tuple(extra_headers),
        openapi_requests_for(openapi, path, tuple(methods)),
        _cookies(tuple(dict.fromkeys(cookie_names)) or COOKIE_NAMES),
    )

