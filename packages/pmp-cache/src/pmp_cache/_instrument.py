"""Ready-made ``on_event`` / ``on_error`` hooks: the shared base of the instruments.

A cache reports to one callable (``on_event(kind, key)``; a Redis cache also
``on_error(operation, exc)``). An instrument hands out such callables, one per cache
name, that count or log the event and never let an error of their own reach the
cache: the first error of each kind of hook (``on_event``, ``on_error``) of an
instrument is logged on ``pmp_cache.instrumentation``, later ones are not.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Generic, TypeVar

from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["EVENTS", "CacheInstrument", "PerOwner", "error_type", "missing_extra", "release"]

V = TypeVar("V")

LOGGER = logging.getLogger("pmp_cache.instrumentation")
"""Where a failing instrument is reported (once per instrument and kind of hook)."""

EVENTS = ("hit", "miss", "eviction", "expiration", "stale")
"""The kinds a cache reports to ``on_event``."""


class CacheInstrument:
    """Base of the ready instruments: ``events(name)`` and ``errors(name)`` make the hooks.

    Subclasses implement :meth:`event` and :meth:`error`.
    """

    __slots__ = ("_lock", "_reported")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reported: set[str] = set()  # the hooks whose first error was logged

    def events(self, name: str) -> Callable[[str, object], None]:
        """An ``on_event`` hook for the cache called ``name``."""
        _check_name(name)
        record = self.event_recorder(name)

        def on_event(kind: str, key: object) -> None:
            del key  # keys may be large or private: never recorded
            try:
                record(kind)
            except Exception as exc:  # noqa: BLE001 - an instrument never breaks the cache
                self._report("on_event", exc)

        return on_event

    def errors(self, name: str) -> Callable[[str, BaseException | None], None]:
        """An ``on_error`` hook for the Redis cache called ``name``."""
        _check_name(name)

        def on_error(operation: str, exc: BaseException | None) -> None:
            try:
                self.error(name, operation, exc)
            except Exception as broken:  # noqa: BLE001 - an instrument never breaks the cache
                self._report("on_error", broken)

        return on_error

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """What records an event of cache ``name`` (bound once per cache, for speed)."""
        raise NotImplementedError

    def error(self, name: str, operation: str, exc: BaseException | None) -> None:
        """Record a failed backend ``operation`` of cache ``name``."""
        raise NotImplementedError

    def _report(self, hook: str, exc: Exception) -> None:
        with self._lock:
            if hook in self._reported:
                return
            self._reported.add(hook)
        LOGGER.error(
            "instrument %s raised in %s; the cache went on, and later errors of this "
            "instrument's %s hooks are not reported",
            type(self).__qualname__,
            hook,
            hook,
            exc_info=exc,
        )


class PerOwner(Generic[V]):
    """One value per owner (a meter provider, a metrics registry), made on first use.

    Owners are held weakly where they allow it, so a dropped registry takes its value with it.
    """

    __slots__ = ("_lock", "_strong", "_weak")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._weak: weakref.WeakKeyDictionary[object, V] = weakref.WeakKeyDictionary()
        self._strong: dict[int, tuple[object, V]] = {}  # owners that refuse weak references

    def find(self, owner: object) -> V | None:
        """The value of ``owner``, or ``None`` if none was made yet."""
        with self._lock:
            try:
                return self._weak.get(owner)
            except TypeError:
                kept = self._strong.get(id(owner))
                return None if kept is None else kept[1]

    def get(self, owner: object, make: Callable[[], V]) -> V:
        """The value of ``owner``; ``make()`` (called under the lock) makes the first one."""
        with self._lock:
            value = self.find(owner)
            if value is None:
                value = make()
                try:
                    self._weak[owner] = value
                except TypeError:
                    self._strong[id(owner)] = (owner, value)
            return value


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


def release(distribution: str) -> str | None:
    """The installed version of ``distribution``; ``None`` when it runs from a source tree."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_extra(module: str, library: str, extra: str) -> ConfigurationError:
    """The error raised when importing integration ``module`` finds no ``library``."""
    return ConfigurationError(
        f"{module} needs {library}: pip install 'pmp-cache[{extra}]'",
        config_key=f"pmp-cache[{extra}]",
    )
