"""The example database as a Redis server shared by machines (``--database redis://host:port/db``).

The URL checks need no server.  The rest runs against a real ``redis-server``
(``tests/redis_server.py``: the one ``.ci/run`` starts, else one started
here); two asgifuzz processes in separate directories, which share nothing
but the Redis database, stand for two machines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_server import free_port, redis_server, redis_url_for_test

from asgifuzz import UsageError
from asgifuzz._config import Settings
from asgifuzz._database import check_database, open_database, redacted

pytest_plugins = ["pytester"]

APPS = Path(__file__).parent / "cli_apps"
#: duplicate-response-start only when the body comes in two or more chunks.
RARE = "rare_bug:chunky"


@pytest.fixture(scope="module")
def redis_base() -> Iterator[str]:
    with redis_server() as base:
        yield base


@pytest.fixture
def redis_url(redis_base: str) -> str:
    return redis_url_for_test(redis_base)


def asgifuzz(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="120")
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "asgifuzz", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def run_rare(cwd: Path, database: str, *, seed: int, max_examples: int) -> dict[str, Any]:
    cwd.mkdir(exist_ok=True)
    proc = asgifuzz(
        cwd, "run", RARE, "--app-dir", str(APPS), "--seed", str(seed), "--max-examples", str(max_examples),
        "--database", database, "--json",
    )  # fmt: skip
    assert proc.stdout, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["exit_status"] == proc.returncode
    return doc


def codes(doc: dict[str, Any]) -> list[str]:
    return [f["invariant"] for f in doc["findings"]]


# ------------------------------------------------------------ no server needed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost:port/0", "not a valid URL"),
        ("redis://localhost:99999/0", "not a valid URL"),
        ("redis://localhost:6379/zero", "the database number 'zero' is not a number"),
        ("redis:///0", "no host"),
        ("unix://", "needs the socket's path"),
        ("http://localhost:6379/0", "http:// is not a database"),
    ],
)
def test_a_bad_url_is_one_line_before_anything_runs(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        Settings.create(database=url)
    assert "\n" not in str(info.value) and str(info.value).startswith("database ")


def test_the_password_never_shows() -> None:
    assert redacted("redis://:s3cret@db.internal:6379/0") == "redis://:***@db.internal:6379/0"
    assert redacted("redis://fuzz:s3cret@db.internal:6379/0") == "redis://fuzz:***@db.internal:6379/0"
    with pytest.raises(UsageError) as info:
        Settings.create(database="redis://:s3cret@db.internal:port/0")
    assert "s3cret" not in str(info.value)


def test_an_unreachable_server_is_a_usage_error_not_a_hang() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings.create(database=url)  # no I/O here
    with pytest.raises(UsageError, match="the Redis server does not answer"):
        check_database(url)
    with pytest.raises(UsageError, match="the Redis server does not answer"):
        settings.example_database()


def test_a_directory_is_still_a_directory_database(tmp_path: Path) -> None:
    from hypothesis.database import DirectoryBasedExampleDatabase

    assert isinstance(open_database(str(tmp_path / "redis:db")), DirectoryBasedExampleDatabase)
    assert open_database(None) is None


def test_cli_unreachable_server_exits_2_with_one_line(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = asgifuzz(tmp_path, "run", RARE, "--app-dir", str(APPS), "--workers", "2", "--database", url, "--json")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"asgifuzz: error: database {url}: the Redis server does not answer")


def test_cli_bad_url_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = asgifuzz(tmp_path, "run", RARE, "--app-dir", str(APPS), "--database", "redis://:pw@h:port/0")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asgifuzz: error: database redis://:***@h:port/0: not a valid URL")
    assert "pw" not in proc.stderr


def test_pytest_unreachable_server_stops_the_session_with_one_line(pytester: pytest.Pytester) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--asgifuzz-database", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asgifuzz: database {url}: the Redis server does not answer*"])
    assert "Traceback" not in result.stderr.str()


# ------------------------------------------------------------ a real Redis server


def test_examples_round_trip_through_redis(redis_url: str) -> None:
    database = Settings.create(database=redis_url).example_database()
    assert type(database).__name__ == "RedisExampleDatabase"
    assert Settings.create(database=redis_url).example_database() is database  # one client per process
    database.save(b"key", b"value")
    assert list(database.fetch(b"key")) == [b"value"]


@pytest.mark.slow
def test_two_processes_share_a_found_failure_through_redis(redis_url: str, tmp_path: Path) -> None:
    # The first "machine" finds the bug with a budget that is enough.
    first = run_rare(tmp_path / "machine-a", redis_url, seed=1, max_examples=200)
    assert codes(first) == ["duplicate-response-start"]
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys("hypothesis-example:*")  # what the first process left there
    finally:
        client.close()
    # A second one, another seed, in another directory, with a budget of one
    # example: it replays the shared example first and reports the failure ...
    second = run_rare(tmp_path / "machine-b", redis_url, seed=3, max_examples=1)
    assert codes(second) == ["duplicate-response-start"]
    assert second["findings"][0]["case"]["actions"] == first["findings"][0]["case"]["actions"]
    # ... which the same run without the shared database does not find.
    alone = run_rare(tmp_path / "machine-c", str(tmp_path / "machine-c" / "db"), seed=3, max_examples=1)
    assert codes(alone) == []


@pytest.mark.slow
def test_pytest_runs_share_a_found_failure_through_redis(
    redis_url: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)  # the 'ci' profile would turn databases off
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(myapp=(APPS / "rare_bug.py").read_text())
    pytester.makepyfile(
        test_fuzz="import pytest\n\n@pytest.mark.asgifuzz(app='myapp:chunky')\ndef test_chunky():\n    pass\n"
    )
    pytester.makeini(f"[pytest]\nasgifuzz_database = {redis_url}\n")
    first = pytester.runpytest_subprocess("--asgifuzz-seed", "1", "--asgifuzz-max-examples", "200")
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*duplicate-response-start*"])
    # Another checkout: no corpus, no .hypothesis/, only the shared database.
    for leftover in ("corpus", ".hypothesis"):
        shutil.rmtree(pytester.path / leftover, ignore_errors=True)
    second = pytester.runpytest_subprocess("--asgifuzz-seed", "3", "--asgifuzz-max-examples", "1")
    second.assert_outcomes(failed=1)
    second.stdout.fnmatch_lines(["*duplicate-response-start*"])
    shutil.rmtree(pytester.path / "corpus", ignore_errors=True)
    alone = pytester.runpytest_subprocess(
        "--asgifuzz-seed", "3", "--asgifuzz-max-examples", "1", "--asgifuzz-database", str(pytester.path / "db"),
    )  # fmt: skip
    alone.assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_redis_server_that_goes_away_mid_run_ends_it_with_one_line(tmp_path: Path) -> None:
    # A server of its own (not the shared one): this test kills it.
    binary = shutil.which("redis-server")
    if binary is None:
        with redis_server():  # skips, or fails under CI, with the reason
            pass
        pytest.skip("redis-server is not installed")
    assert binary is not None
    port = free_port()
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 15
        while not _answers(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        env = dict(os.environ, COLUMNS="120")
        env.pop("PYTHONPATH", None)
        run = subprocess.Popen(
            [sys.executable, "-m", "asgifuzz", "run", RARE, "--app-dir", str(APPS), "--seed", "1",
             "--max-time", "30", "--database", url],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        time.sleep(4)  # the run is under way, saving to Redis
        assert run.poll() is None, run.communicate()
        server.kill()
        server.wait()
        out, err = run.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert run.returncode == 3, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no traceback
    assert lines[0].startswith(f"asgifuzz: database {url}: the Redis server stopped answering during the run"), err
    assert "internal error" not in err and "Traceback" not in err


def _answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
