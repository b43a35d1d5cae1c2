"""The chunking comparison (a metamorphic oracle): pure, on two responses as the client saw them.

The same request must get the same response whatever pieces its body came
in, and however long the client took between them.  Compared: the status,
the body after decoding its Content-Encoding, and the headers, except those
that carry a date, a duration or an id, and any header that differed between
two identical one-chunk runs (``varying_headers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asgifuzz.checks.http import content_decoder

if TYPE_CHECKING:
    from asgifuzz.server.http import ClientView

__all__ = ("IGNORED_HEADERS", "differences", "varying_headers")

#: Headers that legitimately change from one run to the next (dates, durations, ids, cookies).
IGNORED_HEADERS: frozenset[bytes] = frozenset(
    {
        b"date",
        b"expires",
        b"last-modified",
        b"age",
        b"etag",
        b"set-cookie",
        b"server-timing",
        b"x-process-time",
        b"x-response-time",
        b"x-runtime",
        b"x-request-id",
        b"request-id",
        b"x-correlation-id",
        b"x-trace-id",
        b"traceparent",
        b"tracestate",
        b"x-amzn-trace-id",
        b"content-length",  # follows the body, which is compared decoded
    }
)


def _decoded(view: ClientView) -> bytes:
    body = view.body
    # Every coding checks.http can decode (br and zstd when their libraries are installed).
    decoder = content_decoder(view.header(b"content-encoding"))
    if not decoder:  # not encoded, or not decodable here
        return body
    try:
        return decoder.decompress(body)
    except Exception:  # a broken or unknown stream: compare the bytes as sent
        return body


def _headers(view: ClientView, ignored: frozenset[bytes] | set[bytes]) -> list[tuple[bytes, bytes]]:
    return sorted((n.lower(), v) for n, v in view.headers if n.lower() not in ignored)


def _values(view: ClientView) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for name, value in view.headers:
        out.setdefault(name.lower(), []).append(value)
    return {name: sorted(values) for name, values in out.items()}


def varying_headers(a: ClientView, b: ClientView) -> set[bytes]:
    """Header names whose values differ between two runs of the same request."""
    va, vb = _values(a), _values(b)
    return {name for name in va.keys() | vb.keys() if va.get(name) != vb.get(name)}


def _short(data: bytes) -> str:
    return repr(data if len(data) <= 60 else data[:60] + b"...")


def differences(example: ClientView, reference: ClientView, ignored: frozenset[bytes] | set[bytes] = IGNORED_HEADERS) -> list[str]:
    """What the client saw differently in ``example`` than in ``reference``, in words (empty: the same)."""
    out: list[str] = []
    if example.status != reference.status:
        out.append(f"status {example.status} instead of {reference.status}")
    body, ref_body = _decoded(example), _decoded(reference)
    if body != ref_body:
        out.append(f"body {_short(body)} ({len(body)} byte(s)) instead of {_short(ref_body)} ({len(ref_body)} byte(s))")
    mine, theirs = _headers(example, ignored), _headers(reference, ignored)
    if mine != theirs:
        extra = [f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in mine if (n, v) not in theirs]
        missing = [f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in theirs if (n, v) not in mine]
        out.append("headers differ (" + "; ".join([*(f"+{h}" for h in extra), *(f"-{h}" for h in missing)]) + ")")
    return out
