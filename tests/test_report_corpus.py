"""``asgifuzz.report.corpus``: saves each finding's case and sets its replay hint."""

from __future__ import annotations

from pathlib import Path

from report_helpers import finding, report

from asgifuzz._corpus import load_case
from asgifuzz.report.corpus import CorpusHandler


def test_saves_each_case_and_hints_its_replay_skipping_supervisor_codes(tmp_path: Path) -> None:
    kept, skipped = finding("app-raised"), finding("event-loop-blocked")
    rep = report([kept, skipped])
    rep.hints[skipped.key] = "asgifuzz run main:app --seed 1"
    handler = CorpusHandler(tmp_path / "corpus", app="main:app", skip=frozenset({"event-loop-blocked"}),
                            hint=lambda path: f"replay {path.name}")  # fmt: skip
    handler.handle(rep)
    [path] = handler.saved
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [path.name]
    loaded = load_case(path)
    assert loaded.app == "main:app" and loaded.expect == "app-raised" and loaded.case == kept.case
    assert rep.hint(kept) == f"replay {path.name}"
    assert rep.hint(skipped) == "asgifuzz run main:app --seed 1"
