"""Typed usage of pmp_errors, checked by mypy --strict (never executed)."""

from __future__ import annotations

from typing_extensions import assert_type

from pmp_errors import (
    APIError,
    ConfigurationError,
    DataProcessingError,
    ErrorDict,
    JSONValue,
    PortfolioError,
    ProblemError,
    RateLimitError,
    ValidationError,
    exception_to_dict,
    from_problem,
    to_jsonable,
)

e = ValidationError("bad", field="age", value=-1)
assert_type(e.field, str | None)
assert_type(e.message, str)
assert_type(e.code, str)
assert_type(e.to_dict(), ErrorDict)
assert_type(e.to_dict()["notes"], list[str])
assert_type(e.to_problem(), dict[str, JSONValue])
assert_type(RateLimitError("x", retry_after=1.0).retry_after, float | None)
assert_type(RateLimitError("x", limit=3).limit, int | None)
assert_type(ConfigurationError("x", config_key="K").config_key, str | None)
assert_type(DataProcessingError("x", step=1).step, str | int | None)
assert_type(DataProcessingError("x", row_index=1).row_index, int | None)
assert_type(APIError("x", status_code=500).status_code, int | None)
assert_type(APIError("x", endpoint="/").endpoint, str | None)
assert_type(APIError("x").http_status, int)
assert_type(RateLimitError("x", retry_after=1.0).http_headers, dict[str, str])
assert_type(e.to_problem(instance="/r/1", base="https://example.com/errors/"), dict[str, JSONValue])
assert_type(e.exposed, frozenset[str])
assert_type(e.expose("value"), ValidationError)
assert_type(ValidationError.public, frozenset[str])
assert_type(from_problem({"type": "about:blank"}), PortfolioError)
assert_type(ProblemError("x").problem_type, str)
counts: dict[str, int] = {"n": 1}
assert_type(PortfolioError("m", **counts), PortfolioError)
assert_type(exception_to_dict(ValueError("x")), ErrorDict)
assert_type(to_jsonable(object()), JSONValue)


class PaymentError(PortfolioError):
    status = 402


assert_type(PaymentError("declined", amount=3).to_problem()["status"], JSONValue)
