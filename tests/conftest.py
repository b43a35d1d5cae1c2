from __future__ import annotations

import sys
from pathlib import Path

# Test helpers (apps.py, seedapp.py, ...) import as top-level modules.  Only
# the tests folder goes on sys.path: the checkout root would shadow the
# installed asgifuzz (whose asgifuzz.strategies lives in ./strategies).
TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
