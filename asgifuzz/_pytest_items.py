"""One pytest item per target of a marked test, and the findings grouped across those items.

``@pytest.mark.asgifuzz(app="main:app")`` on one test function becomes one
test item per target of the app -- each route, and the app's middleware
stack in front of each adversarial endpoint -- named after it
(``test_app[GET-/items/{id}]``, ``test_app[stack-polls_disconnect]``), and
one item for the lifespan protocol of the app's middleware
(``test_app[lifespan]``, all the lifespan endpoints), so
``pytest -k items`` fuzzes the routes under /items only and a failure names
the route.  An app with a single target (a plain ASGI callable, besides
its lifespan) keeps its single item, named as before.  The marker's budget is the app's: its items share it (at least
``MIN_EXAMPLES`` each), so a whole run costs what it did as one test.

A bug in a middleware shows behind every endpoint: the first item it fails
carries the full report, later ones a line pointing at it, and the terminal
summary lists each root cause once with every test it failed
(``Finding.root_cause``, as ``group_findings`` groups a run's findings).

Imported by the plugin only when a marked test is collected or run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asgifuzz._config import Settings
    from asgifuzz._finding import Finding

__all__ = (
    "MIN_EXAMPLES",
    "PARAM",
    "Grouped",
    "ItemTarget",
    "item_id",
    "item_target",
    "parametrize",
    "repeated_text",
    "share_budget",
    "target_ids",
)

#: The name the targets are parametrized under (also a fixture: a test may ask which target it is).
PARAM = "asgifuzz_target"
#: The smallest budget one target's item gets when the app's budget is shared.
MIN_EXAMPLES = 20

_UNSAFE = re.compile(r"[\s]+")


def item_id(target: str) -> str:
    """The pytest id of a target: ``route GET /items`` -> ``GET-/items``, a stack -> ``stack-<endpoint>``.

    No spaces, so the id is one word of a ``-k`` expression.
    """
    if target.startswith("route "):
        text = target.removeprefix("route ")
    elif target.startswith("stack") and " -> " in target:
        text = "stack-" + target.rsplit(" -> ", 1)[1]
    else:
        text = target.replace(" -> ", "-")
    return _UNSAFE.sub("-", text.strip()) or "app"


def _unique(ids: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        n = seen.get(i, 0)
        seen[i] = n + 1
        out.append(i if n == 0 else f"{i}-{n + 1}")
    return out


Loader = Callable[[], "tuple[Any, Any, Any, Settings]"]


def target_ids(load: Loader) -> list[tuple[tuple[str, ...], str]]:
    """(target ids, pytest id) of each item the marker's app gets; empty when it has one target or cannot be read.

    Each HTTP or websocket target is an item; the lifespan targets (the
    user's middleware in front of each lifespan endpoint) share one,
    ``lifespan``: few states, and one budget share is plenty for them.

    ``load`` returns what the test would fuzz: the app, the middleware list,
    the endpoints and the ``Settings`` (its ``paths`` and ``routes`` shape
    the targets as ``fuzz`` does).  Anything that goes wrong here (an app
    that does not import) is left to the test, which fails with its one line.
    """
    from asgifuzz._targets import discover_targets, select_targets

    try:
        app, middleware, endpoints, settings = load()
        if app is None and middleware is None:
            return []
        found = discover_targets(
            app, middleware=middleware, endpoints=endpoints, paths=settings.paths or None, notes=[],
            lifespan=settings.lifespan != "off",
        )  # fmt: skip
        targets = select_targets(found, settings.routes)
    except (Exception, pytest.fail.Exception):  # left to the test: it reports the error itself
        return []
    ids = [t.id for t in targets if t.protocol != "lifespan"]
    if len(ids) <= 1:
        return []  # a plain ASGI app (one target, and its lifespan): one item, as before
    items: list[tuple[tuple[str, ...], str]] = list(
        zip([(i,) for i in ids], _unique([item_id(i) for i in ids]), strict=True)
    )
    lifespan = tuple(t.id for t in targets if t.protocol == "lifespan")
    if lifespan:
        items.append((lifespan, "lifespan"))
    return items


def share_budget(max_examples: int, max_time: float | None, share: int) -> tuple[int, float | None]:
    """One item's part of the app's budget (examples and seconds) when ``share`` items split it."""
    if share <= 1:
        return max_examples, max_time
    examples = max(MIN_EXAMPLES, math.ceil(max_examples / share))
    seconds = None if max_time is None else max(1.0, max_time / share)
    return examples, seconds


@dataclass(frozen=True, slots=True)
class ItemTarget:
    """The parameter of one item: its target ids (one, or the lifespan targets) and how many items share the budget."""

    ids: tuple[str, ...]
    share: int

    @property
    def id(self) -> str:
        """The target's id (the first, for the lifespan item)."""
        return self.ids[0]

    def __str__(self) -> str:
        return self.id


def parametrize(metafunc: pytest.Metafunc, load: Loader) -> None:
    """Parametrize a marked test by its app's targets (nothing when the app has one target)."""
    pairs = target_ids(load)
    if not pairs:
        return
    if PARAM not in metafunc.fixturenames:
        # The test need not name the parameter: pytest passes a test only the arguments it names.
        metafunc.fixturenames.append(PARAM)
    values = [ItemTarget(targets, len(pairs)) for targets, _ in pairs]
    metafunc.parametrize(PARAM, values, ids=[i for _, i in pairs])


def item_target(item: pytest.Item) -> ItemTarget | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get(PARAM) if callspec is not None else None
    return value if isinstance(value, ItemTarget) else None


@dataclass
class Grouped:
    """The root causes seen in this session, each with the tests it failed (one per pytest process)."""

    #: root cause -> (the first test's node id, its finding's one line), in order of discovery.
    first: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    #: root cause -> the node ids of every test it failed.
    tests: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)

    def add(self, nodeid: str, findings: list[Finding]) -> list[tuple[Finding, str]]:
        """Record ``nodeid``'s failing findings; each one already reported by another test, with that test."""
        seen: list[tuple[Finding, str]] = []
        for finding in findings:
            cause = finding.root_cause
            first = self.first.get(cause)
            tests = self.tests.setdefault(cause, [])
            if nodeid not in tests:
                tests.append(nodeid)
            if first is None:
                self.first[cause] = (nodeid, _line(finding))
            elif first[0] != nodeid:
                seen.append((finding, first[0]))
        return seen

    def summary(self) -> list[str]:
        """One entry per root cause that failed more than one test."""
        out = []
        for cause, (nodeid, line) in self.first.items():
            tests = self.tests.get(cause, [])
            if len(tests) > 1:
                out.append(f"{line}\n    failed {len(tests)} tests, reported in full by {nodeid}:")
                out += [f"      {t}" for t in tests]
        return out


def _line(finding: Finding) -> str:
    where = f" at {finding.where}" if finding.where else ""
    return f"{finding.code} ({finding.severity}){where}: {finding.message.strip().splitlines()[0] if finding.message.strip() else ''}"


def repeated_text(repeats: list[tuple[Finding, str]]) -> str:
    """The failure of a test whose every finding another test already reported in full."""
    lines = ["asgifuzz: the same root cause(s) as other tests of this app, reported in full there:"]
    lines += [f"  {_line(f)}  (see {nodeid})" for f, nodeid in repeats]
    return "\n".join(lines)
