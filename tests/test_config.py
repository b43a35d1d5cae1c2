"""``_config``: ``Settings.create`` turns user-facing options into one validated object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asgifuzz import INVARIANTS, UsageError
from asgifuzz._config import BACKENDS, Settings, select_checks


class TestBackends:
    @pytest.mark.parametrize(
        ("backend", "expected"),
        [
            ("asyncio", ("asyncio",)),
            ("trio", ("trio",)),
            ("both", ("asyncio", "trio")),
            (["trio", "asyncio"], ("trio", "asyncio")),
            (("asyncio",), ("asyncio",)),
            (None, ("asyncio",)),  # None keeps the default
        ],
    )
    def test_every_backend_form_becomes_a_tuple(self, backend: Any, expected: tuple[str, ...]) -> None:
        assert Settings.create(backend=backend).backends == expected

    def test_the_field_name_is_accepted_too(self) -> None:
        assert Settings.create(backends=["trio"]).backends == ("trio",)

    @pytest.mark.parametrize("backend", ["curio", ["asyncio", "curio"]])
    def test_an_unknown_backend_names_the_choices(self, backend: Any) -> None:
        with pytest.raises(UsageError, match=r"^backend 'curio' is unknown; choose asyncio, trio or both$"):
            Settings.create(backend=backend)

    def test_default_is_asyncio_only(self) -> None:
        assert Settings().backends == ("asyncio",) and BACKENDS == ("asyncio", "trio")


class TestChecks:
    def test_codes_keep_only_those(self) -> None:
        settings = Settings.create(checks=["app-raised", "app-hang"])
        assert settings.checks == frozenset({"app-raised", "app-hang"})
        assert settings.reports("app-raised") and not settings.reports("task-leak")

    def test_a_leading_dash_excludes_a_code(self) -> None:
        settings = Settings.create(checks=["-app-raised", "-task-leak"])
        assert settings.checks == frozenset(INVARIANTS) - {"app-raised", "task-leak"}
        assert not settings.reports("app-raised") and settings.reports("app-hang")

    def test_includes_and_excludes_combine(self) -> None:
        assert Settings.create(checks=["app-raised", "app-hang", "-app-hang"]).checks == frozenset({"app-raised"})

    def test_a_comma_separated_string_is_the_cli_and_ini_form(self) -> None:
        assert select_checks(" app-raised, ,app-hang ") == frozenset({"app-raised", "app-hang"})
        assert select_checks("-app-raised") == frozenset(INVARIANTS) - {"app-raised"}

    @pytest.mark.parametrize("empty", [None, "", [], " , "])
    def test_no_codes_reports_everything(self, empty: Any) -> None:
        assert select_checks(empty) is None
        assert Settings.create(checks=empty).reports("app-raised")

    def test_an_unknown_code_suggests_the_closest(self) -> None:
        with pytest.raises(
            UsageError, match=r"^unknown invariant 'duplicate-start'; did you mean 'duplicate-response-start'\?$"
        ):
            Settings.create(checks=["duplicate-start"])
        with pytest.raises(UsageError, match=r"^unknown invariant 'xyzzy'; run 'asgifuzz checks' for the list$"):
            Settings.create(checks=["-xyzzy"])


class TestUnknownOptions:
    def test_an_unknown_option_suggests_the_closest_name(self) -> None:
        with pytest.raises(UsageError, match=r"^unknown option\(s\) 'max_example' \(did you mean 'max_examples'\?\)$"):
            Settings.create(max_example=10)

    def test_the_user_spelling_backend_is_suggested(self) -> None:
        with pytest.raises(UsageError, match=r"did you mean 'backend'\?"):
            Settings.create(backen="trio")

    def test_every_unknown_option_is_listed_in_one_line(self) -> None:
        with pytest.raises(UsageError) as info:
            Settings.create(zzz=1, seeed=2)
        assert str(info.value) == "unknown option(s) 'seeed' (did you mean 'seed'?), 'zzz'"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_examples": 0}, "max_examples=0 must be at least 1"),
        ({"max_time": 0}, "max_time=0 must be a positive number of seconds"),
        ({"max_time": -1.5}, "max_time=-1.5 must be a positive number of seconds"),
        ({"workers": 0}, "workers=0 must be at least 1"),
        ({"block_timeout": 0}, "block_timeout=0 must be positive"),
        ({"profile": "nginx"}, "server profile 'nginx' is unknown; choose one of: uvicorn, hypercorn, daphne, strict"),
    ],
)
def test_a_bad_value_is_one_usage_error_naming_it(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        Settings.create(**options)
    assert str(info.value) == message


def test_validate_checks_a_settings_built_directly() -> None:
    with pytest.raises(UsageError, match="max_examples=0"):
        Settings(max_examples=0).validate()
    Settings().validate()


def test_none_means_the_default_except_where_none_is_a_value() -> None:
    settings = Settings.create(max_examples=None, profile=None, seed=None, max_time=None)
    assert settings == Settings()
    assert Settings.create(seed=3).replace(seed=None).seed is None


def test_settings_are_frozen_and_replace_returns_a_new_one() -> None:
    settings = Settings.create(seed=1)
    with pytest.raises(AttributeError):
        settings.seed = 2  # type: ignore[misc]
    changed = settings.replace(max_examples=5)
    assert (changed.max_examples, changed.seed, settings.max_examples) == (5, 1, 1000)


def test_a_database_directory_becomes_an_example_database(tmp_path: Path) -> None:
    from hypothesis.database import DirectoryBasedExampleDatabase

    database = Settings.create(database=str(tmp_path)).example_database()
    assert isinstance(database, DirectoryBasedExampleDatabase) and Path(database.path) == tmp_path
    assert Settings().example_database() is None


def test_a_trio_that_the_installed_anyio_cannot_run_on_is_one_clear_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """anyio 3 (which asgifuzz supports) fails on trio >= 0.25 (no trio.MultiError): every trio case
    raised trio.RunFinishedError from asgifuzz's loop runner instead."""
    import sys

    monkeypatch.setitem(sys.modules, "anyio._backends._trio", None)  # the import fails, as it does there
    with pytest.raises(UsageError, match=r"cannot run on trio .*--backend asyncio"):
        Settings.create(backend="trio")
    Settings.create(backend="asyncio")
