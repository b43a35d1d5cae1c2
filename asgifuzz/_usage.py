"""Checks on how asgifuzz is used, said in one line: an app that cannot run on the backend asked
for, and the hint to keep asgifuzz's own files out of git."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from asgifuzz._errors import UsageError

if TYPE_CHECKING:
    from asgifuzz._finding import Finding

__all__ = ("check_backend_mismatch", "gitignore_hint")

#: What an asyncio-only API says when it runs on trio (asyncio's, sniffio's, trio's own words).
_ASYNCIO_ONLY = (
    "no running event loop",
    "There is no current event loop",
    "AsyncLibraryNotFoundError",
    "trio doesn't know how to handle",
    "asyncio.exceptions",
    "got Future <",
)


def check_backend_mismatch(findings: Sequence[Finding], backends: Sequence[str]) -> None:
    """One line instead of findings when the app calls asyncio-only APIs and runs on trio.

    Such an app is not broken: it just cannot run on trio, and every finding
    on the trio backend is that same mismatch (``--backend asyncio`` is the fix).
    """
    if "trio" not in backends:
        return
    for finding in findings:
        if finding.case is None or finding.case.backend != "trio":
            continue
        text = f"{finding.message}\n{finding.exception_text()}"
        if any(marker in text for marker in _ASYNCIO_ONLY):
            lines = finding.exception_text().strip().splitlines()
            cause = lines[-1] if lines else finding.message
            at = f" at {finding.where}" if finding.where else ""
            raise UsageError(
                f"the app uses asyncio-only APIs, so it cannot run on trio ({cause}{at}); "
                "fuzz it with --backend asyncio"
            )


def gitignore_hint(was_new: bool, database: str | None) -> str | None:
    """Once (the run that created the example database under ./.asgifuzz in a git work tree whose
    .gitignore does not mention it): the line suggesting to ignore ``.asgifuzz/``."""
    if not was_new or database is None or not Path(database).exists():
        return None
    here = Path.cwd().resolve()
    try:
        inside = Path(database).resolve().relative_to(here).parts[:1] == (".asgifuzz",)
    except ValueError:
        inside = False
    repo = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    if not inside or repo is None:
        return None
    ignore = repo / ".gitignore"
    with contextlib.suppress(OSError):
        if ".asgifuzz" in ignore.read_text(encoding="utf-8", errors="replace"):
            return None
    return "hint: asgifuzz keeps its example database in .asgifuzz/; add '.asgifuzz/' to your .gitignore"
