"""Retries as structured log events: stdlib ``logging`` or structlog (no extra needed).

Install with ``set_instrumentation(LoggingInstrument())``. Timings are logged by
``timed`` and ``measure_block`` themselves (their ``logger=`` takes the same loggers).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pmp_decorators._instrument import Instrument, error_type
from pmp_decorators._sinks import check_logging

if TYPE_CHECKING:
    from pmp_decorators._retry_policy import RetryState
    from pmp_decorators._sinks import LoggerLike

__all__ = ["LoggingInstrument"]


class LoggingInstrument(Instrument):
    """Log each scheduled retry at ``level`` and each give-up at ``give_up_level``.

    ``logger`` (default ``pmp_decorators.retry``) is a ``logging.Logger``, a
    ``LoggerAdapter`` or a structlog logger (any object with
    ``log(level, msg, *args, **fields)``). Records carry ``extra`` fields (keywords for
    structlog) that JSON formatters pick up: ``function``, ``attempt``,
    ``max_attempts``, ``wait`` (``None`` on giving up), ``waited``, ``error_type`` and
    ``error`` (the exception's ``repr``). Nothing is formatted when the level is
    disabled.

    >>> import logging
    >>> from pmp_decorators import retry
    >>> from pmp_decorators.instrumentation import set_instrumentation
    >>> records = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record):
    ...         records.append(record)
    >>> logger = logging.getLogger("doc.retries")
    >>> logger.addHandler(Keep())
    >>> @retry(max_attempts=2, delay=0.0)
    ... def down():
    ...     raise OSError("down")
    >>> with set_instrumentation(LoggingInstrument(logger)):
    ...     try:
    ...         down()
    ...     except OSError:
    ...         pass
    >>> [(r.levelname, r.attempt, r.error_type) for r in records]
    [('WARNING', 1, 'OSError'), ('ERROR', 2, 'OSError')]
    """

    __slots__ = ("_give_up_level", "_level", "_logger")

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter[Any] | LoggerLike | None = None,
        *,
        level: int = logging.WARNING,
        give_up_level: int = logging.ERROR,
    ) -> None:
        if logger is None:
            logger = logging.getLogger("pmp_decorators.retry")
        self._logger = check_logging(logger, level)
        check_logging(logger, give_up_level)
        self._level = level
        self._give_up_level = give_up_level

    def retry_scheduled(self, state: RetryState) -> None:
        """Log that attempt ``state.attempt`` failed and when the next one starts."""
        if self._logger.isEnabledFor(self._level):
            self._logger.log(
                self._level,
                "%s: attempt %d of %d failed (%s), retrying in %.3f s",
                state.function,
                state.attempt,
                state.max_attempts,
                error_type(state),
                state.wait,
                extra=_fields(state),
                stacklevel=1,
            )

    def retry_gave_up(self, state: RetryState) -> None:
        """Log that retrying gave up after ``state.attempt`` attempts."""
        if self._logger.isEnabledFor(self._give_up_level):
            self._logger.log(
                self._give_up_level,
                "%s: gave up after %d attempt(s) (%s)",
                state.function,
                state.attempt,
                error_type(state),
                extra=_fields(state),
                stacklevel=1,
            )


def _fields(state: RetryState) -> dict[str, object]:
    return {
        "function": state.function,
        "attempt": state.attempt,
        "max_attempts": state.max_attempts,
        "wait": state.wait,
        "waited": state.waited,
        "error_type": error_type(state),
        "error": repr(state.exception if state.exception is not None else state.result),
    }
