"""The corpus: file format, atomic content-hashed writes, validating loader, replay and the CLI.

The committed ``corpus/`` holds real cases found by asgifuzz on starlette
0.37.2; each must replay as "still failing" there and "passing" on 0.38.3.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from asgifuzz._case import Case, Chunk, Disconnect, Later, Run
from asgifuzz._corpus import (
    FORMAT,
    CorpusCase,
    case_from_finding,
    content_hash,
    load_case,
    load_corpus,
    replay_case,
    save_case,
    save_finding,
)
from asgifuzz._errors import CorpusError
from asgifuzz._finding import Finding
from asgifuzz.cli import main
from asgifuzz.server.driver import run_case

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted((ROOT / "corpus").glob("*.json"))

SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/upload",
    "raw_path": b"/upload",
    "query_string": b"a=1",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-length", b"3")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


def _finding(app_name: str = "raises_on_disconnect") -> Finding:
    import apps

    outcome = run_case(
        getattr(apps, app_name), Case(target="app", scope=SCOPE, body=b"abc", actions=(Chunk(1), Disconnect()))
    )
    assert outcome.findings, outcome.trace
    return outcome.findings[0]


def _saved(tmp_path: Path) -> Path:
    return save_finding(_finding(), "apps:raises_on_disconnect", tmp_path / "corpus")


class TestFormat:
    def test_saved_file_is_sorted_indented_ascii_json_named_by_invariant_and_hash(self, tmp_path: Path) -> None:
        path = _saved(tmp_path)
        assert re.fullmatch(r"exception-on-disconnect-[0-9a-f]{12}\.json", path.name)
        text = path.read_text("ascii")
        doc = json.loads(text)
        assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
        assert doc["format"] == FORMAT == 1
        assert doc["app"] == "apps:raises_on_disconnect"
        assert doc["invariant"] == "exception-on-disconnect"
        assert doc["expect"] == {"violation": "exception-on-disconnect"}
        assert doc["asgifuzz"]
        assert doc["actions"] == [{"op": "chunk", "size": 1}, {"op": "disconnect"}]
        assert doc["body"] == "abc"
        assert doc["scope"]["query_string"] == "a=1"
        assert doc["scope"]["headers"] == [["host", "testserver"], ["content-length", "3"]]

    def test_load_round_trips_every_case_field(self, tmp_path: Path) -> None:
        finding = _finding()
        path = save_finding(finding, "apps:raises_on_disconnect", tmp_path)
        loaded = load_case(path)
        assert finding.case is not None
        assert loaded.case.scope == finding.case.scope
        assert (loaded.case.body, loaded.case.actions, loaded.case.target) == (b"abc", (Chunk(1), Disconnect()), "app")
        assert (loaded.case.backend, loaded.case.profile, loaded.case.schedule_seed) == ("asyncio", "uvicorn", 0)
        assert content_hash(loaded) == content_hash(case_from_finding(finding, app="apps:raises_on_disconnect"))

    def test_server_knobs_and_a_session_survive_the_file(self, tmp_path: Path) -> None:
        # Both keys are written only when set; a file carrying them must load (it once did not).
        later = Later(scope=SCOPE, body=b"xy", actions=(Chunk(2), Run()), during=1)
        case = Case(
            target="app", scope=SCOPE, body=b"abc", actions=(Chunk(1), Disconnect()),
            server=(("send-after-disconnect", "raise"),), session=(later,),
        )  # fmt: skip
        path = save_case(CorpusCase(case=case, app="apps:echo", invariant=None, expect=None), tmp_path)
        loaded = load_case(path).case
        assert (loaded.server, loaded.session) == (case.server, case.session)

    def test_binary_bodies_are_base64(self, tmp_path: Path) -> None:
        cc = CorpusCase(
            case=Case(target="app", scope=SCOPE, body=b"\x00\xff", actions=(Run(3),)),
            app="apps:echo",
            invariant=None,
            expect=None,
        )
        path = save_case(cc, tmp_path)
        assert path.name.startswith("pass-")
        assert json.loads(path.read_text())["body"] == {"base64": "AP8="}
        assert load_case(path).case.body == b"\x00\xff"
        assert load_case(path).case.actions == (Run(3),)

    def test_same_case_is_stored_once_and_leaves_no_temp_files(self, tmp_path: Path) -> None:
        first = _saved(tmp_path)
        second = _saved(tmp_path)
        assert first == second
        assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [first.name]

    def test_interrupted_write_leaves_only_complete_files(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import os

        def interrupted(src: str, dst: str) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _saved(tmp_path)
        assert list((tmp_path / "corpus").iterdir()) == []


class TestLoading:
    def _write(self, tmp_path: Path, name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    def _doc(self, tmp_path: Path) -> dict[str, Any]:
        return json.loads(_saved(tmp_path).read_text())  # type: ignore[no-any-return]

    def test_truncated_file_is_one_line_naming_the_file(self, tmp_path: Path) -> None:
        text = _saved(tmp_path).read_text()
        bad = self._write(tmp_path, "x.json", text[: len(text) // 2])
        with pytest.raises(CorpusError) as exc:
            load_case(bad)
        message = str(exc.value)
        assert message.startswith(f"{bad}: invalid JSON (truncated?)")
        assert "\n" not in message

    def test_future_format_asks_for_an_upgrade(self, tmp_path: Path) -> None:
        doc = self._doc(tmp_path)
        doc["format"] = 2
        bad = self._write(tmp_path, "future.json", json.dumps(doc))
        with pytest.raises(CorpusError, match=r"future\.json: /format: format 2 is newer .* upgrade asgifuzz"):
            load_case(bad)

    @pytest.mark.parametrize(
        ("pointer", "value", "expected"),
        [
            ("actions", [{"op": "chunk", "size": "3"}], "/actions/0/size: expected a non-negative int, got '3'"),
            ("actions", [{"op": "teleport"}], "/actions/0/op: unknown action 'teleport'"),
            ("backend", "curio", '/backend: expected "asyncio" or "trio"'),
            ("expect", {"violation": "no-such-check"}, "/expect/violation: unknown invariant 'no-such-check'"),
            ("app", "main.app", "/app: expected 'module:attr'"),
            ("profile", "gunicorn", "/profile: unknown server profile 'gunicorn'"),
            ("schedule_seed", -1, "/schedule_seed: expected a non-negative int"),
        ],
    )
    def test_invalid_field_names_its_json_pointer(
        self, tmp_path: Path, pointer: str, value: object, expected: str
    ) -> None:
        doc = self._doc(tmp_path)
        doc[pointer] = value
        bad = self._write(tmp_path, "bad.json", json.dumps(doc))
        with pytest.raises(CorpusError) as exc:
            load_case(bad)
        assert str(exc.value) == f"{bad}: {expected}" or str(exc.value).startswith(f"{bad}: {expected}")

    def test_missing_and_unknown_keys_are_reported(self, tmp_path: Path) -> None:
        doc = self._doc(tmp_path)
        del doc["scope"]
        with pytest.raises(CorpusError, match="missing key"):
            load_case(self._write(tmp_path, "a.json", json.dumps(doc)))
        doc = self._doc(tmp_path)
        doc["pickle"] = "gASV"
        with pytest.raises(CorpusError, match="unknown key"):
            load_case(self._write(tmp_path, "b.json", json.dumps(doc)))

    def test_a_directory_loads_the_good_files_and_reports_each_bad_one(self, tmp_path: Path) -> None:
        good = _saved(tmp_path)
        corpus = good.parent
        (corpus / "truncated.json").write_text(good.read_text()[:40])
        doc = json.loads(good.read_text())
        doc["format"] = 99
        (corpus / "future.json").write_text(json.dumps(doc))
        cases, errors = load_corpus([corpus])
        assert [c.path for c in cases] == [good]
        assert len(errors) == 2
        assert any("future.json: /format: format 99" in e for e in errors)
        assert any("truncated.json: invalid JSON" in e for e in errors)


class TestReplay:
    def test_replay_reports_still_failing_then_passing_against_a_fixed_app(self, tmp_path: Path) -> None:
        cc = load_case(_saved(tmp_path))
        assert replay_case(cc).outcome == "still failing"
        assert replay_case(cc, app="apps:echo").outcome == "passing"

    def test_cli_replay_exit_codes_and_table(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = _saved(tmp_path)
        assert main(["replay", str(path)]) == 1
        out = capsys.readouterr().out
        assert re.search(rf"{re.escape(str(path))}\s+exception-on-disconnect\s+still failing", out)
        assert main(["replay", str(path), "--app", "apps:echo"]) == 0
        assert "passing" in capsys.readouterr().out

    def test_cli_replay_reports_bad_files_and_replays_the_rest(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _saved(tmp_path)
        (path.parent / "broken.json").write_text("{")
        doc = json.loads(path.read_text())
        doc["format"] = 7
        (path.parent / "future.json").write_text(json.dumps(doc))
        assert main(["replay", str(path.parent)]) == 2
        captured = capsys.readouterr()
        errors = captured.err.strip().splitlines()
        assert len(errors) == 2, errors
        assert all(line.startswith("asgifuzz: error: ") for line in errors)
        assert "still failing" in captured.out

    def test_cli_show_prints_the_messages_between_client_server_and_app(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["show", str(_saved(tmp_path))]) == 0
        out = capsys.readouterr().out
        assert "client script:" in out
        assert "1. client sends 1 body byte(s)" in out
        assert "client  -x server" in out
        assert "server  -> app" in out
        assert "exception-on-disconnect" in out

    def test_run_with_corpus_saves_each_finding(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        corpus = tmp_path / "c"
        code = main(
            ["run", "apps:raises_on_disconnect", "--max-examples", "50", "--seed", "1", "--corpus", str(corpus)]
        )
        assert code == 1
        files = list(corpus.glob("*.json"))
        assert len(files) == 1
        assert f"replay: asgifuzz replay {files[0]}" in capsys.readouterr().out

    def test_corpus_cases_seed_new_fuzz_runs(self, tmp_path: Path) -> None:
        import apps

        import asgifuzz

        cc = load_case(_saved(tmp_path))
        result = asgifuzz.fuzz(apps.raises_on_disconnect, max_examples=1, seed=0, seeds=[cc.case], exitfirst=True)
        assert [f.code for f in result.findings] == ["exception-on-disconnect"]


# ----------------------------------------------- the committed corpus, on its pins

REPLAY_ALL = """
import sys
from asgifuzz.cli import main
sys.exit(main(["replay", {corpus!r}, "--app-dir", {corpus!r}]))
"""


def _replay_committed(venv: str) -> tuple[int, dict[str, str]]:
    from oldreleases import run_in

    proc = run_in(venv, REPLAY_ALL.format(corpus=str(ROOT / "corpus")))
    outcomes = {}
    for line in proc.stdout.splitlines():
        for path in COMMITTED:
            if line.startswith(str(path)):
                outcomes[path.name] = line.split(None, 2)[2].strip()
    return proc.returncode, outcomes


def test_committed_corpus_has_the_seed_case() -> None:
    seeds = [load_case(p) for p in COMMITTED]
    assert any(
        cc.expect == "exception-on-disconnect"
        and cc.app == "oldstarlette_apps:five_passthrough"
        and "No response returned." in cc.message
        for cc in seeds
    )


@pytest.mark.slow  # replays in an old-release virtualenv
def test_committed_corpus_still_fails_on_starlette_0_37_2() -> None:
    code, outcomes = _replay_committed("starlette-0.37.2")
    assert outcomes == {p.name: "still failing" for p in COMMITTED}
    assert code == 1


@pytest.mark.slow  # replays in an old-release virtualenv
def test_committed_corpus_passes_on_starlette_0_38_3() -> None:
    code, outcomes = _replay_committed("starlette-0.38.3")
    assert outcomes == {p.name: "passing" for p in COMMITTED}
    assert code == 0


def test_committed_corpus_passes_on_newest_starlette(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(ROOT / "corpus")]) == 0, capsys.readouterr()
