"""Time function calls and code blocks with ``perf_counter_ns`` and log them lazily."""

from __future__ import annotations

import functools
import logging
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pmp_decorators._callables import refuse_bare_use, refuse_generator
from pmp_decorators._sinks import DEFAULT_LOGGER, check_logging
from pmp_decorators._stats import UNITS, TimingStats, unit_divisor
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine
    from types import TracebackType

    from typing_extensions import Self

    from pmp_decorators._instrument import Dispatch
    from pmp_decorators._sinks import LoggerLike, Sink

__all__ = ["HOOKS", "BlockTimer", "measure_block", "timed", "use_hooks"]

P = ParamSpec("P")
R = TypeVar("R")


_GENERATOR_ADVICE = "time the loop that consumes it with measure_block instead"

HOOKS: Dispatch | None = None
"""The installed instruments (see ``set_instrumentation``), or ``None``: the hot path's test."""


def use_hooks(hooks: Dispatch | None) -> None:
    """Report timings to ``hooks`` from now on (``None``: to nobody)."""
    global HOOKS  # noqa: PLW0603 - one switch, read by every timed call
    HOOKS = hooks


def _bad_name(name: object, expected: str) -> None:
    raise ValidationError(
        f"name must be {expected}, got {name!r}", field="name", value=name, expected=expected
    )


def _check_stats(stats: object) -> None:
    if stats is not None and not isinstance(stats, TimingStats):
        raise ValidationError(
            f"stats must be a TimingStats or None, got {stats!r}",
            field="stats",
            value=stats,
            expected="TimingStats | None",
        )


