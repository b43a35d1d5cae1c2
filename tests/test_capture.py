"""The app's output is captured per example and shown with its finding (asgifuzz._capture)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import asgifuzz
from asgifuzz._capture import Capture, capture, trim_output
from asgifuzz.report.text import render_finding

CLI_APPS = Path(__file__).parent / "cli_apps"


def test_logging_and_prints_are_diverted_and_everything_is_restored(capsys: pytest.CaptureFixture[str]) -> None:
    handle, out, err = logging.Logger.handle, sys.stdout, sys.stderr
    log = logging.getLogger("test_capture.app")
    with capture() as cap:
        print("printed by the app")
        print("to stderr", file=sys.stderr)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("the middleware logs it")
        logging.getLogger("created.during.the.example").warning("new logger")
    assert (logging.Logger.handle, sys.stdout, sys.stderr) == (handle, out, err)
    text = cap.text()
    assert "printed by the app\n" in text and "to stderr\n" in text
    assert "ERROR    test_capture.app:test_capture.py:" in text and "ValueError: boom" in text
    assert "WARNING  created.during.the.example" in text
    assert isinstance(cap.exception, ValueError)
    seen = capsys.readouterr()
    assert seen.out == "" and seen.err == ""


def test_records_below_the_logger_level_are_not_made_and_disabled_loggers_stay_quiet() -> None:
    quiet = logging.getLogger("test_capture.quiet")
    quiet.setLevel(logging.ERROR)
    off = logging.getLogger("test_capture.off")
    off.disabled = True
    try:
        with capture() as cap:
            quiet.warning("below the level")
            off.error("disabled")
        assert not cap
    finally:
        off.disabled = False
        quiet.setLevel(logging.NOTSET)


def test_captures_nest_and_an_exception_still_restores(capsys: pytest.CaptureFixture[str]) -> None:
    handle = logging.Logger.handle
    with capture() as outer:
        print("outer")
        with pytest.raises(RuntimeError), capture() as inner:
            print("inner")
            raise RuntimeError
        print("outer again")
    assert logging.Logger.handle == handle
    assert outer.text() == "outer\nouter again\n"
    assert inner.text() == "inner\n"
    assert capsys.readouterr().out == ""


def test_stream_lets_the_output_through_and_keeps_it(capsys: pytest.CaptureFixture[str]) -> None:
    with capture(stream=True) as cap:
        print("both places")
    assert capsys.readouterr().out == "both places\n"
    assert cap.text() == "both places\n"


def test_kept_and_shown_output_are_trimmed_to_the_last_lines() -> None:
    cap = Capture()
    for i in range(500):
        cap.add_text(f"line {i}\n")
    kept = cap.kept().splitlines()
    assert kept[0] == "... 300 earlier line(s) not kept ..." and kept[-1] == "line 499" and len(kept) == 201
    shown, left_out = trim_output(cap.kept(), lines=30)
    assert shown[-1] == "line 499" and len(shown) == 30 and left_out == 171


def test_a_finding_carries_the_output_of_its_example_and_nothing_reaches_pytest(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(CLI_APPS))
    try:
        from noisy_app import app
    finally:
        sys.path.remove(str(CLI_APPS))
    result = asgifuzz.fuzz(app, max_examples=150, seed=1, database=None)
    assert result.findings
    finding = result.findings[0]
    assert "request " in finding.output
    assert "captured output of the app" in render_finding(finding)
    assert not [r for r in caplog.records if r.name == "service.errors"]
    seen = capsys.readouterr()
    assert "request " not in seen.out and "Traceback" not in seen.err


@pytest.mark.slow
def test_the_cli_keeps_the_app_output_off_the_terminal_and_v_streams_it(tmp_path: Path) -> None:
    """In worker processes too: a run of a noisy app prints only the report (issue 15's 9,700 lines)."""
    env = {**os.environ, "PYTHONPATH": str(CLI_APPS)}
    base = [sys.executable, "-m", "asgifuzz", "run", "noisy_app:app", "--max-examples", "150", "--seed", "1", "--no-database", "--report", "full"]
    quiet = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stderr == ""
    # Only the captured output shown with the finding mentions the app's prints.
    lines = quiet.stdout.splitlines()
    printed = [i for i, line in enumerate(lines) if line.strip().startswith("request ")]
    header = next(i for i, line in enumerate(lines) if "captured output of the app" in line)
    assert printed and all(i > header for i in printed) and len(printed) <= 30
    loud = subprocess.run([*base, "-v"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert loud.returncode == 1
    assert sum(1 for line in loud.stdout.splitlines() if line.startswith("request ")) > 50


@pytest.mark.slow
def test_piped_output_is_one_line_per_finding_and_the_full_report_is_a_file(tmp_path: Path) -> None:
    """A CI log of a noisy app: the summary, one line per finding, where the full report is."""
    env = {**os.environ, "PYTHONPATH": str(CLI_APPS)}
    args = ["run", "noisy_app:app", "--max-examples", "150", "--seed", "1", "--no-database"]
    proc = subprocess.run([sys.executable, "-m", "asgifuzz", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    # Two findings since the truncated-response oracle (issue 12) joined: one line each.
    assert lines[0].startswith("asgifuzz ") and "2 finding(s)" in lines[0]
    # In the order the search found them (which depends on the order targets are dealt).
    hidden = next(line for line in lines[1:3] if line.startswith(("[1] disconnect-hidden: ", "[2] disconnect-hidden: ")))
    assert "(error) on stack[LogEveryException] -> polls_disconnect" in hidden
    assert {line[4:].split(":")[0] for line in lines[1:3]} == {"disconnect-hidden", "truncated-response-completed"}
    assert all("; replay: asgifuzz replay " in line for line in lines[1:3])
    assert lines[3] == "full report: .asgifuzz/report.txt" and lines[4].startswith("corpus: 2 case(s) saved")
    assert len(lines) == 5
    full = (tmp_path / ".asgifuzz" / "report.txt").read_text()
    assert "what happened:" in full and "captured output of the app" in full and "      request " in full


def test_logged_tracebacks_are_folded_to_one_line_in_the_text_report() -> None:
    from report_helpers import finding

    f = finding("app-raised")
    f.output = "\n".join(
        [
            "request POST /items",
            "ERROR    service.errors:app.py:30 unhandled error in POST /items",
            "Traceback (most recent call last):",
            '  File "app.py", line 27, in dispatch',
            "    return await call_next(request)",
            "ValueError: planted bug",
        ]
    )
    text = render_finding(f)
    assert "      ERROR    service.errors:app.py:30 unhandled error in POST /items" in text
    assert "      Traceback (2 line(s) of frames, in the JSON and HTML reports)" in text
    assert "      ValueError: planted bug" in text and 'File "app.py"' not in text
