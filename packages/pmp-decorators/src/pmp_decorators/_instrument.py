"""One hook mechanism for retries and timings: instruments installed for the whole process.

:func:`set_instrumentation` hands a :class:`Dispatch` of the installed instruments to
the retry core and to the timing wrappers, which keep it in a module global: with
none installed, each hot path pays one ``is not None`` test. The dispatch calls every
instrument in turn and shields the caller from them: an instrument that raises is
reported once through logging and the call goes on unchanged.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import weakref
from typing import TYPE_CHECKING

from pmp_decorators import _block, _retry_core, _timing
from pmp_decorators._settings import Layers, Restorer
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pmp_decorators._retry_policy import RetryState

__all__ = [
    "Dispatch",
    "Instrument",
    "error_type",
    "missing_extra",
    "outcome",
    "release",
    "set_instrumentation",
]

LOGGER = logging.getLogger("pmp_decorators.instrumentation")
"""Where a failing instrument is reported (once per instrument and method)."""

_REPORTED: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
"""The methods of each instrument whose first error was logged, however often it is installed."""
_REPORTED_BY_ID: set[tuple[int, str]] = set()  # instruments that cannot be weakly referenced
_REPORTED_LOCK = threading.Lock()

_FAILED = object()  # the token of a timing_started that raised: its timing_ended is skipped


class Instrument:
    """Observes retries and timings; subclass it and override the events you want.

    Install instances with :func:`set_instrumentation`. Every method is optional and
    runs in the thread (or task) of the observed call; an exception it raises never
    reaches that call: the first one of each method of an instrument is logged on
    ``pmp_decorators.instrumentation``, later ones are not, even after reinstalling it.
    Ready-made instruments live in ``pmp_decorators.integrations``: ``opentelemetry``,
    ``prometheus`` and ``logging``.

    >>> from pmp_decorators import retry
    >>> from pmp_decorators.instrumentation import Instrument, set_instrumentation
    >>> class Count(Instrument):
    ...     retries = 0
    ...
    ...     def retry_scheduled(self, state):
    ...         self.retries += 1
    >>> count = Count()
    >>> @retry(max_attempts=3, delay=0.0)
    ... def flaky(outcomes=[OSError("down"), "ok"]):
    ...     outcome = outcomes.pop(0)
    ...     if isinstance(outcome, Exception):
    ...         raise outcome
    ...     return outcome
    >>> with set_instrumentation(count):
    ...     flaky()
    'ok'
    >>> count.retries
    1
    """

    __slots__ = ("__weakref__",)

    def retry_scheduled(self, state: RetryState) -> None:
        """An attempt failed; the next one starts after ``state.wait`` seconds."""

    def retry_gave_up(self, state: RetryState) -> None:
        """The last attempt failed: ``state.exception`` (or ``state.result``) goes out."""

    def timing_started(self, name: str) -> object:
        """A ``timed`` call or ``measure_block`` named ``name`` starts.

        What it returns is handed to :meth:`timing_ended` of the same call (a span).
        """
        del name
        return None

    def timing_ended(
        self, name: str, token: object, elapsed_ns: int, error: BaseException | None
    ) -> None:
        """The call or block ended after ``elapsed_ns``, raising ``error`` (or not).

        ``outcome(error)`` (in ``pmp_decorators.instrumentation``) tells an error from a
        cancellation.
        """


def error_type(state: RetryState) -> str:
    """What failed, as a metric label: the exception's class, or ``rejected_result``.

    Builtin classes by name (``OSError``), others as ``module.QualName``.
    """
    exc = state.exception
    if exc is None:
        return "rejected_result"
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def outcome(error: BaseException | None) -> str:
    """How a timed call or block ended: ``ok``, ``error`` or ``cancelled``.

    ``error`` is an ``Exception``; ``cancelled`` any other ``BaseException``
    (``asyncio.CancelledError``, ``KeyboardInterrupt``), which is not an error of the call.

    >>> import asyncio
    >>> outcome(None), outcome(ValueError()), outcome(asyncio.CancelledError())
    ('ok', 'error', 'cancelled')
    """
    if error is None:
        return "ok"
    return "error" if isinstance(error, Exception) else "cancelled"


def release(distribution: str) -> str | None:
    """The installed version of ``distribution``; ``None`` when it runs from a source tree."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_extra(module: str, library: str, extra: str) -> ConfigurationError:
    """The error raised when importing integration ``module`` finds no ``library``."""
    return ConfigurationError(
        f"{module} needs {library}: pip install 'pmp-decorators[{extra}]'",
        config_key=f"pmp-decorators[{extra}]",
    )


