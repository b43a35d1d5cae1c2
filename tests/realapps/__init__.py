"""Small realistic apps, one per framework, written as each framework's docs show.

They are imported by ``tests/test_routes.py`` (in the running interpreter or
in the pinned ``frameworks`` virtualenv of ``tests/frameworks.py``) to check
that ``asgifuzz.routes.discover_routes`` finds every route.
"""
