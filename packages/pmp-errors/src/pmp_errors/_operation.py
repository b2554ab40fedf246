"""The errors of a program's operation: its configuration, a processing step, an upstream API."""

from __future__ import annotations

from typing import Any, cast

from pmp_errors._core import PortfolioError, context_entry

__all__ = ["APIError", "ConfigurationError", "DataProcessingError"]


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
        return context_entry(self, "config_key", str)


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
        return cast("str | int | None", context_entry(self, "step", (str, int)))

    @property
    def row_index(self) -> int | None:
        """The index of the row being processed, if known."""
        return context_entry(self, "row_index", int)


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
        return context_entry(self, "status_code", int)

    @property
    def endpoint(self) -> str | None:
        """The endpoint that was called, if known."""
        return context_entry(self, "endpoint", str)
