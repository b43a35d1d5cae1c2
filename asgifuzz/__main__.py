from __future__ import annotations

from asgifuzz.cli import main

raise SystemExit(main())
