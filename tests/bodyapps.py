"""Apps for issue 12's class 6 (bodies that reach the code), importable in the pinned virtualenvs.

``form_upload`` is the user's own Starlette app as Kludex/starlette#3492
describes it: a route that reads ``await request.form()``.  Up to 1.6.0 a
``multipart/form-data`` request whose body python-multipart cannot parse
(anything that does not open with the boundary: a compressed upload, a
truncated one) let python-multipart's ``MultipartParseError`` escape the app:
uvicorn logs "Exception in ASGI application" and answers 500.  1.7.0 turns
it into a 400.  Random bytes never carry a multipart content type with its
boundary, so only typed bodies reach the parser.

``form_upload_checked`` is the hand-written correct twin: the same route,
answering 400 itself when the form cannot be parsed, whatever the release.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def upload(request: Any) -> Response:
    form = await request.form()
    return JSONResponse({"fields": sorted(form.keys())})


async def upload_checked(request: Any) -> Response:
    try:
        form = await request.form()
    except ValueError:  # python-multipart's FormParserError (a ValueError) and Starlette's own parse errors
        return PlainTextResponse("invalid form", status_code=400)
    return JSONResponse({"fields": sorted(form.keys())})


#: Class 6, Kludex/starlette#3492: an unparsable multipart body escapes as python-multipart's error.
form_upload = Starlette(routes=[Route("/upload", upload, methods=["POST"])])
#: Its correct twin.
form_upload_checked = Starlette(routes=[Route("/upload", upload_checked, methods=["POST"])])
