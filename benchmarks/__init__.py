"""Benchmarks: how fast asgifuzz explores, measured against the physical limit.

Run ``python -m benchmarks`` (``--quick`` for a sub-minute smoke run) from the
checkout after the README's install command.  Results go to
``benchmarks/results/`` as Markdown and JSON, and the table is printed.

The checkout root is removed from ``sys.path`` here, before anything imports
asgifuzz: ``python -m`` puts the current directory first, and the source
folder ``./asgifuzz`` would shadow the installed package (whose
``asgifuzz.strategies`` lives in ``./strategies``).  The benchmark modules
themselves still import through this package's ``__path__``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _strip_root() -> None:
    keep = []
    for entry in sys.path:
        try:
            same = Path(entry or os.getcwd()).resolve() == ROOT
        except OSError:
            same = False
        if not same:
            keep.append(entry)
    sys.path[:] = keep


_strip_root()
