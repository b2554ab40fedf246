"""Flask and Django answer errors with problem documents."""

from __future__ import annotations

import doctest
import importlib
import json
import logging
import sys
import types
from typing import TYPE_CHECKING, Any

import django
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from flask import Flask, abort

from pmp_errors import RateLimitError, ValidationError
from pmp_errors.integrations import EXCEPTION_KEY, LOGGER_NAME, PROBLEM_JSON
from pmp_errors.integrations import django as django_errors
from pmp_errors.integrations import flask as flask_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

PRIVATE = "hunter2"
URLS = "pmp_errors_django_test_urls"
CASES = [  # path, status, code
    ("/rate", 429, "rate_limit_error"),
    ("/invalid", 422, "validation_error"),
    ("/crash", 500, "portfolio_error"),
]


def _raise(path: str) -> None:
    if path == "/rate":
        raise RateLimitError("Slow down", retry_after=2.5, limit=10)
    if path == "/invalid":
        raise ValidationError("Too short", field="password", value=PRIVATE)
    raise KeyError(PRIVATE)


def _check(status: int, headers: Any, body: bytes, expected: int, code: str) -> dict[str, Any]:
    assert status == expected
    assert headers["Content-Type"] == PROBLEM_JSON
    assert PRIVATE.encode() not in body
    problem: dict[str, Any] = json.loads(body)
    assert {"type", "title", "status", "detail", "instance", "code"} <= problem.keys()
    assert problem["status"] == expected
    assert problem["code"] == code
    if expected == 429:
        assert headers["Retry-After"] == "3"
    return problem


def flask_app(*, unhandled: bool = True) -> Flask:
    app = Flask("errors")
    flask_errors.setup(app, unhandled=unhandled, base="https://docs.example.com/errors/")
    seen: list[BaseException] = []

    @app.get("/<name>")
    def endpoint(name: str) -> str:
        if name == "forbidden":
            abort(403)
        _raise(f"/{name}")
        return "unreachable"

    @app.get("/folder/")
    def folder() -> str:
        return "ok"

    @app.teardown_request
    def remember(exc: BaseException | None) -> None:
        from flask import request

        seen.extend([request.environ[EXCEPTION_KEY]] if EXCEPTION_KEY in request.environ else [])

    app.extensions["seen"] = seen
    return app


@pytest.mark.parametrize(("url", "status", "code"), CASES)
def test_flask_answers_problems(url: str, status: int, code: str) -> None:
    """Flask: each error is a problem document with its status; the exception is recorded."""
    app = flask_app()
    response = app.test_client().get(url)
    problem = _check(response.status_code, response.headers, response.data, status, code)
    assert problem["instance"] == url
    assert problem["type"] == f"https://docs.example.com/errors/{code}"
    assert len(app.extensions["seen"]) == 1


def test_flask_http_errors_are_problems() -> None:
    """Flask's own 403 and 404 are problems; a redirect stays a redirect."""
    app = flask_app()
    client = app.test_client()
    forbidden = client.get("/forbidden")
    _check(forbidden.status_code, forbidden.headers, forbidden.data, 403, "forbidden")
    missing = client.get("/a/b")
    _check(missing.status_code, missing.headers, missing.data, 404, "not_found")
    assert client.get("/folder").status_code == 308


def test_flask_unhandled_errors_are_logged_with_to_dict(caplog: pytest.LogCaptureFixture) -> None:
    """An unhandled exception is logged (with its to_dict record), never shown."""
    with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
        flask_app().test_client().get("/crash")
    (record,) = caplog.records
    assert record.error["type"] == "KeyError"  # type: ignore[attr-defined]


def test_flask_unhandled_false_leaves_other_errors_to_flask() -> None:
    """With unhandled=False Flask answers other exceptions itself (a generic 500)."""
    app = flask_app(unhandled=False)
    app.testing = False
    response = app.test_client().get("/crash")
    assert response.status_code == 500
    assert PRIVATE.encode() not in response.data


# -- Django ------------------------------------------------------------------------------------


def _view(request: HttpRequest, name: str) -> HttpResponse:
    if name == "forbidden":
        raise PermissionDenied
    _raise(f"/{name}")
    return HttpResponse()


async def _async_view(request: HttpRequest, name: str) -> HttpResponse:
    return _view(request, name)


@pytest.fixture
def urls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Django configured for this test: our URLconf and the problem middleware."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="not-a-secret",  # noqa: S106
            ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=[],
            LOGGING_CONFIG=None,
        )
        django.setup()
    module = types.ModuleType(URLS)
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("async/<str:name>", _async_view),
        path("<str:name>", _view),
    ]
    module.handler500 = "pmp_errors.integrations.django.server_error"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, URLS, module)
    middleware = ["pmp_errors.integrations.django.ProblemMiddleware"]
    with override_settings(ROOT_URLCONF=URLS, MIDDLEWARE=middleware):
        yield


@pytest.mark.parametrize(("url", "status", "code"), CASES)
@pytest.mark.usefixtures("urls")
def test_django_answers_problems(url: str, status: int, code: str) -> None:
    """Django (WSGI handler): each error is a problem document with its status."""
    response = Client().get(url)
    problem = _check(response.status_code, response.headers, response.content, status, code)
    assert problem["instance"] == url


@pytest.mark.asyncio
@pytest.mark.parametrize(("url", "status", "code"), CASES)
@pytest.mark.usefixtures("urls")
async def test_django_async_answers_problems(url: str, status: int, code: str) -> None:
    """Django (ASGI handler, async view): the same problem documents."""
    response: Any = await AsyncClient().get(f"/async{url}")
    _check(response.status_code, response.headers, response.content, status, code)


@pytest.mark.usefixtures("urls")
def test_django_keeps_its_own_answers() -> None:
    """PermissionDenied keeps Django's 403; PMP_ERRORS_UNHANDLED=False leaves a crash to it."""
    assert Client().get("/forbidden").status_code == 403
    with override_settings(PMP_ERRORS_UNHANDLED=False):
        response = Client(raise_request_exception=False).get("/crash")
    assert response.status_code == 500  # handler500: still a generic problem
    _check(response.status_code, response.headers, response.content, 500, "portfolio_error")


@pytest.mark.usefixtures("urls")
def test_django_server_error_without_an_exception_is_generic() -> None:
    """handler500 called outside an exception still answers a generic 500 problem."""
    request = HttpRequest()
    request.path = "/x"
    response = django_errors.server_error(request)
    _check(response.status_code, response.headers, response.content, 500, "portfolio_error")


@pytest.mark.parametrize(
    ("module", "framework"),
    [("pmp_errors.integrations.flask", "flask"), ("pmp_errors.integrations.django", "django")],
)
def test_a_missing_framework_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, framework: str
) -> None:
    """Importing an integration without its framework raises an ImportError naming the extra."""
    for name in [m for m in sys.modules if m == framework or m.startswith(f"{framework}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'pmp-errors\[{framework}\]'"):
        importlib.import_module(module)


@pytest.mark.parametrize("module", [flask_errors, django_errors])
def test_docstring_examples_pass(module: types.ModuleType) -> None:
    """The modules' examples run and print what they show."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
