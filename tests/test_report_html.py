"""``asgifuzz.report.html`` and ``diagram``: findings drawn as sequence diagrams, checked in a real browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from report_helpers import finding, report

from asgifuzz._finding import TraceEvent
from asgifuzz.report.diagram import lanes_of, rows_of, sequence_svg
from asgifuzz.report.html import render_html

CLI_APPS = str(Path(__file__).parent / "cli_apps")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"hello"}
LAYERED = [
    TraceEvent(0, 0.0, "server", "call", None, "GET /"),
    TraceEvent(1, 0.0, "server", "receive", {"type": "http.request", "body": b"", "more_body": False}),
    TraceEvent(2, 0.0, "layer", "receive", {"type": "http.request", "body": b"", "more_body": False}, "1:Outer"),
    TraceEvent(3, 0.0, "layer", "receive", {"type": "http.request", "body": b"", "more_body": False}, "2:Inner"),
    TraceEvent(4, 0.1, "layer", "send", START, "2:Inner"),
    TraceEvent(5, 0.1, "layer", "send", START, "1:Outer"),
    TraceEvent(6, 0.1, "app", "send", START),
    TraceEvent(7, 0.2, "layer", "send", BODY, "2:Inner"),
    # Outer changes the body on its way out: the app (outermost) passes on what Outer sent.
    TraceEvent(8, 0.2, "layer", "send", {"type": "http.response.body", "body": b"HELLO"}, "1:Outer"),
    TraceEvent(9, 0.2, "app", "send", {"type": "http.response.body", "body": b"HELLO"}),
    TraceEvent(10, 0.3, "app", "returned", None, "returned"),
]


def test_lanes_are_client_server_app_each_layer_by_depth_and_the_endpoint() -> None:
    lanes = lanes_of(LAYERED, endpoint="echo")
    assert [lane.title for lane in lanes] == ["client", "server", "app", "Outer", "Inner", "echo"]


def test_every_message_is_a_row_and_only_the_changed_one_is_altered() -> None:
    rows = rows_of(LAYERED)
    assert [r.seq for r in rows] == list(range(11))
    assert [r.seq for r in rows if r.style == "altered"] == [8]
    outer_send = rows[5]
    assert (outer_send.source, outer_send.target) == ("layer1", "app")
    assert (rows[2].source, rows[2].target) == ("app", "layer1")
    assert (rows[3].source, rows[3].target) == ("layer1", "layer2")
    assert (rows[6].source, rows[6].target) == ("app", "server")
    assert rows[10].source == rows[10].target == "app"


def test_a_long_trace_keeps_its_first_and_last_events() -> None:
    trace = [TraceEvent(i, i / 10, "server", "receive", {"type": "http.request"}) for i in range(1000)]
    rows = rows_of(trace)
    assert rows[0].seq == 0 and rows[-1].seq == 999
    assert any(r.style == "gap" and "600 more event(s)" in r.label for r in rows)


def test_the_report_is_self_contained_and_escapes_what_the_app_said() -> None:
    bad = finding("app-raised", "the app said <script>alert(1)</script>")
    bad.output = "ERROR    app:app.py:3 <b>not bold</b>"
    doc = render_html(report([bad]))
    assert doc.startswith("<!DOCTYPE html>")
    assert "<script" not in doc and "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "&lt;b&gt;not bold&lt;/b&gt;" in doc
    # Nothing is fetched: no links, no external sources, only the SVG namespace URL.
    assert not re.search(r"<link|<img|\bsrc=|@import|url\(", doc)
    assert set(re.findall(r"https?://[^\s\"']+", doc)) == {"http://www.w3.org/2000/svg"}
    assert 'id="finding-1"' in doc and "broke here: app-raised" in doc


def test_a_transparency_finding_draws_the_bare_run_beside_with_what_it_lacks_shaded() -> None:
    f = finding("disconnect-hidden", "the bare endpoint saw the client disconnect")
    f.reference_trace = [*f.trace[:2], TraceEvent(3, 0.5, "endpoint", "endpoint-saw-disconnect", None, "")]
    doc = render_html(report([f]))
    assert doc.count("<svg") == 2 and "without the user&#x27;s middleware" in doc
    assert 'class="row note" data-seq="3"' in doc and "#ffebe9" in doc
    svg = sequence_svg(f.trace, broke="x")
    assert "#ffebe9" not in svg


# ---------------------------------------------------------------- a browser


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": CLI_APPS}
    return subprocess.run(
        [sys.executable, "-m", "asgifuzz", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def _open_in_chromium(page_file: Path, screenshot: Path) -> dict[str, Any]:
    """Load ``page_file`` in headless Chromium; what rendered, the console errors, every URL requested."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 1000}
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            page.screenshot(path=str(screenshot), full_page=True)
            seen = page.evaluate(
                """() => ({
                    svgs: [...document.querySelectorAll('svg.sequence')].map(s => {
                        const box = s.getBoundingClientRect();
                        return {width: box.width, height: box.height,
                                lanes: [...s.querySelectorAll('g.lane text.lane-title')].map(t => t.textContent),
                                arrows: s.querySelectorAll('g.row line').length,
                                labels: [...s.querySelectorAll('g.row text')].map(t => t.textContent)};
                    }),
                    title: document.title,
                })"""
            )
        finally:
            browser.close()
    return {"errors": errors, "requests": requests, **seen}


@pytest.mark.slow
def test_run_and_show_html_render_the_diagram_in_headless_chromium(tmp_path: Path) -> None:
    """The noisy FastAPI app's transparency finding, drawn by ``run --html`` and by ``show --html``."""
    run = _cli(
        tmp_path, "run", "noisy_app:app", "--max-examples", "150", "--seed", "1", "--no-database",
        "--corpus", "corpus", "--html", "report.html",
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    case = next((tmp_path / "corpus").glob("disconnect-hidden-*.json"))
    show = _cli(tmp_path, "show", str(case), "--html", "case.html")
    assert show.returncode == 0, show.stdout + show.stderr
    assert "html: case.html" in show.stdout
    shots = Path(os.environ.get("ASGIFUZZ_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for name in ("report", "case"):
        seen = _open_in_chromium(tmp_path / f"{name}.html", shots / f"{name}.png")
        assert seen["errors"] == []
        assert all(url.startswith("file://") for url in seen["requests"]), seen["requests"]
        # The run behind the stack and the bare run beside it, per finding: the case has one finding, the
        # report two (disconnect-hidden and truncated-response-completed, in the order the search found them).
        assert len(seen["svgs"]) == (4 if name == "report" else 2)
        pairs = [seen["svgs"][i : i + 2] for i in range(0, len(seen["svgs"]), 2)]
        stack, bare = next(p for p in pairs if p[0]["lanes"][-1] == "polls_disconnect")
        assert stack["width"] > 800 and stack["height"] > 400 and bare["width"] > 300
        assert stack["lanes"][:3] == ["client", "server", "app"]
        assert "LogEveryException" in stack["lanes"] and stack["lanes"][-1] == "polls_disconnect"
        assert bare["lanes"] == ["client", "server", "app", "polls_disconnect"]
        assert stack["arrows"] >= 20
        labels = " ".join(stack["labels"])
        assert "disconnect" in labels and "http.response.start 200" in labels
        assert "broke here: disconnect-hidden" in labels
        assert any("endpoint-saw-disconnect" in t or "endpoint-saw" in t for t in bare["labels"])
        assert (shots / f"{name}.png").stat().st_size > 20_000
