"""The structured exception hierarchy shared by every pmp package."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from pmp_errors._chain import ErrorDict, exception_to_dict
from pmp_errors._json import JSONValue, Walk, safe_repr
from pmp_errors._pickling import restore, slot_values
from pmp_errors._problem import (
    ABOUT_BLANK,
    check_base,
    check_code,
    check_names,
    check_text,
    is_error_status,
    problem_detail,
    public_context,
    public_error,
    render_problem,
    retry_after_header,
)
from pmp_errors._registry import register

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "APIError",
    "ConfigurationError",
    "DataProcessingError",
    "PortfolioError",
    "RateLimitError",
    "ValidationError",
]

T = TypeVar("T")
_UNSET: Any = object()


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _entry(error: PortfolioError, key: str, kind: type[T] | tuple[type[T], ...]) -> T | None:
    """The context entry *key* if it is of *kind* (never a ``bool`` for a number), else None.

    Errors rebuilt from received documents hold whatever the sender put there.
    """
    value = error.context.get(key)
    if isinstance(value, kind) and (kind is str or not isinstance(value, bool)):
        return value
    return None


def _as_text(message: object) -> str:
    """Keep a non-str message (a common slip) readable rather than failing."""
    return message if isinstance(message, str) else safe_repr(message)


class PortfolioError(Exception):
    """Base class of every pmp exception: a message plus a JSON-safe context.

    ``code`` is a stable snake_case identifier per class, ``status`` the HTTP
    status used by :meth:`to_problem`. Subclasses get both automatically from
    their name; set them in the class body to choose your own. ``public`` names
    the context entries that :meth:`to_problem` may show to clients; the raiser
    can add more with :meth:`expose`.

    >>> e = PortfolioError("Payment failed", order_id=42)
    >>> e.message, e.context, e.code
    ('Payment failed', {'order_id': 42}, 'portfolio_error')
    >>> e.to_dict()["context"]
    {'order_id': 42}
    """

    code: ClassVar[str] = "portfolio_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    public: ClassVar[frozenset[str]] = frozenset()
    problem_base: ClassVar[str] = ABOUT_BLANK
    server_detail: ClassVar[str] = "The server could not complete the request."
    message: str
    context: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            cls.code = check_code(cls.__dict__["code"], field=f"{cls.__name__}.code")
        else:
            cls.code = _snake(cls.__name__)
        if "title" not in cls.__dict__:
            cls.title = cls.code.replace("_", " ").capitalize()
        for name in ("title", "server_detail"):
            if name in cls.__dict__:
                check_text(cls.__dict__[name], field=f"{cls.__name__}.{name}")
        if "status" in cls.__dict__ and not is_error_status(cls.status):
            msg = f"{cls.__name__}.status must be an HTTP error status (an int 400-599), got"
            msg += f" {safe_repr(cls.status)}"
            raise ValidationError(msg, field=f"{cls.__name__}.status", value=cls.status)
        if "public" in cls.__dict__:
            cls.public = check_names(cls.__dict__["public"], field=f"{cls.__name__}.public")
        if "problem_base" in cls.__dict__:
            cls.problem_base = check_base(cls.problem_base, field=f"{cls.__name__}.problem_base")
        register(cls)

    def __init__(self, message: str, /, **context: Any) -> None:
        super().__init__(message)
        self.message = _as_text(message)
        self.context = context

    def expose(self, *names: str) -> Self:
        """Mark the context entries *names* as public for this error, and return it.

        >>> e = ValidationError("Unknown colour", field="colour", value="purpl").expose("value")
        >>> e.to_problem()["value"], sorted(e.exposed)
        ('purpl', ['field', 'value'])

        Raises:
            ValidationError: a name is not a ``str``.
        """
        extra = check_names(names, field="expose()")
        self._public: frozenset[str] = vars(self).get("_public", frozenset()) | extra
        return self

    @property
    def exposed(self) -> frozenset[str]:
        """The context keys :meth:`to_problem` shows: the class's ``public``, and any exposed."""
        extra: frozenset[str] = vars(self).get("_public", frozenset())
        return self.public | extra

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
        # BaseException.__setstate__ sets every entry as an attribute: slots included
        state = {**slot_values(self), **self.__dict__}
        if isinstance(state.get("context"), dict):
            state["context"] = dict(state["context"])
        return (restore, (type(self), self.args), state)

    def to_dict(self) -> ErrorDict:
        """Return the error as JSON-safe data for logs; never raises.

        The full internal record: ``type``, ``code``, ``message`` (``str(self)``), the whole
        ``context`` (public or not), ``notes`` and, when the error was raised from
        another, ``cause`` in the same shape. No traceback and no local variables are
        ever included. Send :meth:`to_problem` to clients, never this.

        >>> import json
        >>> json.dumps(ValidationError("bad", field="age", value=float("nan")).to_dict())
        '{"type": "ValidationError", "code": "validation_error", "message": "bad", "context": {"field": "age", "value": "NaN"}, "notes": []}'
        """  # noqa: E501
        return exception_to_dict(self)

    def to_problem(
        self, *, instance: str | None = None, base: str | None = None
    ) -> dict[str, JSONValue]:
        """Return RFC 9457 problem details (``application/problem+json``), safe to send.

        Only the context entries named by the class's ``public`` or by
        :meth:`expose` become extension members (those whose names RFC 9457 would not
        allow go under ``context``); an error inside them shows only its ``code``,
        ``status``, ``detail`` and public context. A 5xx problem's ``detail`` is the class's generic
        ``server_detail``, never the message. ``type`` is ``about:blank`` (and the
        ``title`` the status's reason phrase) unless ``base`` or the class's
        ``problem_base`` gives the https:// URL of your documentation: the type is
        then that URL followed by ``code``. ``code`` is always a member.

        >>> p = ValidationError("Too short", field="password", value="hunter2").to_problem()
        >>> p["type"], p["status"], p["detail"], p["code"], p["field"], "value" in p
        ('about:blank', 422, 'Too short', 'validation_error', 'password', False)
        >>> RateLimitError("Slow down", retry_after=30.0).to_problem(
        ...     base="https://example.com/errors/"
        ... )["type"]
        'https://example.com/errors/rate_limit_error'

        Raises:
            ValidationError: ``base`` is not ``about:blank`` or an https:// URL, or
                ``instance`` is not a ``str``.
        """
        if instance is not None and not isinstance(instance, str):
            msg = f"instance must be a URI reference (a str) or None, got {safe_repr(instance)}"
            raise ValidationError(msg, field="instance", value=instance)
        status = self._problem_status()
        return render_problem(
            base=self.problem_base if base is None else check_base(base, field="base"),
            code=self.code,
            title=self.title,
            status=status,
            detail=problem_detail(self, status),
            instance=instance,
            extensions=public_context(self),
            walk=Walk(public_error),
        )

    @property
    def http_status(self) -> int:
        """The HTTP status a response to this error carries (the class's ``status``).

        A ``status`` set on the error itself counts when it is an HTTP error status.
        """
        status = self.status
        return status if is_error_status(status) else type(self).status

    @property
    def http_headers(self) -> dict[str, str]:
        """The HTTP headers a response to this error carries (none by default).

        >>> RateLimitError("Slow down", retry_after=2.5).http_headers
        {'Retry-After': '3'}
        """
        return {}

    def _problem_status(self) -> int:
        try:
            status = self.http_status
        except Exception:  # noqa: BLE001 - e.g. a subclass that skipped __init__: the class's
            return type(self).status
        return status if is_error_status(status) else type(self).status


