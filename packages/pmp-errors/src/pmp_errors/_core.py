"""The structured exception hierarchy shared by every pmp package."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pmp_errors._chain import ErrorDict, exception_to_dict
from pmp_errors._json import JSONValue, safe_repr, safe_str, to_jsonable

__all__ = [
    "APIError",
    "ConfigurationError",
    "DataProcessingError",
    "PortfolioError",
    "RateLimitError",
    "ValidationError",
]

# RFC 9457's members, plus "context", where the entries that cannot be members go
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "context"})
_EXTENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}\Z")
_UNSET: Any = object()


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _as_text(message: object) -> str:
    """Keep a non-str message (a common slip) readable rather than failing."""
    return message if isinstance(message, str) else safe_repr(message)


def _restore(cls: type[PortfolioError], args: tuple[object, ...]) -> PortfolioError:
    """Rebuild an exception without re-running ``__init__`` (state follows)."""
    exc = BaseException.__new__(cls)
    exc.args = args
    return exc


class PortfolioError(Exception):
    """Base class of every pmp exception: a message plus a JSON-safe context.

    ``code`` is a stable snake_case identifier per class, ``status`` the HTTP
    status used by :meth:`to_problem`. Subclasses get both automatically from
    their name; set them in the class body to choose your own.

    >>> e = PortfolioError("Payment failed", order_id=42)
    >>> e.message, e.context, e.code
    ('Payment failed', {'order_id': 42}, 'portfolio_error')
    >>> e.to_dict()["context"]
    {'order_id': 42}
    """

    code: ClassVar[str] = "portfolio_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    message: str
    context: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _snake(cls.__name__)
        if "title" not in cls.__dict__:
            cls.title = cls.code.replace("_", " ").capitalize()

    def __init__(self, message: str, /, **context: Any) -> None:
        super().__init__(message)
        self.message = _as_text(message)
        self.context = context

    def __str__(self) -> str:
        # vars(): a subclass whose __init__ skipped ours still has a readable str()
        message = vars(self).get("message")
        return message if isinstance(message, str) else super().__str__()

    def __repr__(self) -> str:
        message = vars(self).get("message")
        parts = [safe_repr(message if isinstance(message, str) else super().__str__())]
        context = vars(self).get("context")
        if isinstance(context, dict):
            parts += [f"{key}={safe_repr(value)}" for key, value in context.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        if isinstance(state.get("context"), dict):
            state["context"] = dict(state["context"])
        return (_restore, (type(self), self.args), state)

    def to_dict(self) -> ErrorDict:
        """Return the error as JSON-safe data; never raises.

        Holds ``type``, ``code``, ``message`` (``str(self)``), ``context``, ``notes`` and, when the
        error was raised from another, ``cause`` in the same shape. No traceback
        and no local variables are ever included.

        >>> import json
        >>> json.dumps(ValidationError("bad", field="age", value=float("nan")).to_dict())
        '{"type": "ValidationError", "code": "validation_error", "message": "bad", "context": {"field": "age", "value": "NaN"}, "notes": []}'
        """  # noqa: E501
        return exception_to_dict(self)

    def to_problem(self, *, instance: str | None = None) -> dict[str, JSONValue]:
        """Return RFC 9457 problem details (``application/problem+json``).

        ``type`` is a URN naming the class's ``code``, ``title`` is per class,
        ``detail`` is ``str(self)`` (the message), context entries become extension members (those
        whose names RFC 9457 would not allow are kept under ``context``).

        >>> RateLimitError("Slow down", retry_after=30.0, limit=100).to_problem()
        {'type': 'urn:pmp:error:rate_limit_error', 'title': 'Rate limit exceeded', 'status': 429, 'detail': 'Slow down', 'code': 'rate_limit_error', 'retry_after': 30.0, 'limit': 100}
        """  # noqa: E501
        problem: dict[str, JSONValue] = {
            "type": f"urn:pmp:error:{self.code}",
            "title": self.title,
            "status": self._problem_status(),
            "detail": safe_str(self),
        }
        if instance is not None:
            problem["instance"] = instance
        problem["code"] = self.code
        leftovers: dict[str, JSONValue] = {}
        converted = to_jsonable(vars(self).get("context", {}))
        for key, value in (converted if isinstance(converted, dict) else {}).items():
            if key in _PROBLEM_MEMBERS or key in problem or not _EXTENSION_NAME.match(key):
                leftovers[key] = value
            else:
                problem[key] = value
        if leftovers:
            problem["context"] = leftovers
        return problem

    @property
    def http_status(self) -> int:
        """The HTTP status this occurrence maps to (the class's ``status``)."""
        return self.status

    def _problem_status(self) -> int:
        try:
            return self.http_status
        except Exception:  # noqa: BLE001 - e.g. a subclass that skipped __init__: the class's
            return self.status


class ValidationError(PortfolioError):
    """Input failed validation; names the field and the offending value.

    >>> e = ValidationError("Age cannot be negative", field="age", value=-1)
    >>> e.field, e.value, e.to_problem()["status"]
    ('age', -1, 422)
    """

    status = 422
    title = "Validation failed"

    def __init__(
        self, message: str, /, *, field: str | None = None, value: Any = _UNSET, **context: Any
    ) -> None:
        if field is not None:
            context["field"] = field
        if value is not _UNSET:
            context["value"] = value
        super().__init__(message, **context)

    @property
    def field(self) -> str | None:
        """The name of the field that failed, if known."""
        return self.context.get("field")

    @property
    def value(self) -> Any:
        """The offending value (``None`` when none was given)."""
        return self.context.get("value")


class RateLimitError(PortfolioError):
    """A rate limit was hit; ``retry_after`` says how many seconds to wait.

    ``pmp_decorators.retry`` waits at least ``retry_after`` before the next attempt.

    >>> RateLimitError("Too many requests", retry_after=60.0, limit=100).retry_after
    60.0
    """

    status = 429
    title = "Rate limit exceeded"

    def __init__(
        self,
        message: str,
        /,
        *,
        retry_after: float | None = None,
        limit: int | None = None,
        **context: Any,
    ) -> None:
        if retry_after is not None:
            context["retry_after"] = retry_after
        if limit is not None:
            context["limit"] = limit
        super().__init__(message, **context)

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, if known."""
        return self.context.get("retry_after")

    @property
    def limit(self) -> int | None:
        """The limit that was exceeded, if known."""
        return self.context.get("limit")


class ConfigurationError(PortfolioError):
    """The program is configured wrongly; ``config_key`` names the setting.

    >>> ConfigurationError("Missing API key", config_key="API_KEY").config_key
    'API_KEY'
    """

    title = "Configuration error"

    def __init__(self, message: str, /, *, config_key: str | None = None, **context: Any) -> None:
        if config_key is not None:
            context["config_key"] = config_key
        super().__init__(message, **context)

    @property
    def config_key(self) -> str | None:
        """The configuration key at fault, if known."""
        return self.context.get("config_key")


class DataProcessingError(PortfolioError):
    """A data-processing step failed; names the ``step`` and the ``row_index``.

    >>> DataProcessingError("Failed to process row", step="validation", row_index=42).step
    'validation'
    """

    title = "Data processing failed"

    def __init__(
        self,
        message: str,
        /,
        *,
        step: str | int | None = None,
        row_index: int | None = None,
        **context: Any,
    ) -> None:
        if step is not None:
            context["step"] = step
        if row_index is not None:
            context["row_index"] = row_index
        super().__init__(message, **context)

    @property
    def step(self) -> str | int | None:
        """The step (name or position) that failed, if known."""
        return self.context.get("step")

    @property
    def row_index(self) -> int | None:
        """The index of the row being processed, if known."""
        return self.context.get("row_index")


class APIError(PortfolioError):
    """A call to an API failed; carries the ``status_code`` and ``endpoint``.

    ``to_problem()`` uses ``status_code`` as its status when it is an HTTP error
    code (400-599), and 502 otherwise.

    >>> APIError("Upstream failed", status_code=503, endpoint="/users").to_problem()["status"]
    503
    """

    status = 502
    title = "Upstream API error"

    def __init__(
        self,
        message: str,
        /,
        *,
        status_code: int | None = None,
        endpoint: str | None = None,
        **context: Any,
    ) -> None:
        if status_code is not None:
            context["status_code"] = status_code
        if endpoint is not None:
            context["endpoint"] = endpoint
        super().__init__(message, **context)

    @property
    def status_code(self) -> int | None:
        """The HTTP status code the API answered with, if any."""
        return self.context.get("status_code")

    @property
    def endpoint(self) -> str | None:
        """The endpoint that was called, if known."""
        return self.context.get("endpoint")

    @property
    def http_status(self) -> int:
        """``status_code`` when it is an HTTP error code, else 502."""
        code = self.status_code
        if isinstance(code, int) and 400 <= code <= 599:  # noqa: PLR2004
            return code
        return self.status
