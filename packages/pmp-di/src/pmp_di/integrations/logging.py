"""Failed resolutions as structured log records: stdlib ``logging`` or structlog.

Install with ``set_instrumentation(LoggingInstrument())``; no extra is needed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol, cast

from pmp_di._instrument import Instrument
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from pmp_di._errors import DependencyInjectionError

__all__ = ["LoggingInstrument"]


class _LoggerLike(Protocol):
    def log(self, level: int, msg: str, /, *args: object, **fields: object) -> object: ...


class LoggingInstrument(Instrument):
    """Log each failed resolution at ``level`` (default ``WARNING``).

    ``logger`` (default ``pmp_di``) is a ``logging.Logger``, a ``LoggerAdapter`` (its
    ``extra`` is kept) or a structlog logger (any object with
    ``log(level, msg, *args, **fields)``). Records carry ``extra`` fields (keywords for
    structlog): ``service``, ``error_type``, ``error`` (the message) and ``path``.

    >>> import logging
    >>> from pmp_di import DIContainer
    >>> from pmp_di.instrumentation import set_instrumentation
    >>> records = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record):
    ...         records.append(record)
    >>> logger = logging.getLogger("doc.di")
    >>> logger.addHandler(Keep())
    >>> class Repo: ...
    >>> with set_instrumentation(LoggingInstrument(logger)):
    ...     try:
    ...         DIContainer().resolve(Repo)
    ...     except LookupError:
    ...         pass
    >>> [(r.levelname, r.service, r.error_type) for r in records]
    [('WARNING', 'Repo', 'MissingDependencyError')]
    """

    __slots__ = ("_level", "_logger")

    def __init__(self, logger: Any = None, *, level: int = logging.WARNING) -> None:
        if logger is None:
            logger = logging.getLogger("pmp_di")
        if not callable(getattr(logger, "log", None)):
            raise ValidationError(
                f"logger must be a logging.Logger, a LoggerAdapter or an object with a "
                f"log(level, msg, *args, **fields) method (a structlog logger), got {logger!r}",
                field="logger",
                value=logger,
                expected="logging.Logger | logging.LoggerAdapter | structlog logger",
            )
        if not _is_level(level):
            raise ValidationError(
                f"level must be a logging level (int), got {level!r}",
                field="level",
                value=level,
                expected="int",
            )
        self._logger = logger
        self._level = level

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Log the failure with its fields."""
        fields: dict[str, object] = {
            "service": service,
            "error_type": type(error).__name__,
            "error": error.message,
            "path": error.path,
        }
        logger: object = self._logger
        level, msg = self._level, "resolving %s failed: %s"
        if isinstance(logger, logging.LoggerAdapter):
            adapter = cast("logging.LoggerAdapter[logging.Logger]", logger)
            msg, kwargs = adapter.process(msg, {})
            fields = {**(kwargs.get("extra") or {}), **fields}
            logger = adapter.logger
        if isinstance(logger, logging.Logger):
            if logger.isEnabledFor(level):
                logger.log(level, msg, service, error.message, extra=fields)
        else:
            cast("_LoggerLike", logger).log(level, msg, service, error.message, **fields)


def _is_level(level: object) -> bool:
    return isinstance(level, int) and not isinstance(level, bool)
