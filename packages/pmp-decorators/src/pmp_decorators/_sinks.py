"""Where timings are logged: a ``logging.Logger``, a ``LoggerAdapter`` or a look-alike."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pmp_errors import ValidationError

__all__ = ["LoggerLike", "Sink", "check_logging"]

DEFAULT_LOGGER = logging.getLogger("pmp_decorators.timing")
"""Where timings go unless a ``logger`` is given: ``pmp_decorators.timing``."""


class LoggerLike(Protocol):
    """Anything with a logger's ``log(level, msg, *args, **fields)`` (a structlog logger)."""

    def log(self, level: int, msg: str, /, *args: Any, **kwargs: Any) -> Any: ...


class Sink(Protocol):
    """What timing calls: the subset of ``logging.Logger`` it uses."""

    def isEnabledFor(self, level: int) -> bool: ...  # noqa: N802 - the logging name

    def log(
        self, level: int, msg: str, /, *args: object, extra: dict[str, object], stacklevel: int
    ) -> None: ...


class _AdapterSink:
    """A ``logging.LoggerAdapter``: its ``process`` runs and its ``extra`` is merged with ours.

    (``LoggerAdapter.log`` would replace our ``extra`` with the adapter's own.)
    """

    __slots__ = ("adapter",)

    def __init__(self, adapter: logging.LoggerAdapter[Any]) -> None:
        self.adapter = adapter

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - the logging name
        return self.adapter.isEnabledFor(level)

    def log(
        self, level: int, msg: str, /, *args: object, extra: dict[str, object], stacklevel: int
    ) -> None:
        msg, kwargs = self.adapter.process(msg, {})
        merged = {**(kwargs.get("extra") or {}), **extra}
        self.adapter.logger.log(level, msg, *args, extra=merged, stacklevel=stacklevel + 1)


class _DuckSink:
    """Any object with ``log(level, msg, *args, **fields)``; the fields go as keywords.

    Its ``isEnabledFor`` (or structlog's ``is_enabled_for``) is asked first when it
    has one, so a disabled level costs no formatting.
    """

    __slots__ = ("enabled", "logger")

    def __init__(self, logger: LoggerLike) -> None:
        self.logger = logger
        enabled = getattr(logger, "isEnabledFor", None) or getattr(logger, "is_enabled_for", None)
        self.enabled = enabled if callable(enabled) else None

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - the logging name
        return self.enabled is None or bool(self.enabled(level))

    def log(
        self, level: int, msg: str, /, *args: object, extra: dict[str, object], stacklevel: int
    ) -> None:
        del stacklevel  # only the logging module knows stack levels
        self.logger.log(level, msg, *args, **extra)


def check_logging(logger: object, level: object) -> Sink:
    """The sink for ``logger`` (``None``: the default logger); errors name the argument."""
    if not isinstance(level, int) or isinstance(level, bool):
        raise ValidationError(
            f"level must be a logging level (int), got {level!r}",
            field="level",
            value=level,
            expected="int",
        )
    if logger is None:
        return DEFAULT_LOGGER
    if isinstance(logger, logging.Logger):
        return logger
    if isinstance(logger, logging.LoggerAdapter):
        return _AdapterSink(logger)
    if callable(getattr(logger, "log", None)):
        return _DuckSink(logger)  # type: ignore[arg-type]
    expected = "logging.Logger | logging.LoggerAdapter | an object with log(level, msg, ...)"
    raise ValidationError(
        f"logger must be a logging.Logger, a LoggerAdapter or an object with a "
        f"log(level, msg, *args, **fields) method (a structlog logger), got {logger!r}",
        field="logger",
        value=logger,
        expected=expected,
    )
