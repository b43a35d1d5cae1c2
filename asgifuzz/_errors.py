"""Exceptions raised by asgifuzz.

The tree::

    ASGIFuzzError
    ├── Violation (also AssertionError): the app under test broke an invariant.
    │   └── one subclass per invariant, registered in ``INVARIANTS``
    ├── UsageError (also ValueError): asgifuzz was called or configured wrongly.
    └── CorpusError: a saved case cannot be read.

One class per invariant matters: Hypothesis tells distinct failures apart by
exception type and raise site, so distinct bugs must not share a class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from asgifuzz._finding import Finding

__all__ = (
    "INVARIANTS",
    "ASGIFuzzError",
    "CorpusError",
    "UsageError",
    "Violation",
)

Group = Literal["protocol", "lifecycle", "transparency"]


class ASGIFuzzError(Exception):
    """Base class of every exception asgifuzz raises on purpose."""


class UsageError(ASGIFuzzError, ValueError):
    """asgifuzz was given a bad argument, option, target or file."""


class CorpusError(ASGIFuzzError):
    """A corpus file is unreadable, invalid, or from a future format."""


INVARIANTS: dict[str, type[Violation]] = {}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class Violation(ASGIFuzzError, AssertionError):
    """The app under test broke an ASGI invariant.

    Subclasses set ``title`` (one line), ``explanation`` (a plain paragraph:
    what the rule is and why a real server or client suffers when it breaks),
    ``source`` (where the rule comes from) and ``group``.  ``code`` is the
    kebab-case class name, stable across releases: it is what corpus files,
    ``--checks`` and JSON output use.
    """

    code: ClassVar[str] = "violation"
    title: ClassVar[str] = ""
    explanation: ClassVar[str] = ""
    source: ClassVar[str] = ""
    group: ClassVar[Group] = "protocol"
    finding: Finding | None = None

    def __init_subclass__(cls, *, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            cls.code = _kebab(cls.__name__)
            INVARIANTS[cls.code] = cls

    def __init__(self, message: str, finding: Finding | None = None) -> None:
        super().__init__(message)
        self.finding = finding


# --------------------------------------------------------------- protocol


class InvalidMessage(Violation):
    title = "send() was given something that is not an ASGI message"
    explanation = (
        "Every object passed to send() must be a dict with str keys and a str "
        "'type'. Servers index message['type'] directly, so anything else "
        "crashes the server's send path and the client gets a dropped connection."
    )
    source = "ASGI spec, asgi.rst 'Events' (GEN-MSG-IS-DICT, GEN-MSG-TYPE-STR)"


class UnknownMessageType(Violation):
    title = "the app sent a message type the server does not accept"
    explanation = (
        "An HTTP app may send only 'http.response.start' and "
        "'http.response.body', plus the extension messages the server "
        "advertised in scope['extensions']. uvicorn raises RuntimeError, "
        "hypercorn UnexpectedMessageError, daphne ValueError."
    )
    source = "asgi.rst 'Error Handling' and 'Extensions' (GEN-MSG-TYPE-ALLOWED)"


class BodyBeforeResponseStart(Violation):
    title = "a response message was sent before 'http.response.start'"
    explanation = (
        "The first response message must be 'http.response.start' (only "
        "advertised early hints and debug messages may precede it). Every "
        "server rejects a body, trailers or pathsend that comes first."
    )
    source = "www.rst 'Response Start' (HTTP-START-FIRST)"


class DuplicateResponseStart(Violation):
    title = "'http.response.start' was sent twice"
    explanation = (
        "A response has exactly one start. A second one typically comes from "
        "error-handling middleware that tries to send a 500 after the inner "
        "app already started the response; servers raise and the client sees "
        "a truncated response."
    )
    source = "www.rst 'Response Start' (HTTP-START-ONCE)"


class MessageAfterResponseComplete(Violation):
    title = "a message was sent after the response was complete"
    explanation = (
        "Once the final body (more_body=False), pathsend or final trailers "
        "went out, the response is over. uvicorn raises RuntimeError and "
        "hypercorn UnexpectedMessageError for anything sent later."
    )
    source = "www.rst 'Response Body' (HTTP-NO-SEND-AFTER-COMPLETE)"


class ExtensionMisuse(Violation):
    title = "an extension message was sent out of order"
    explanation = (
        "Extension messages have their own order: early hints and debug "
        "before the start, trailers only after the final body of a response "
        "that declared trailers=True, pathsend exactly once after the start "
        "and instead of any body. Servers reject other orders."
    )
    source = "docs/extensions.rst (HTTP-TRAILERS-SEQUENCE, HTTP-PATHSEND, HTTP-EARLY-HINT, HTTP-DEBUG)"


class InvalidStatus(Violation):
    title = "'http.response.start' has an invalid status"
    explanation = (
        "status must be an int (not bool or str) between 200 and 599: 1xx "
        "interim responses go through the early-hint extension. uvicorn raises "
        "KeyError for unknown codes and h11 refuses 1xx as a final status."
    )
    source = "www.rst 'Response Start', RFC 9110 section 15 (HTTP-START-STATUS-*)"


class InvalidBody(Violation):
    title = "'http.response.body' has a body that is not bytes or a bad more_body"
    explanation = (
        "body must be bytes and more_body a bool. A str or None body raises TypeError inside every server's write path."
    )
    source = "www.rst 'Response Body' (HTTP-BODY-SHAPE)"


class InvalidHeaders(Violation):
    title = "response headers are malformed"
    explanation = (
        "Headers are an iterable of [name, value] pairs of bytes; names are "
        "lower-case RFC 9110 tokens without a ':' prefix, and values carry no "
        "CR, LF, NUL or other control bytes (CR/LF allow response splitting). "
        "Servers raise TypeError, ValueError or h11 LocalProtocolError."
    )
    source = "www.rst 'Response Start', RFC 9110 section 5 (HDR-*)"


class ContentLengthMismatch(Violation):
    title = "the body does not match the declared Content-Length"
    explanation = (
        "When a response declares Content-Length N, the body must be exactly N "
        "bytes (HEAD and 304 responses excepted), and the header must be one "
        "valid number. h11 raises LocalProtocolError, httptools RuntimeError; "
        "daphne sends a corrupt stream. Compression middleware that forgets to "
        "rewrite Content-Length is the classic cause."
    )
    source = "RFC 9112 section 6.3 (HTTP-CONTENT-LENGTH-VALID, HTTP-BODY-MATCHES-CONTENT-LENGTH)"


class BodyForbidden(Violation):
    title = "a 204 or 304 response carries a body"
    explanation = "204 and 304 responses have no body. uvicorn/h11 raises; other servers drop the bytes silently."
    source = "RFC 9110 sections 15.3.5 and 15.4.5 (HTTP-NO-BODY-FOR-204-304)"


# -------------------------------------------------------------- lifecycle


class ResponseIncomplete(Violation):
    group = "lifecycle"
    title = "the app returned without completing the response"
    explanation = (
        "When the app returns normally it must have sent the start and the "
        "final body, unless the client had disconnected. uvicorn logs 'ASGI "
        "callable returned without completing response' and sends a 500 or "
        "drops the connection; daphne leaves the client waiting."
    )
    source = "www.rst 'Response Start' (HTTP-RESPONSE-COMPLETE-ON-RETURN)"


class ExceptionOnDisconnect(Violation):
    group = "lifecycle"
    title = "an exception escaped the app because the client disconnected"
    explanation = (
        "A client that goes away (refresh, abort, timeout) is routine. The app "
        "should stop quietly; instead an exception reached the server, which "
        "logs 'Exception in ASGI application' for a request nobody is waiting "
        "for. Starlette's BaseHTTPMiddleware 'RuntimeError: No response "
        "returned.' (0.28.0 to 0.38.2) is this bug."
    )
    source = "asgi.rst 'Error Handling'; encode/starlette#2516 (GEN-APP-RAISED)"


class AppRaised(Violation):
    group = "lifecycle"
    title = "an exception escaped the app"
    explanation = (
        "An exception reached the server while the client was still there. "
        "The server answers 500 (or drops a started response) and logs the "
        "error. Exceptions planted on purpose by asgifuzz's own adversarial "
        "endpoints are not reported here (the transparency checks compare them)."
    )
    source = "asgi.rst 'Error Handling' (GEN-APP-RAISED)"


class AppHang(Violation):
    group = "lifecycle"
    title = "the app did not finish"
    explanation = (
        "After the response completed or the client disconnected, the app kept "
        "running past the deadline (in virtual time), or blocked with nothing "
        "left that could wake it, or spun without ever blocking. A real server "
        "keeps the task, its memory and its connection slot forever."
    )
    source = "asgi.rst connection lifetime (GEN-TERMINATES)"


class EventLoopBlocked(Violation):
    group = "lifecycle"
    title = "the app blocked the event loop"
    explanation = (
        "The app ran Python code (or a blocking call such as time.sleep) for "
        "seconds without ever awaiting, so the event loop could not run: under "
        "a real server every other request on that worker stalls, timeouts do "
        "not fire and disconnects go unnoticed. asgifuzz saw no progress in "
        "its worker process and reports the frame the loop was stuck in."
    )
    source = "asyncio 'Developing with asyncio': blocking code; asgifuzz worker watchdog"


class ProcessExited(Violation):
    group = "lifecycle"
    title = "the app ended the server process"
    explanation = (
        "Handling a request terminated the whole process (os._exit, a fatal "
        "signal, or a crash in a C extension). Under a real server this kills "
        "every connection of the worker, not just this request."
    )
    source = "asgi.rst 'Error Handling' (an app must not take the server down); asgifuzz worker supervisor"


class ReceiveAfterDisconnect(Violation):
    group = "lifecycle"
    title = "receive() was called again after 'http.disconnect'"
    explanation = (
        "hypercorn and daphne deliver one 'http.disconnect' and then block "
        "receive() forever, so an app that asks again hangs there (uvicorn "
        "repeats the disconnect, which hides the bug)."
    )
    source = "asgi-invariants HTTP-NO-RECEIVE-AFTER-DISCONNECT (hypercorn, daphne behaviour)"


class TaskLeak(Violation):
    group = "lifecycle"
    title = "a task the app started was still running after it returned"
    explanation = (
        "Work started with create_task or a system nursery outlives the "
        "request: nothing awaits it, its errors are lost and it can touch the "
        "connection after the server reused or closed it."
    )
    source = "asgi.rst 'Applications' (GEN-NO-CALLS-AFTER-RETURN)"


class CallAfterReturn(Violation):
    group = "lifecycle"
    title = "receive() or send() was called after the app returned"
    explanation = (
        "The connection's callables are only valid during the app call. "
        "uvicorn raises RuntimeError for late sends; hypercorn's stream is "
        "already closed."
    )
    source = "asgi.rst 'Applications' (GEN-NO-CALLS-AFTER-RETURN)"


class ReturnedNonNone(Violation):
    group = "lifecycle"
    title = "the app returned a value other than None"
    explanation = "uvicorn logs an error and closes the connection when the app's coroutine returns anything but None."
    source = "uvicorn run_asgi (GEN-APP-RETURNS-NONE)"


# ----------------------------------------------------------- transparency


class RequestBodyAltered(Violation):
    group = "transparency"
    title = "the endpoint saw a different request body behind the middleware stack"
    explanation = (
        "The same client sent the same bytes, but the endpoint behind the "
        "stack received different bytes, or a different end of body, than the "
        "same endpoint with no middleware. A middleware lost, duplicated or "
        "reordered request data."
    )
    source = "www.rst 'Request' (MW-REQUEST-BODY-INTEGRITY)"


class DisconnectHidden(Violation):
    group = "transparency"
    title = "the endpoint never learned that the client disconnected"
    explanation = (
        "Without middleware the endpoint saw the client leave; behind the "
        "stack it did not, so it keeps working (streaming, polling, computing) "
        "for nobody."
    )
    source = "www.rst 'Disconnect' (MW-DISCONNECT-VISIBLE)"


class BackgroundTaskLost(Violation):
    group = "transparency"
    title = "a background task did not run to completion behind the stack"
    explanation = (
        "Without middleware the response's background task ran to completion; "
        "behind the stack it was never started or was cancelled."
    )
    source = "Starlette BackgroundTask contract (run after the response is sent)"


class BackgroundTaskBeforeResponse(Violation):
    group = "transparency"
    title = "a background task ran before the client had the response"
    explanation = (
        "Without middleware the client received the complete response before "
        "the background task started; behind the stack the task started first, "
        "so the client waits for background work (Starlette issue #919 class)."
    )
    source = "Starlette BackgroundTask contract (run after the response is sent)"


class ExceptionSwallowed(Violation):
    group = "transparency"
    title = "an endpoint's exception did not reach the server behind the stack"
    explanation = (
        "Without middleware the endpoint's exception propagated to the server "
        "(which logs it); behind the stack it vanished, so failures go unseen."
    )
    source = "asgi.rst 'Error Handling'"


class StreamBuffered(Violation):
    group = "transparency"
    title = "streamed events were held back behind the stack"
    explanation = (
        "For a text/event-stream response, each event reached the client "
        "before the next was produced without middleware; behind the stack an "
        "event was still held back when the next one was produced (compared "
        "after decoding Content-Encoding)."
    )
    source = "www.rst 'Response Body' (streaming), MW-RESPONSE-INTEGRITY"


class ResponseLostBehindStack(Violation):
    group = "transparency"
    title = "the response completed without middleware but not behind the stack"
    explanation = (
        "The same interaction gave the client a complete response from the "
        "bare endpoint, and an incomplete or missing one through the stack."
    )
    source = "www.rst 'Response Body'"