def timed(
    unit: str = "ms",
    *,
    logger: logging.Logger | logging.LoggerAdapter[Any] | LoggerLike | None = None,
    level: int = logging.DEBUG,
    name: str | None = None,
    stats: TimingStats | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log how long every call takes; works on plain and ``async def`` functions.

    Each call is timed on its own (recursion and threads are fine) with
    ``time.perf_counter_ns``; for a coroutine function the awaited body is timed. One
    record per call goes to ``logger`` (default ``pmp_decorators.timing``) at
    ``level``, with ``extra`` fields ``function``, ``elapsed`` (in ``unit``: ``ns``,
    ``us``, ``ms`` or ``s``), ``elapsed_ns``, ``unit`` and ``raised``; nothing is
    formatted when that level is disabled. ``logger`` may also be a
    ``logging.LoggerAdapter`` (its ``extra`` is merged with these fields) or any object
    with ``log(level, msg, *args, **fields)``, such as a structlog logger: it gets the
    same message and the fields as keywords, after ``isEnabledFor``/``is_enabled_for``
    when it has one. A call that raises is timed and logged too.
    An error raised by a log handler or filter never replaces the call's result or
    exception: it is reported on ``stderr`` as ``logging`` reports handler errors.
    ``stats`` (a :class:`TimingStats`) accumulates count/total/min/max/mean. A
    generator function is refused (calling it only creates the generator); time the
    loop that consumes it with :func:`measure_block`. Methods work, also with ``timed``
    placed above ``@classmethod`` or ``@staticmethod``.

    >>> stats = TimingStats()
    >>> @timed(unit="ms", stats=stats)
    ... def slow_function():
    ...     return 42
    >>> slow_function(), stats.count
    (42, 1)
    """
    refuse_bare_use(unit, "timed", "unit")
    divisor = unit_divisor(unit)
    log = check_logging(logger, level)
    _check_stats(stats)
    if name is not None and not isinstance(name, str):
        _bad_name(name, "a str or None")

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        import inspect

        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        refuse_generator(func, "timed", _GENERATOR_ADVICE)
        label = name if name is not None else getattr(func, "__qualname__", repr(func))
        report = _Report(label, unit, divisor, log, level, stats)
        if inspect.iscoroutinefunction(func):
            wrapper: Callable[P, R] = _timed_async(func, report)  # type: ignore[assignment]
        else:
            wrapper = _timed_sync(func, report)
        return functools.update_wrapper(wrapper, func)

    return decorate


def _log(
    logger: Sink,
    level: int,
    args: tuple[str, str, float, str],
    extra: dict[str, object],
    depth: int,
) -> None:
    """Log one timing; an error raised while logging never replaces the call's outcome.

    Such an error is reported the way ``logging.Handler.handleError`` reports one: a
    traceback on ``stderr`` when ``logging.raiseExceptions`` is true, else nothing.
    """
    try:
        logger.log(level, "%s %s %.3f %s", *args, extra=extra, stacklevel=depth)
    except Exception:  # noqa: BLE001 - logging must not change what the timed code did
        if logging.raiseExceptions:
            import sys
            import traceback

            sys.stderr.write("--- Logging error in pmp_decorators timing ---\n")
            traceback.print_exc(file=sys.stderr)


class _Report:
    """Where one timed function's figures go."""

    __slots__ = ("divisor", "label", "level", "logger", "stats", "unit")

    def __init__(  # noqa: PLR0917 - private, built in one place
        self,
        label: str,
        unit: str,
        divisor: int,
        logger: Sink,
        level: int,
        stats: TimingStats | None,
    ) -> None:
        self.label = label
        self.unit = unit
        self.divisor = divisor
        self.logger = logger
        self.level = level
        self.stats = stats

    def failed(self, elapsed_ns: int) -> None:
        if self.stats is not None:
            self.stats.add(elapsed_ns)
        if self.logger.isEnabledFor(self.level):
            self.emit(elapsed_ns, raised=True, depth=4)

    def emit(self, elapsed_ns: int, *, raised: bool, depth: int) -> None:
        value = elapsed_ns / self.divisor
        _log(
            self.logger,
            self.level,
            (self.label, "raised after" if raised else "took", value, self.unit),
            {
                "function": self.label,
                "elapsed": value,
                "elapsed_ns": elapsed_ns,
                "unit": self.unit,
                "raised": raised,
            },
            depth + 1,
        )


class _Observed:
    """One timed call while instruments are installed: the usual report, then the hooks.

    It reads the instruments itself, so that a wrapper tests the switch without a local, and
    a call that sees them turned off between its test and here is simply timed as usual.
    """

    __slots__ = ("hooks", "report", "start", "tokens")

    def __init__(self, report: _Report) -> None:
        self.hooks = hooks = HOOKS
        self.report = report
        self.tokens: list[object] = [] if hooks is None else hooks.timing_started(report.label)
        self.start = perf_counter_ns()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = perf_counter_ns() - self.start
        report = self.report
        if report.stats is not None:
            report.stats.add(elapsed)
        if report.logger.isEnabledFor(report.level):
            report.emit(elapsed, raised=exc_type is not None, depth=4)
        if self.hooks is not None:
            self.hooks.timing_ended(report.label, self.tokens, elapsed, exc)


def _timed_sync(func: Callable[P, R], report: _Report) -> Callable[P, R]:
    stats, level, enabled = report.stats, report.level, report.logger.isEnabledFor

    def timed_sync(*args: P.args, **kwargs: P.kwargs) -> R:
        if HOOKS is not None:
            with _Observed(report):
                return func(*args, **kwargs)
        start = perf_counter_ns()
        try:
            result = func(*args, **kwargs)
        except BaseException:
            report.failed(perf_counter_ns() - start)
            raise
        elapsed = perf_counter_ns() - start
        if stats is not None:
            stats.add(elapsed)
        if enabled(level):
            report.emit(elapsed, raised=False, depth=3)
        return result

    return timed_sync


def _timed_async(
    func: Callable[P, Awaitable[R]], report: _Report
) -> Callable[P, Coroutine[Any, Any, R]]:
    stats, level, enabled = report.stats, report.level, report.logger.isEnabledFor

    async def timed_async(*args: P.args, **kwargs: P.kwargs) -> R:
        if HOOKS is not None:
            with _Observed(report):
                return await func(*args, **kwargs)
        start = perf_counter_ns()
        try:
            result = await func(*args, **kwargs)
        except BaseException:
            report.failed(perf_counter_ns() - start)
            raise
        elapsed = perf_counter_ns() - start
        if stats is not None:
            stats.add(elapsed)
        if enabled(level):
            report.emit(elapsed, raised=False, depth=3)
        return result

    return timed_async


class BlockTimer:
    """Time a ``with`` (or ``async with``) block; ``measure_block`` is this class.

    On exit one record is logged exactly as :func:`timed` does (``extra`` field
    ``block`` instead of ``function``), ``stats`` is updated, and the object keeps
    ``elapsed`` (in ``unit``) and ``elapsed_ns``. A block that raises is timed and
    logged too; the exception is never swallowed.

    >>> with measure_block("data_processing", unit="us") as block:
    ...     total = sum(range(1000))
    >>> block.elapsed_ns > 0, block.unit
    (True, 'us')
    """

    __slots__ = (
        "_elapsed_ns",
        "_hooks",
        "_start",
        "_tokens",
        "level",
        "logger",
        "name",
        "stats",
        "unit",
    )

    def __init__(
        self,
        name: str = "block",
        unit: str = "ms",
        *,
        logger: logging.Logger | logging.LoggerAdapter[Any] | LoggerLike | None = None,
        level: int = logging.DEBUG,
        stats: TimingStats | None = None,
    ) -> None:
        if (
            name.__class__ is not str
            or unit not in UNITS
            or level.__class__ is not int
            or (logger is not None and logger.__class__ is not logging.Logger)
            or (stats is not None and stats.__class__ is not TimingStats)
        ):
            if not isinstance(name, str):
                _bad_name(name, "a str")
            unit_divisor(unit)
            _check_stats(stats)
            logger = check_logging(logger, level)
        self.name = name
        self.unit = unit
        self.logger: Sink = DEFAULT_LOGGER if logger is None else logger
        self.level = level
        self.stats = stats

    @property
    def elapsed_ns(self) -> int | None:
        """The time the block took, in nanoseconds (``None`` until it has finished)."""
        return getattr(self, "_elapsed_ns", None)

    @property
    def elapsed(self) -> float | None:
        """The time the block took, in ``unit`` (``None`` until it has finished)."""
        elapsed = self.elapsed_ns
        return None if elapsed is None else elapsed / UNITS[self.unit]

    def __enter__(self) -> Self:
        hooks = self._hooks = HOOKS
        if hooks is not None:
            self._tokens = hooks.timing_started(self.name)
        self._start = perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = self._elapsed_ns = perf_counter_ns() - self._start
        if self.stats is not None:
            self.stats.add(elapsed)
        if self.logger.isEnabledFor(self.level):
            self._emit(elapsed, exc_type is not None, 3)
        if self._hooks is not None:
            self._hooks.timing_ended(self.name, self._tokens, elapsed, exc)

    async def __aenter__(self) -> Self:
        hooks = self._hooks = HOOKS
        if hooks is not None:
            self._tokens = hooks.timing_started(self.name)
        self._start = perf_counter_ns()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = self._elapsed_ns = perf_counter_ns() - self._start
        if self.stats is not None:
            self.stats.add(elapsed)
        if self.logger.isEnabledFor(self.level):
            self._emit(elapsed, exc_type is not None, 3)
        if self._hooks is not None:
            self._hooks.timing_ended(self.name, self._tokens, elapsed, exc)

    def _emit(self, elapsed_ns: int, raised: bool, depth: int) -> None:
        value = elapsed_ns / UNITS[self.unit]
        _log(
            self.logger,
            self.level,
            (self.name, "raised after" if raised else "took", value, self.unit),
            {
                "block": self.name,
                "elapsed": value,
                "elapsed_ns": elapsed_ns,
                "unit": self.unit,
                "raised": raised,
            },
            depth + 1,
        )

    def __repr__(self) -> str:
        return f"measure_block({self.name!r}, unit={self.unit!r}, elapsed={self.elapsed})"


measure_block = BlockTimer
