"""Ready-made ``on_event`` / ``on_error`` hooks: the shared base of the instruments.

A cache reports to one callable (``on_event(kind, key)``; a Redis cache also
``on_error(operation, exc)``). An instrument hands out such callables, one per cache
name, that count or log the event and never let an error of their own reach the
cache: the first one is logged on ``pmp_cache.instrumentation``, later ones are not.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["EVENTS", "CacheInstrument", "error_type", "missing_extra"]

LOGGER = logging.getLogger("pmp_cache.instrumentation")
"""Where a failing instrument is reported (once per instrument)."""

EVENTS = ("hit", "miss", "eviction", "expiration", "stale")
"""The kinds a cache reports to ``on_event``."""


class CacheInstrument:
    """Base of the ready instruments: ``events(name)`` and ``errors(name)`` make the hooks.

    Subclasses implement :meth:`event` and :meth:`error`.
    """

    __slots__ = ("_lock", "_reported")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reported = False

    def events(self, name: str) -> Callable[[str, object], None]:
        """An ``on_event`` hook for the cache called ``name``."""
        _check_name(name)
        record = self.event_recorder(name)

        def on_event(kind: str, key: object) -> None:
            del key  # keys may be large or private: never recorded
            try:
                record(kind)
            except Exception as exc:  # noqa: BLE001 - an instrument never breaks the cache
                self._report(exc)

        return on_event

    def errors(self, name: str) -> Callable[[str, BaseException | None], None]:
        """An ``on_error`` hook for the Redis cache called ``name``."""
        _check_name(name)

        def on_error(operation: str, exc: BaseException | None) -> None:
            try:
                self.error(name, operation, exc)
            except Exception as broken:  # noqa: BLE001 - an instrument never breaks the cache
                self._report(broken)

        return on_error

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """What records an event of cache ``name`` (bound once per cache, for speed)."""
        raise NotImplementedError

    def error(self, name: str, operation: str, exc: BaseException | None) -> None:
        """Record a failed backend ``operation`` of cache ``name``."""
        raise NotImplementedError

    def _report(self, exc: Exception) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
        LOGGER.error(
            "instrument %s raised; the cache went on, and its later errors are not reported",
            type(self).__qualname__,
            exc_info=exc,
        )


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValidationError(
            f"name must be a non-empty str naming the cache, got {name!r}",
            field="name",
            value=name,
            expected="non-empty str",
        )


def error_type(exc: BaseException | None) -> str:
    """The class of a backend error as a label (``none`` when there is no exception)."""
    if exc is None:
        return "none"
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def missing_extra(module: str, library: str, extra: str) -> ConfigurationError:
    """The error raised when importing integration ``module`` finds no ``library``."""
    return ConfigurationError(
        f"{module} needs {library}: pip install 'pmp-cache[{extra}]'",
        config_key=f"pmp-cache[{extra}]",
    )
