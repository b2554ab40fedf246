"""The framework-free pieces every web integration shares: rendering and the extra check."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from pmp_errors import APIError, ConfigurationError, PortfolioError, RateLimitError, ValidationError
from pmp_errors.integrations import (
    LOGGER_NAME,
    PROBLEM_JSON,
    FieldError,
    render,
    render_status,
    render_validation,
    requires_extra,
)

RFC9457 = {"type", "title", "status", "detail"}


def test_rate_limit_answers_429_with_retry_after() -> None:
    """A RateLimitError answers 429, with Retry-After in whole seconds rounded up."""
    answer = render(RateLimitError("Slow down", retry_after=2.5, limit=10), instance="/x")
    assert answer.status == 429
    assert answer.headers == {"Retry-After": "3", "Content-Type": PROBLEM_JSON}
    assert json.loads(answer.body) == answer.problem
    assert set(answer.problem) >= RFC9457
    assert answer.problem["instance"] == "/x"


def test_private_context_never_rendered() -> None:
    """A context value not marked public appears nowhere in the body or headers."""
    answer = render(ValidationError("Too short", field="password", value="hunter2"))
    assert answer.status == 422
    assert answer.problem["field"] == "password"
    assert b"hunter2" not in answer.body
    assert "hunter2" not in str(answer.headers)


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("postgres://app:hunter2@db"),
        ConfigurationError("postgres://app:hunter2@db", config_key="hunter2"),
        APIError("upstream hunter2", status_code=401, endpoint="/hunter2"),
    ],
)
def test_server_errors_are_generic_and_logged(exc: Exception, caplog: Any) -> None:
    """A 5xx shows a generic detail and is logged with its full to_dict() record."""
    with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
        answer = render(exc, instance="/orders")
    assert answer.status >= 500
    assert b"hunter2" not in answer.body
    detail = exc.server_detail if isinstance(exc, PortfolioError) else PortfolioError.server_detail
    assert answer.problem["detail"] == detail
    (record,) = caplog.records
    assert "hunter2" in json.dumps(record.error)
    assert record.exc_info is not None


def test_client_errors_are_not_logged(caplog: Any) -> None:
    """A 4xx is the client's fault: nothing is logged."""
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        render(ValidationError("bad", field="age"))
    assert caplog.records == []


def test_hostile_error_still_answers(caplog: Any) -> None:
    """An error whose headers raise still gets a generic 500, never an exception."""

    class Hostile(PortfolioError):
        @property
        def http_headers(self) -> dict[str, str]:
            raise RuntimeError("hunter2")

    with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
        answer = render(Hostile("x", order="hunter2"))
    assert answer.status == 500
    assert b"hunter2" not in answer.body


def test_validation_lists_fields_without_values() -> None:
    """Framework validation failures render as one 422 listing each field and message."""
    answer = render_validation(
        [FieldError("body.password", "too short"), FieldError("query.n", "not an int")],
        instance="/login",
    )
    assert answer.status == 422
    assert answer.problem["field"] == "body.password"
    assert answer.problem["errors"] == [
        {"field": "body.password", "message": "too short"},
        {"field": "query.n", "message": "not an int"},
    ]
    assert answer.headers["Content-Type"] == PROBLEM_JSON


def test_validation_without_errors() -> None:
    """An empty list still gives a valid 422 document."""
    answer = render_validation([])
    assert answer.status == 422
    assert answer.problem["errors"] == []


def test_requires_extra_names_the_extra() -> None:
    """A missing framework raises an ImportError naming the extra to install."""
    with (
        pytest.raises(ImportError, match=r"pip install 'pmp-errors\[nothere\]'"),
        requires_extra("pmp-errors[nothere]", "nothere_framework"),
    ):
        import nothere_framework.sub  # type: ignore[import-not-found]  # noqa: F401


def test_requires_extra_passes_other_import_errors() -> None:
    """A missing module that is not the framework is not disguised."""
    with pytest.raises(ModuleNotFoundError) as info, requires_extra("x[y]", "framework"):
        import something_else_missing  # type: ignore[import-not-found]  # noqa: F401
    assert info.value.name == "something_else_missing"


@pytest.mark.parametrize(
    ("status", "detail", "code", "shown"),
    [
        (404, "Not Found", "not_found", "Not Found"),
        (405, None, "method_not_allowed", "Method Not Allowed"),
        (499, "", "client_error", "Client error"),
        (503, "db at 10.0.0.1 down", "service_unavailable", PortfolioError.server_detail),
        (200, "fine", "internal_server_error", PortfolioError.server_detail),
    ],
)
def test_render_status(status: int, detail: str | None, code: str, shown: str) -> None:
    """A framework's HTTP error renders with its phrase as code; a 5xx hides its detail."""
    answer = render_status(status, detail, headers={"Allow": "GET"}, instance="/p")
    assert answer.problem["code"] == code
    assert answer.problem["detail"] == shown
    assert answer.status == answer.problem["status"]
    assert answer.headers == {"Allow": "GET", "Content-Type": PROBLEM_JSON}


def test_render_status_checks_base() -> None:
    """A base that is not an https URL is refused."""
    with pytest.raises(ValidationError, match="base"):
        render_status(404, base="http://insecure/")
    assert render_status(404, base="https://e.x/errors/").problem["type"] == (
        "https://e.x/errors/not_found"
    )
