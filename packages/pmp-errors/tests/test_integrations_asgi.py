"""FastAPI, Starlette and Litestar answer errors with problem documents."""

import asyncio
import doctest
import importlib
import logging
import sys
import types
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from litestar import Litestar
from litestar import Request as LitestarRequest
from litestar import get as litestar_get
from litestar.params import FromQuery
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pmp_errors import RateLimitError, ValidationError
from pmp_errors.integrations import EXCEPTION_KEY, LOGGER_NAME, PROBLEM_JSON
from pmp_errors.integrations import fastapi as fastapi_errors
from pmp_errors.integrations import litestar as litestar_errors
from pmp_errors.integrations import starlette as starlette_errors

PRIVATE = "hunter2"


def _raise(path: str) -> None:
    if path == "/rate":
        raise RateLimitError("Slow down", retry_after=2.5, limit=10)
    if path == "/invalid":
        raise ValidationError("Too short", field="password", value=PRIVATE)
    raise KeyError(PRIVATE)


def starlette_app() -> Starlette:
    async def endpoint(request: Request) -> Response:
        _raise(request.url.path)
        return Response()  # pragma: no cover - never reached

    routes = [Route(path, endpoint) for path in ("/rate", "/invalid", "/boom")]
    app = Starlette(routes=routes)
    starlette_errors.setup(app)
    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items")
    async def items(limit: int) -> int:
        return limit

    for path in ("/rate", "/invalid", "/boom"):

        @app.get(path)
        async def endpoint(request: Request) -> None:
            _raise(request.url.path)

    fastapi_errors.setup(app)
    return app


def litestar_app() -> Litestar:
    @litestar_get(["/rate", "/invalid", "/boom"])
    async def endpoint(request: LitestarRequest[Any, Any, Any]) -> None:
        _raise(request.url.path)

    @litestar_get("/items")
    async def items(limit: FromQuery[int]) -> int:
        return limit

    return Litestar([endpoint, items], plugins=[litestar_errors.ProblemPlugin()])


APPS: dict[str, Callable[[], Any]] = {
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "litestar": litestar_app,
}


def call(app: Any, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    return asyncio.run(go())


def check_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 document with *status*, the request path as instance, and no secret."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    for member, kind in (("type", str), ("title", str), ("status", int), ("detail", str)):
        assert isinstance(problem[member], kind), member
    assert problem["status"] == status
    assert problem["instance"] == response.request.url.path
    assert PRIVATE not in response.text
    return problem


@pytest.fixture(params=sorted(APPS))
def app(request: pytest.FixtureRequest) -> Any:
    return APPS[request.param]()


def test_rate_limit_answers_429_with_retry_after(app: Any) -> None:
    """A RateLimitError becomes a 429 with Retry-After and its public limit."""
    response = call(app, "/rate")
    assert check_problem(response, 429)["limit"] == 10
    assert response.headers["Retry-After"] == "3"


def test_validation_error_hides_value(app: Any) -> None:
    """A ValidationError shows its field, never the value."""
    assert check_problem(call(app, "/invalid"), 422)["field"] == "password"


def test_unhandled_is_generic_500_and_logged(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Any other exception answers a generic 500 and is logged with its record."""
    with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
        problem = check_problem(call(app, "/boom"), 500)
    assert problem["detail"] == "The server could not complete the request."
    records = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert len(records) == 1
    assert PRIVATE in records[0].getMessage()


def test_not_found_is_a_problem(app: Any) -> None:
    """The framework's own 404 is a problem document too."""
    assert check_problem(call(app, "/nowhere"), 404)["code"] == "not_found"


@pytest.mark.parametrize("name", ["fastapi", "litestar"])
def test_framework_validation_is_a_problem(name: str) -> None:
    """The framework's request validation failure is a 422 listing the field, not the value."""
    problem = check_problem(call(APPS[name](), f"/items?limit={PRIVATE}"), 422)
    assert problem["field"] == "query.limit"
    assert [error["field"] for error in problem["errors"]] == ["query.limit"]


def test_handler_records_answered_exception() -> None:
    """The handler records the exception it answered in the ASGI scope."""
    recorded: list[object] = []

    async def endpoint(request: Request) -> Response:
        request.scope["pmp.test"] = recorded
        raise RateLimitError("x")

    app = Starlette(routes=[Route("/", endpoint)])
    starlette_errors.setup(app, unhandled=False)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        recorded.append(scope.get(EXCEPTION_KEY))

    assert call(outer, "/").status_code == 429
    assert isinstance(recorded[0], RateLimitError)


def test_unhandled_false_leaves_other_errors_alone() -> None:
    """Without unhandled, a foreign exception is not turned into a problem."""
    app = Starlette(routes=[Route("/boom", lambda _: _raise("/boom"))])
    starlette_errors.setup(app, unhandled=False)
    response = call(app, "/boom")
    assert response.status_code == 500
    assert response.headers["Content-Type"] != PROBLEM_JSON


def test_bad_base_refused_at_setup() -> None:
    """A problem base that is not an https URL is refused when installing, not per request."""
    with pytest.raises(ValidationError, match="base"):
        starlette_errors.setup(Starlette(), base="http://insecure/")
    with pytest.raises(ValidationError, match="base"):
        fastapi_errors.setup(FastAPI(), base="docs/errors")
    with pytest.raises(ValidationError, match="base"):
        litestar_errors.ProblemPlugin(base="ftp://x/")


def test_base_sets_problem_type() -> None:
    """A valid base gives every problem a type under it."""
    app = Starlette(routes=[Route("/rate", lambda _: _raise("/rate"))])
    starlette_errors.setup(app, base="https://docs.example.com/errors/")
    problem = call(app, "/rate").json()
    assert problem["type"] == "https://docs.example.com/errors/rate_limit_error"


@pytest.mark.parametrize("module", [starlette_errors, fastapi_errors, litestar_errors])
def test_docstring_examples_pass(module: types.ModuleType) -> None:
    """The integration modules' examples run."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("module", "framework"),
    [("fastapi", "fastapi"), ("starlette", "starlette"), ("litestar", "litestar")],
)
def test_missing_framework_names_the_extra(
    module: str, framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing an integration without its framework says which extra to install."""
    monkeypatch.setitem(sys.modules, framework, None)
    for name in [n for n in sys.modules if n.startswith(f"{framework}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, f"pmp_errors.integrations.{module}", raising=False)
    if module == "fastapi":
        monkeypatch.delitem(sys.modules, "pmp_errors.integrations.starlette", raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'pmp-errors\[{module}\]'"):
        importlib.import_module(f"pmp_errors.integrations.{module}")
