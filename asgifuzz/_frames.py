"""Frames, sites and exception chains: one definition for the whole engine.

"An asgifuzz frame" means a frame of the engine itself (the fake server, the
search, the supervisor); asgifuzz's adversarial endpoints and its demo app are
*app* code, so findings may point at them.  Every place that skips engine
frames (finding locations, traceback trimming, the watchdog's stack dump)
asks ``engine_file``.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import sysconfig
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = (
    "caller_site",
    "chain",
    "coro_site",
    "current_frames",
    "engine_file",
    "exception_site",
    "exception_text",
    "frame_site",
    "leaves",
    "library_file",
    "raise_site",
    "short_path",
    "stack_text",
    "trimmed_traceback",
    "user_file",
)

_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_APP_FILES = ("endpoints.py", "demo.py")
#: Event-loop libraries: "waiting in Event.wait" says less than the line that awaited it.
_RUNTIME_DIRS = tuple(f"{os.sep}{name}{os.sep}" for name in ("asyncio", "trio", "anyio", "sniffio"))


_LIBRARY_DIRS = tuple(
    {os.path.realpath(p) + os.sep for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])}
)



def current_frames() -> dict[int, FrameType]:
    """``sys._current_frames()`` with the garbage collector held off.

    CPython (3.11 at least) builds the dict while holding the interpreter's
    thread-list lock; an allocation there can start a collection whose
    finalizers take a lock another thread holds while it waits for that
    thread-list lock.  The whole process then deadlocks (seen in CI: the clock
    polling the app's threads froze a run for good).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sys._current_frames()
    finally:
        if enabled:
            gc.enable()

def library_file(filename: str) -> bool:
    """A file of the standard library or of an installed package (a framework, not the user's code)."""
    return (
        "site-packages" + os.sep in filename
        or "dist-packages" + os.sep in filename
        or filename.startswith("<")
        or _in_library_dirs(filename)
    )


@functools.lru_cache(maxsize=4096)
def _in_library_dirs(filename: str) -> bool:
    # realpath stats every component: cached, as it runs for frames in every example (the profile's lstat).
    return os.path.realpath(filename).startswith(_LIBRARY_DIRS)


#: Frameworks and runtimes below an endpoint: never the middleware a finding is about.
_FRAMEWORK_DIRS = tuple(f"{os.sep}{name}{os.sep}" for name in ("starlette", "fastapi", "anyio", "asyncio", "trio", "sniffio"))


def _framework_file(filename: str) -> bool:
    return engine_file(filename) or any(d in filename for d in _FRAMEWORK_DIRS) or _stdlib_file(filename)


def _stdlib_file(filename: str) -> bool:
    """The standard library (not an installed package, though a virtualenv keeps those below it)."""
    if "site-packages" + os.sep in filename or "dist-packages" + os.sep in filename:
        return False
    return filename.startswith("<") or _in_library_dirs(filename)


def user_file(filename: str) -> bool:
    """The user's own code: neither asgifuzz's engine nor a library (asgifuzz's endpoints and demo count)."""
    return not engine_file(filename) and not library_file(filename)


def engine_file(filename: str) -> bool:
    """A file of asgifuzz's engine; its endpoints and demo are app code."""
    return filename.startswith(_OWN_DIR) and not filename.endswith(_APP_FILES)


def short_path(filename: str) -> str:
    """A path as users read it: relative to site-packages, or ``asgifuzz/...``."""
    for marker in ("site-packages" + os.sep, "dist-packages" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(_OWN_DIR):  # asgifuzz's endpoints and demo, even from an editable install
        return "asgifuzz/" + filename[len(_OWN_DIR) :]
    return filename


def frame_site(frame: FrameType) -> str:
    return f"{short_path(frame.f_code.co_filename)}:{frame.f_lineno}"


def _forwards(frame: Any, message: object) -> bool:
    """The frame is a ``send`` wrapper that got ``message`` as an argument and passes it on."""
    code = frame.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return any(frame.f_locals.get(name) is message for name in names)


def _outside_engine(frame: Any) -> Any:
    while frame is not None and engine_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def caller_site(message: object = None, *, depth: int = 2) -> str:
    """'file:line' of the first frame outside asgifuzz that called into us.

    With ``message``, pass-through ``send`` wrappers (Starlette's
    ``ServerErrorMiddleware._send`` and the like) are skipped, so the site is
    the code that produced the message, not the outermost wrapper.
    """
    frame = _outside_engine(sys._getframe(depth))
    if message is not None:
        while frame is not None and frame.f_back is not None and _forwards(frame, message):
            outer = _outside_engine(frame.f_back)
            if outer is None:
                break
            frame = outer
    # The first frame of the user's own code, walking outwards: the line to
    # fix is in the user's middleware, not in the framework it called.
    mine = frame
    while mine is not None and not user_file(mine.f_code.co_filename):
        mine = mine.f_back
    frame = mine if mine is not None else frame
    return "" if frame is None else frame_site(frame)


def coro_site(coro: Any) -> str:
    """'file:line in function' of the innermost app frame a suspended coroutine chain waits in."""
    site = ""
    seen = 0
    while coro is not None and seen < 200:
        seen += 1
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        filename = frame.f_code.co_filename if frame is not None else ""
        if frame is not None and not engine_file(filename) and not any(d in filename for d in _RUNTIME_DIRS):
            site = f"{short_path(filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return site


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes and contexts, each once."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside ``exc`` (itself when it is not a group)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaves(sub)]
    return [exc]


def exception_text(exc: BaseException) -> str:
    """``Type: message``, or just ``Type`` for a bare ``assert`` and the like."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def exception_site(exc: BaseException) -> str:
    """'file:line' of the innermost frame of the user's code that ``exc`` passed through.

    The line to fix is in the user's middleware or endpoint, not in the
    framework or the standard library where the exception was raised; when
    no frame of the user's code is on the traceback, the innermost frame
    outside the standard library.
    """
    tb = exc.__traceback__
    if tb is None:
        return ""
    innermost = mine = None
    while tb is not None:
        innermost = tb
        if user_file(tb.tb_frame.f_code.co_filename):
            mine = tb
        tb = tb.tb_next
    if mine is not None and mine.tb_frame.f_code.co_filename.endswith(_APP_FILES):
        # asgifuzz's own endpoint behind the user's middleware: what raised below it is the
        # middleware's code (msgpack-asgi's receive wrapper), even when installed as a package.
        below = mine.tb_next
        while below is not None:
            if not _framework_file(below.tb_frame.f_code.co_filename):
                mine = below
            below = below.tb_next
    if mine is None:
        # No frame of the user's: the innermost frame outside the standard library, so that one
        # cause is one site (strawberry's parse_json, not the codec of each encoding it was fed).
        tb = exc.__traceback__
        while tb is not None:
            if not _stdlib_file(tb.tb_frame.f_code.co_filename):
                mine = tb
            tb = tb.tb_next
    chosen = mine or innermost
    assert chosen is not None
    return f"{short_path(chosen.tb_frame.f_code.co_filename)}:{chosen.tb_lineno}"


def raise_site(exc: BaseException) -> str:
    """'file:line' where ``exc`` was raised (the innermost frame, library or not)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{short_path(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def trimmed_traceback(exc: BaseException) -> str:
    """The app's traceback, starting at the app (no fake-server frames)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and engine_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    # anyio/Starlette re-raise a group's only exception from inside the
    # group ("collapse_excgroups"): the group adds nothing but noise.
    context = exc.__context__
    with_chain = not (isinstance(context, BaseExceptionGroup) and exc in context.exceptions)
    return "".join(traceback.format_exception(type(exc), exc, tb, chain=with_chain)).rstrip()


def stack_text(frame: FrameType, title: str) -> str:
    """The stack of ``frame`` from the app's entry (engine frames and below left out)."""
    summary = traceback.extract_stack(frame)
    cut = 0
    for i, entry in enumerate(summary):
        if engine_file(entry.filename):
            cut = i + 1
    frames = summary[cut:] or summary
    return title + "\n" + "".join(traceback.format_list(frames)).rstrip()
