"""Cache events as structured log records: stdlib ``logging`` or structlog (no extra)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pmp_cache._instrument import CacheInstrument, error_type
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LoggingInstrument"]


class LoggingInstrument(CacheInstrument):
    """Log each cache event at ``level`` (``DEBUG``) and backend errors at ``error_level``.

    ``logger`` (default ``pmp_cache``) is a ``logging.Logger``, a ``LoggerAdapter`` or a
    structlog logger (any object with ``log(level, msg, *args, **fields)``). Records
    carry ``extra`` fields (keywords for structlog): ``cache`` and ``kind`` (the event); for backend
    errors ``cache``, ``operation``, ``error_type`` and ``error``. Keys are never logged.

    >>> import logging
    >>> from pmp_cache import cache
    >>> records = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record):
    ...         records.append(record)
    >>> logger = logging.getLogger("doc.cache")
    >>> logger.addHandler(Keep())
    >>> logger.setLevel(logging.DEBUG)
    >>> @cache(maxsize=16, on_event=LoggingInstrument(logger).events("square"))
    ... def square(x):
    ...     return x * x
    >>> square(3), square(3)
    (9, 9)
    >>> [(r.cache, r.kind) for r in records]
    [('square', 'miss'), ('square', 'hit')]
    """

    __slots__ = ("_error_level", "_level", "_logger")

    def __init__(
        self, logger: Any = None, *, level: int = logging.DEBUG, error_level: int = logging.WARNING
    ) -> None:
        super().__init__()
        if logger is None:
            logger = logging.getLogger("pmp_cache")
        if not callable(getattr(logger, "log", None)):
            raise ValidationError(
                f"logger must be a logging.Logger, a LoggerAdapter or an object with a "
                f"log(level, msg, *args, **fields) method (a structlog logger), got {logger!r}",
                field="logger",
                value=logger,
                expected="logging.Logger | logging.LoggerAdapter | structlog logger",
            )
        for value, name in ((level, "level"), (error_level, "error_level")):
            if not _is_level(value):
                raise ValidationError(
                    f"{name} must be a logging level (int), got {value!r}",
                    field=name,
                    value=value,
                    expected="int",
                )
        self._logger = logger
        self._level = level
        self._error_level = error_level

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """Log events of cache ``name``."""

        def record(kind: str) -> None:
            self._log(self._level, "cache %s: %s", (name, kind), {"cache": name, "kind": kind})

        return record

    def error(self, name: str, operation: str, exc: BaseException | None) -> None:
        """Log a failed backend operation."""
        fields: dict[str, object] = {
            "cache": name,
            "operation": operation,
            "error_type": error_type(exc),
            "error": repr(exc),
        }
        self._log(
            self._error_level, "cache %s: backend %s failed: %r", (name, operation, exc), fields
        )

    def _log(
        self, level: int, msg: str, args: tuple[object, ...], fields: dict[str, object]
    ) -> None:
        logger = self._logger
        if isinstance(logger, logging.LoggerAdapter):
            msg, kwargs = logger.process(msg, {})
            fields = {**(kwargs.get("extra") or {}), **fields}
            logger = logger.logger
        if isinstance(logger, logging.Logger):
            if logger.isEnabledFor(level):
                logger.log(level, msg, *args, extra=fields)
        else:
            logger.log(level, msg, *args, **fields)


def _is_level(level: object) -> bool:
    return isinstance(level, int) and not isinstance(level, bool)
