"""Apps for issue 12's class 5 on a2wsgi's WSGIMiddleware, importable in the pinned virtualenvs.

``echo`` is the user's own WSGI app served through a2wsgi's
``WSGIMiddleware``.  In a2wsgi 1.10.3 the responder's sender task sends the
WSGI app's messages and the request waits on ``send_queue.join()``; when
``send()`` raises because the client has gone (ASGI spec 2.4: uvicorn 0.28's
``ClientDisconnected``, an ``OSError``), the sender dies without marking its
message done and the request never ends (abersheeran/a2wsgi#48, #49:
"the middleware app awaitable is never completing, resources keep piling
up").  1.10.4 awaits the sender instead.  Under uvicorn 0.54, whose send is a
silent no-op once the client has gone, it never shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from a2wsgi import WSGIMiddleware


def echo_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 5))])
    return [b"echo:", body]


#: Class 5, a2wsgi 1.10.3: a send that raises once the client has gone hangs the request.
echo = WSGIMiddleware(echo_wsgi)
