"""A WSGI echo app served through asgiref's ``WsgiToAsgi`` (any asgiref release; no Starlette).

asgiref 3.2.1 and earlier hand the WSGI app only the first ``http.request``
message's body (django/asgiref#115, fixed in 3.2.2): the answer depends on
how the body was chunked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from asgiref.wsgi import WsgiToAsgi  # type: ignore[import-not-found,unused-ignore]


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body: bytes = environ["wsgi.input"].read()
    out = b"%d:%s" % (len(body), body.hex().encode())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


app = WsgiToAsgi(echo)  # type: ignore[no-untyped-call,unused-ignore]  # typed only where asgiref is installed (daphne brings it)
