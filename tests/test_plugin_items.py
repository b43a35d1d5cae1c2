"""The pytest plugin's one item per target, ``-k`` selection, and findings grouped across items."""

from __future__ import annotations

import pytest
from report_helpers import finding

from asgifuzz._pytest_items import Grouped, item_id, share_budget

pytest_plugins = ["pytester"]

SERVICE = '''
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class NoPosts:
    """A pure ASGI middleware with one bug: it raises on every POST, whatever the endpoint behind it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            raise RuntimeError("POST is not supported here")
        await self.app(scope, receive, send)


async def home(request):
    return PlainTextResponse("home")


async def items(request):
    return PlainTextResponse(str(len(await request.body())))


app = Starlette(routes=[Route("/", home), Route("/items", items, methods=["POST"])])
app.add_middleware(NoPosts)
'''

MARKED = """
import pytest

@pytest.mark.asgifuzz(app="service:app", max_examples=400, seed=3)
def test_service():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(service=SERVICE, test_service=MARKED)
    return pytester


def test_item_ids_are_one_word_of_a_k_expression() -> None:
    assert item_id("route GET,POST /items/{id}") == "GET,POST-/items/{id}"
    assert item_id("stack[GZipMiddleware, Auth] -> polls_disconnect") == "stack-polls_disconnect"
    assert item_id("app") == "app"


def test_items_share_the_app_budget_with_a_floor() -> None:
    assert share_budget(1000, None, 1) == (1000, None)
    assert share_budget(1000, 30.0, 10) == (100, 3.0)
    assert share_budget(100, None, 19) == (20, None)


def test_grouping_reports_a_root_cause_in_full_once() -> None:
    grouped = Grouped()
    first, again = finding("app-raised", target="stack -> a"), finding("app-raised", target="stack -> b")
    assert grouped.add("t[a]", [first]) == []
    assert grouped.add("t[b]", [again]) == [(again, "t[a]")]
    summary = grouped.summary()
    assert summary[0].startswith("app-raised (error) at app.py:7 in app")
    assert summary[1:] == ["      t[a]", "      t[b]"]


def test_one_item_per_route_and_per_endpoint_behind_the_stack(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--collect-only", "-q")
    names = [line for line in result.outlines if line.startswith("test_service.py::")]
    assert "test_service.py::test_service[GET-/]" in names
    assert "test_service.py::test_service[POST-/items]" in names
    assert "test_service.py::test_service[stack-read_all]" in names
    assert len(names) > 10 and len(set(names)) == len(names)
    # The middleware's lifespan protocol: one item for every lifespan endpoint.
    assert names.count("test_service.py::test_service[lifespan]") == 1
    selected = project.runpytest_subprocess("--collect-only", "-q", "-k", "items")
    assert [line for line in selected.outlines if line.startswith("test_service.py::")] == [
        "test_service.py::test_service[POST-/items]"
    ]


def test_a_single_target_app_keeps_its_single_item(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        plain="async def app(scope, receive, send):\n    pass\n",
        test_plain='import pytest\n\n@pytest.mark.asgifuzz(app="plain:app", max_examples=5)\ndef test_plain():\n    pass\n',
    )
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    assert "test_plain.py::test_plain" in result.outlines


def test_a_test_may_name_its_target(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_named="""
import pytest

@pytest.mark.asgifuzz(app="service:app", max_examples=1)
def test_named(asgifuzz_target):
    assert asgifuzz_target.id.startswith(("route ", "stack"))
    assert asgifuzz_target.share > 10
"""
    )
    result = project.runpytest_subprocess("test_named.py", "-k", "GET-/", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


LIFESPAN_BUG = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class StartsTwice:
    \"\"\"Answers the server's startup twice (a middleware that wraps the lifespan badly).\"\"\"

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def twice(message):
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                await send(message)

        await self.app(scope, receive, twice)


async def home(request):
    return PlainTextResponse("home")


app = Starlette(routes=[Route("/", home), Route("/b", home)])
app.add_middleware(StartsTwice)
"""


def test_the_lifespan_item_fuzzes_the_middleware_lifespan(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        lsapp=LIFESPAN_BUG,
        test_ls='import pytest\n\n@pytest.mark.asgifuzz(app="lsapp:app", max_examples=400, seed=1)\ndef test_ls():\n    pass\n',
    )
    result = pytester.runpytest_subprocess("-k", "lifespan or GET-/b", "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*FAILED test_ls.py::test_ls[[]lifespan[]]*"])


@pytest.mark.slow
def test_a_middleware_bug_fails_each_item_and_is_reported_in_full_once(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-k", "read_all or read_part or items or GET-/", "-p", "no:randomly")
    result.assert_outcomes(failed=3, passed=1)  # GET / never POSTs
    out = result.stdout.str()
    # The first item carries the whole report, the others point at it.
    assert out.count("why it matters:") == 1
    assert out.count("the same root cause(s) as other tests of this app") == 2
    assert "asgifuzz: root causes that failed several tests" in out
    assert "failed 3 tests, reported in full by test_service.py::test_service[POST-/items]" in out


def test_the_project_config_names_the_app_and_restricts_the_items(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject='[tool.asgifuzz]\napp = "service:app"\nroutes = ["/items", "stack*read_*"]\n')
    project.makepyfile(test_service="import pytest\n\n@pytest.mark.asgifuzz(max_examples=5)\ndef test_service():\n    pass\n")
    result = project.runpytest_subprocess("--collect-only", "-q")
    names = [line for line in result.outlines if line.startswith("test_service.py::")]
    assert names == [
        "test_service.py::test_service[POST-/items]",
        "test_service.py::test_service[stack-read_all]",
        "test_service.py::test_service[stack-read_part]",
    ]