def _overrides(instrument: Instrument, event: str) -> bool:
    return getattr(type(instrument), event) is not getattr(Instrument, event)


class Dispatch:
    """The installed instruments, called in turn; errors they raise are reported once."""

    __slots__ = ("gave_up", "instruments", "scheduled", "timers")

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self.instruments = tuple(instruments)
        self.scheduled = self._hooks("retry_scheduled")
        self.gave_up = self._hooks("retry_gave_up")
        self.timers = tuple(
            (instrument.timing_started, instrument.timing_ended)
            for instrument in self.instruments
            if _overrides(instrument, "timing_started") or _overrides(instrument, "timing_ended")
        )

    def _hooks(self, event: str) -> tuple[Callable[[RetryState], object], ...]:
        return tuple(
            getattr(instrument, event)
            for instrument in self.instruments
            if _overrides(instrument, event)
        )

    def retry_scheduled(self, state: RetryState) -> None:
        """Tell every instrument that a retry is scheduled."""
        for hook in self.scheduled:
            self.shielded(hook, state)

    def retry_gave_up(self, state: RetryState) -> None:
        """Tell every instrument that retrying gave up."""
        for hook in self.gave_up:
            self.shielded(hook, state)

    def timing_started(self, name: str) -> list[object]:
        """Start a timing in every instrument; returns their tokens, in order."""
        return [self.shielded(started, name) for started, _ in self.timers]

    def timing_ended(
        self, name: str, tokens: list[object], elapsed_ns: int, error: BaseException | None
    ) -> None:
        """End the timing in every instrument that started it, the last started first."""
        for (_, ended), token in zip(reversed(self.timers), reversed(tokens), strict=True):
            if token is not _FAILED:
                self.shielded(ended, name, token, elapsed_ns, error)

    def shielded(self, hook: Callable[..., object], *args: object) -> object:
        """``hook(*args)``; if it raises, the error is reported and a marker returned."""
        try:
            return hook(*args)
        except Exception as exc:  # noqa: BLE001 - an instrument never breaks the call
            self.report(hook, exc)
            return _FAILED

    def report(self, hook: Callable[..., object], exc: Exception) -> None:
        """Log ``exc`` raised by ``hook``, the first time that method of its instrument raises."""
        owner = getattr(hook, "__self__", hook)
        event = getattr(hook, "__name__", "hook")
        with _REPORTED_LOCK:
            try:
                reported = _REPORTED.setdefault(owner, set())
            except TypeError:  # unhashable, say: remembered by identity
                reported = {name for key, name in _REPORTED_BY_ID if key == id(owner)}
                _REPORTED_BY_ID.add((id(owner), event))
            if event in reported:
                return
            reported.add(event)
        LOGGER.error(
            "instrument %s raised in %s; the observed call went on, and later errors "
            "of this hook are not reported",
            type(owner).__qualname__,
            event,
            exc_info=exc,
        )


def _install(dispatch: Dispatch | None) -> None:
    _timing.use_hooks(dispatch)
    _block.use_hooks(dispatch)
    _retry_core.use_hooks(dispatch)


_INSTALLED: Layers[Dispatch | None] = Layers(_install, base=None)


def set_instrumentation(*instruments: Instrument) -> Restorer:
    """Install ``instruments`` for every retry, ``timed`` call and ``measure_block``.

    They replace those installed before; with no argument instrumentation is off,
    which is the default (then each hot path pays one ``is not None`` test). The
    change applies at once, also to functions decorated earlier; used in a ``with``
    statement it is undone on exit. Undoing puts back what the latest call still in
    force installed, in whatever order calls are undone (undoing one that a later call
    covers only takes it out from under that call); undoing twice does nothing.

    >>> from pmp_decorators.instrumentation import Instrument, set_instrumentation
    >>> with set_instrumentation(Instrument()):
    ...     pass  # retries and timings are reported to the instrument here
    """
    for instrument in instruments:
        if not isinstance(instrument, Instrument):
            raise ValidationError(
                f"set_instrumentation takes Instrument objects (subclass "
                f"pmp_decorators.instrumentation.Instrument), got {instrument!r}",
                field="instruments",
                value=instrument,
                expected="Instrument",
            )
    return _INSTALLED.push(Dispatch(instruments) if instruments else None)
