"""The public surface stays honest and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import asgifuzz


def test_all_is_sorted_and_complete() -> None:
    # isort style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(asgifuzz.__all__) == sorted(asgifuzz.__all__, key=kind)
    assert len(set(asgifuzz.__all__)) == len(asgifuzz.__all__)
    for name in asgifuzz.__all__:
        assert getattr(asgifuzz, name) is not None


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout.split()
    return set(out)


def test_importing_asgifuzz_does_not_import_hypothesis_or_anyio() -> None:
    mods = _modules_after("import asgifuzz")
    assert "hypothesis" not in mods
    assert "anyio" not in mods


def test_invariant_codes_are_kebab_case_and_documented() -> None:
    for code, cls in asgifuzz.INVARIANTS.items():
        assert code == cls.code
        assert code.replace("-", "").isalpha() and code.islower()
        assert cls.title and cls.explanation and cls.source