register(PortfolioError)


class ValidationError(PortfolioError):
    """Input failed validation; names the field and the offending value.

    ``field`` is public (shown by :meth:`to_problem`); ``value`` is not, since it
    may be a password or a token: call ``.expose("value")`` to show it.

    >>> e = ValidationError("Age cannot be negative", field="age", value=-1)
    >>> e.field, e.value, e.to_problem()["status"], "value" in e.to_problem()
    ('age', -1, 422, False)
    """

    status = 422
    title = "Validation failed"
    public = frozenset({"field"})

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
        return _entry(self, "field", str)

    @property
    def value(self) -> Any:
        """The offending value (``None`` when none was given)."""
        return self.context.get("value")


class RateLimitError(PortfolioError):
    """A rate limit was hit; ``retry_after`` says how many seconds to wait.

    ``pmp_decorators.retry`` waits at least ``retry_after`` before the next attempt;
    a response to it carries ``Retry-After`` (see :attr:`http_headers`). Both
    ``retry_after`` and ``limit`` are public.

    >>> RateLimitError("Too many requests", retry_after=60.0, limit=100).retry_after
    60.0
    """

    status = 429
    title = "Rate limit exceeded"
    public = frozenset({"retry_after", "limit"})

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
        return _entry(self, "retry_after", (int, float))

    @property
    def limit(self) -> int | None:
        """The limit that was exceeded, if known."""
        return _entry(self, "limit", int)

    @property
    def http_headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds (rounded up) when ``retry_after`` is known.

        Negative waits give 0; waits beyond ``2**31 - 1`` seconds (68 years) give that,
        which every client can parse.

        >>> RateLimitError("Slow down", retry_after=0.2).http_headers
        {'Retry-After': '1'}
        """
        return retry_after_header(vars(self).get("context", {}).get("retry_after"))


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
        return _entry(self, "config_key", str)


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
        return cast("str | int | None", _entry(self, "step", (str, int)))

    @property
    def row_index(self) -> int | None:
        """The index of the row being processed, if known."""
        return _entry(self, "row_index", int)


class APIError(PortfolioError):
    """A call to another service failed; carries its ``status_code`` and the ``endpoint``.

    The upstream's answer is not ours: the problem's status is the class's
    ``status`` (502 Bad Gateway; set another in a subclass, e.g. 504 for
    timeouts), never ``status_code``, and neither ``status_code`` nor ``endpoint``
    is shown to clients.

    >>> APIError("Upstream said 401", status_code=401, endpoint="/users").to_problem()["status"]
    502
    """

    status = 502
    title = "Upstream API error"
    server_detail = "An upstream service failed; try again later."

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
        return _entry(self, "status_code", int)

    @property
    def endpoint(self) -> str | None:
        """The endpoint that was called, if known."""
        return _entry(self, "endpoint", str)
