"""Where Hypothesis may write during a run: nowhere the user did not ask for.

Hypothesis keeps files under its home directory (``.hypothesis/`` in the
working directory) besides the example database: a cache of the constants
in loaded modules (``constants/``), its Unicode table (``unicode_data/``),
...; it writes them on every run, whatever the ``database`` setting.  So a
run without a database (``database=None``, ``--no-database``) points
Hypothesis' home at a temporary directory, removed afterwards, and writes
nothing.  The price: each process computes the Unicode table once more
(about 0.2 s; it is cached in memory for the rest of the process).  With a
database, Hypothesis' home stays where Hypothesis puts it, caches included.
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
    """Hypothesis' home in a temporary directory for the block when there is no ``database``."""
    if database is not None:
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
