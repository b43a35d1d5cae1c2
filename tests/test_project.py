"""``[tool.asgifuzz]`` in pyproject.toml (``asgifuzz._project``): found, validated, layered under the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import APPS, asgifuzz

from asgifuzz import UsageError
from asgifuzz._project import find_root, load_project


def _pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(f'[project]\nname = "svc"\n\n[tool.asgifuzz]\n{body}\n')
    return path


class TestLoad:
    def test_found_from_a_subdirectory_with_paths_relative_to_the_file(self, tmp_path: Path) -> None:
        _pyproject(tmp_path, 'app = "main:app"\napp-dir = "src"\ncorpus = "tests/corpus"\nmax-examples = 50\n'
                   'checks = ["-app-raised", "-task-leak"]\nfactory = true\nroutes = "/items/*"')  # fmt: skip
        (tmp_path / "src" / "deep").mkdir(parents=True)
        project = load_project(tmp_path / "src" / "deep")
        assert project.path == tmp_path.resolve() / "pyproject.toml"
        assert project.root == tmp_path.resolve()
        assert project.get("app") == "main:app" and project.get("factory") is True
        assert project.get("app-dir") == str(tmp_path.resolve() / "src")
        assert project.get("corpus") == str(tmp_path.resolve() / "tests" / "corpus")
        assert project.get("max-examples") == 50
        assert project.get("checks") == "-app-raised,-task-leak"  # the CLI's form
        assert project.get("routes") == ("/items/*",)

    def test_a_nearer_pyproject_without_the_table_is_skipped(self, tmp_path: Path) -> None:
        _pyproject(tmp_path, 'app = "main:app"')
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "pyproject.toml").write_text('[project]\nname = "sub"\n')
        assert load_project(tmp_path / "sub").get("app") == "main:app"
        assert find_root(tmp_path / "sub") == tmp_path.resolve()

    def test_no_table_is_an_empty_config(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
        project = load_project(tmp_path)
        assert project.path is None and project.values == {}
        assert find_root(tmp_path) == tmp_path.resolve()  # the nearest pyproject.toml is the root

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("max-exmaples = 5", r"unknown key 'max-exmaples'; did you mean 'max-examples'\?$"),
            ("max_examples = 5", r"unknown key 'max_examples'; did you mean 'max-examples'\?$"),
            ('max-examples = "5"', r"\[tool.asgifuzz\] max-examples = '5': expected a positive integer$"),
            ("max-time = 0", r"max-time = 0: expected a positive number$"),
            ('backend = "curio"', r"backend = 'curio': expected 'asyncio' or 'trio' or 'both'$"),
            ("factory = 1", r"factory = 1: expected true or false$"),
            ("checks = [1]", r"checks = \[1\]: expected a list of invariant codes"),
            ("app = ", r"invalid TOML"),
        ],
    )
    def test_a_bad_key_or_value_is_one_line_naming_the_file(self, tmp_path: Path, body: str, message: str) -> None:
        _pyproject(tmp_path, body)
        with pytest.raises(UsageError, match=message) as info:
            load_project(tmp_path)
        assert str(info.value).startswith(str(tmp_path.resolve() / "pyproject.toml"))
        assert "\n" not in str(info.value)


class TestCommandLine:
    """The CLI reads the table of the working directory's project; its options override it."""

    def test_the_app_and_options_come_from_pyproject_and_the_command_line_wins(self, tmp_path: Path) -> None:
        _pyproject(tmp_path, f'app = "cliapps:double_start"\napp-dir = "{APPS}"\nmax-examples = 30\nseed = 1\n'
                   'checks = ["-duplicate-response-start"]')  # fmt: skip
        accepted = asgifuzz(tmp_path, "run", "--json")
        assert accepted.returncode == 0, accepted.stderr
        doc = json.loads(accepted.stdout)
        assert doc["findings"] == [] and doc["examples"] == 30
        overridden = asgifuzz(tmp_path, "run", "--json", "--checks", "duplicate-response-start")
        assert overridden.returncode == 1, overridden.stderr
        assert [f["invariant"] for f in json.loads(overridden.stdout)["findings"]] == ["duplicate-response-start"]
        # A budget on the command line replaces the project's whole budget (max-examples too).
        timed = asgifuzz(tmp_path, "run", "--json", "--max-time", "10")  # (more than 30 examples on a loaded machine)
        assert json.loads(timed.stdout)["examples"] > 30, timed.stderr
        counted = asgifuzz(tmp_path, "run", "--json", "--max-examples", "40")
        assert json.loads(counted.stdout)["examples"] == 40, counted.stderr
        # A target on the command line replaces the project's app (app-dir still applies).
        other = asgifuzz(tmp_path, "run", "cliapps:ok", "--json", "--checks", "duplicate-response-start")
        assert other.returncode == 0, other.stderr

    def test_a_bad_pyproject_exits_2_with_one_line(self, tmp_path: Path) -> None:
        _pyproject(tmp_path, 'app = "cliapps:ok"\nmax-exampels = 3')
        proc = asgifuzz(tmp_path, "run")
        assert proc.returncode == 2
        expected = (
            f"asgifuzz: error: {tmp_path.resolve() / 'pyproject.toml'}: [tool.asgifuzz]: unknown key "
            "'max-exampels'; did you mean 'max-examples'?"
        )
        assert proc.stderr.strip().splitlines() == [expected]

    def test_no_app_anywhere_says_where_to_name_it(self, tmp_path: Path) -> None:
        proc = asgifuzz(tmp_path, "run")
        assert proc.returncode == 2
        assert "no app given" in proc.stderr and "[tool.asgifuzz]" in proc.stderr

    def test_replay_skips_the_cases_of_an_accepted_invariant_with_a_note(self, tmp_path: Path) -> None:
        run = asgifuzz(tmp_path, "run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "30",
                       "--seed", "1", "--corpus", "corpus")  # fmt: skip
        assert run.returncode == 1, run.stderr
        assert asgifuzz(tmp_path, "replay").returncode == 1
        by_option = asgifuzz(tmp_path, "replay", "--checks=-duplicate-response-start")
        assert by_option.returncode == 0, by_option.stdout + by_option.stderr
        assert "skipped (invariant not checked)" in by_option.stdout
        assert "note: 1 case(s) skipped: duplicate-response-start not checked (--checks)" in by_option.stdout
        _pyproject(tmp_path, 'checks = "-duplicate-response-start"')
        by_project = asgifuzz(tmp_path, "replay")
        assert by_project.returncode == 0, by_project.stdout + by_project.stderr
        assert f"not checked (checks in {tmp_path.resolve() / 'pyproject.toml'})" in by_project.stdout
        # The command line overrides the project here too.
        assert asgifuzz(tmp_path, "replay", "--checks", "duplicate-response-start").returncode == 1

    def test_replay_reads_the_corpus_folder_from_pyproject(self, tmp_path: Path) -> None:
        run = asgifuzz(tmp_path, "run", "cliapps:double_start", "--app-dir", APPS, "--max-examples", "30",
                       "--seed", "1", "--corpus", "tests/corpus")  # fmt: skip
        assert run.returncode == 1, run.stderr
        _pyproject(tmp_path, 'corpus = "tests/corpus"')
        (tmp_path / "elsewhere").mkdir()
        proc = asgifuzz(tmp_path, "replay", cwd=tmp_path / "elsewhere")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "1 case(s): 0 passing, 1 still failing" in proc.stdout
