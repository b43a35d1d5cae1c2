"""Where Hypothesis may write during a run: nowhere the user did not ask for.

Hypothesis keeps files under its home directory (``.hypothesis/`` in the
working directory) besides the example database: a cache of the constants
in loaded modules (``constants/``), Unicode tables, ...; it writes them on
every run, whatever the ``database`` setting.  So unless the caller handed
us a Hypothesis database object (they live in Hypothesis' world and its
home is theirs), a run points Hypothesis' home at a temporary directory,
removed afterwards: with ``database=None`` (``--no-database``) a run writes
nothing, and with a directory it writes only there.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ("hypothesis_home",)


@contextlib.contextmanager
def hypothesis_home(database: Any) -> Iterator[None]:
    """Hypothesis' home in a temporary directory for the block, unless ``database`` is a Hypothesis database."""
    if database is not None and not isinstance(database, str):
        yield
        return
    from hypothesis import configuration

    # The module global is what set_hypothesis_home_dir sets (None: the
    # default, resolved on first use); there is no public getter.
    previous = getattr(configuration, "__hypothesis_home_directory", None)
    scratch = tempfile.mkdtemp(prefix="asgifuzz-hypothesis-")
    configuration.set_hypothesis_home_dir(scratch)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)
        shutil.rmtree(scratch, ignore_errors=True)
