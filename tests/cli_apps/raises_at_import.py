"""Importing this module fails, as an app with missing configuration does."""

from __future__ import annotations

raise RuntimeError("DATABASE_URL is not set")
