"""Small realistic apps, one per framework, written as each framework's docs show.

They are imported by ``tests/test_routes.py`` (in the running interpreter or
in the pinned ``frameworks`` virtualenv of ``tests/oldreleases.py``) to check
that ``asgifuzz.routes.discover_routes`` finds every route, and fuzzed by
``tests/test_realapps.py`` (issue 10's acceptance), with a few more apps that
wrap them in what users deploy around their apps.
"""
