"""Which target, and which HTTP method of it, the search fuzzes next.

Drawing the target inside each Hypothesis example (``sampled_from``) left
routes with no example in 1000 on apps of ~40 targets: Hypothesis' choices
are not uniform (its novelty search, mutations of earlier examples, and the
shrinking of a finding all pile examples on a few targets).  The search
instead deals *units* -- a target, and for HTTP targets one of its methods --
itself: least-covered first, one Hypothesis run ("slice") per deal, so
shrinking and the example database stay on the unit (it is fixed for the
run, not drawn) and a seed reproduces the whole run.

Lifespan units share about one example in ``LIFESPAN_SHARE`` between them
when the run has others: the lifespan protocol has few states and must not
take half the budget of a one-route app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ("FIRST_ROTATION", "LIFESPAN_SHARE", "MAX_SLICE", "Dealer")

#: One example in this many goes to the lifespan units when the run has others.
LIFESPAN_SHARE = 10
#: Examples per slice at most.  Hypothesis keeps per-run state (its tree of
#: explored choices) until the run ends: capping runs at 500 keeps RSS growth
#: over a 5-minute run near +15% (it was +36% at 2000) at no cost in examples/s.
MAX_SLICE = 500
#: The first slice of every unit together take about this many examples (at
#: most 100 each): a short time budget still reaches every unit once.  At 1000,
#: a bug on the 12th of 18 units waited ~640 examples for its unit's turn; at
#: 250, ~275 (the pathsend bug).  A bug that a unit shows only once in many
#: examples gains nothing (GZip dropping pathsend: median 671 -> 881 examples,
#: found 9/10 -> 8/10 seeds within 1000, noise at 10 seeds).
FIRST_ROTATION = 250


@dataclass(slots=True)
class _Unit:
    key: str
    weight: float
    examples: int = 0
    slices: int = 0
    exhausted: bool = False


class Dealer:
    """Deals the next unit and the size of its slice; counts examples per unit.

    ``units`` are (key, is_lifespan) pairs in the run's order.  Deals go in
    rotations: each live unit gets one slice per rotation, the least-covered
    (examples over weight) first; ties go to the unit that comes first (the
    app's own routes come before asgifuzz's planted endpoints).
    A slice is the unit's weighted share of the budget left to the units not
    yet dealt in the rotation (half of it in the first rotation, so that the
    examples spent shrinking a finding come out of every unit's later
    slices), at most ``MAX_SLICE``; with a time budget the first
    rotation takes about ``FIRST_ROTATION`` examples and slices double in
    each rotation after.  Deterministic: the same examples counted give the
    same deals.
    """

    def __init__(self, units: Sequence[tuple[str, bool]], max_examples: int) -> None:
        lifespan = sum(1 for _, is_lifespan in units if is_lifespan)
        others = len(units) - lifespan
        # Lifespan weights such that all lifespan units together get 1/LIFESPAN_SHARE of the examples.
        lw = others / (lifespan * (LIFESPAN_SHARE - 1)) if lifespan and others else 1.0
        self.units = [_Unit(key, lw if is_lifespan else 1.0) for key, is_lifespan in units]
        self.index = {u.key: i for i, u in enumerate(self.units)}
        self.total_weight = sum(u.weight for u in self.units)
        self.max_examples = max_examples
        self.examples = 0

    def count(self, key: str, examples: int = 1) -> None:
        """``examples`` more were run on unit ``key`` (generated, shrunk or replayed)."""
        self.examples += examples
        i = self.index.get(key)
        if i is not None:
            self.units[i].examples += examples

    def exhaust(self, i: int) -> None:
        """Unit ``i`` gave no new example in a whole slice: deal it no more."""
        self.units[i].exhausted = True

    def all_dealt(self) -> bool:
        """Every live unit had a slice: until then the search goes on past its budget (one example each)."""
        return all(u.slices or u.exhausted for u in self.units)

    def deal(self) -> tuple[int, int] | None:
        """The next unit (its index) and how many examples to generate on it; None when all are exhausted."""
        n = len(self.units)
        live = [i for i in range(n) if not self.units[i].exhausted]
        if not live:
            return None
        rotation = min(self.units[i].slices for i in live)
        pending = [i for i in live if self.units[i].slices == rotation]
        i = min(pending, key=lambda i: (self.units[i].examples / self.units[i].weight, i))
        unit = self.units[i]
        size = max(1, min(100, math.ceil(FIRST_ROTATION * unit.weight / self.total_weight))) << min(rotation, 16)
        left = self.max_examples - self.examples
        fair = left * unit.weight / sum(self.units[j].weight for j in pending)
        # The first rotation takes half the fair share at most: what shrinking spends in it comes out of
        # every unit's second slice, not out of the units dealt last.
        fair = math.ceil(fair / 2 if rotation == 0 else fair)
        unit.slices += 1
        return i, max(1, min(size, MAX_SLICE, fair))
