"""Time code blocks: ``measure_block``, whose uses may nest and run in many threads and tasks."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from pmp_decorators._sinks import DEFAULT_LOGGER, check_logging
from pmp_decorators._stats import UNITS, TimingStats, unit_divisor
from pmp_decorators._timing import bad_name, check_stats, log_timing
from pmp_errors import ConfigurationError

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pmp_decorators._instrument import Dispatch
    from pmp_decorators._sinks import LoggerLike, Sink

__all__ = ["HOOKS", "BlockTimer", "measure_block", "use_hooks"]

HOOKS: Dispatch | None = None
"""The installed instruments (see ``set_instrumentation``), or ``None``: the hot path's test."""


def use_hooks(hooks: Dispatch | None) -> None:
    """Report blocks to ``hooks`` from now on (``None``: to nobody)."""
    global HOOKS  # noqa: PLW0603 - one switch, read by every block
    HOOKS = hooks


_Use = tuple["BlockTimer", "Dispatch | None", list[object], "_Use | None", int]
"""A nested or concurrent use of a block timer: (timer, hooks, tokens, the use below, start)."""

_CLAIMED = -(2**70)  # the start of a use kept on its timer while that use is being started

_GIL = getattr(sys, "_is_gil_enabled", lambda: True)()
"""Whether the GIL is on: only then may a use be kept on the timer (its claim is not atomic)."""

_OPEN: ContextVar[_Use | None] = ContextVar("pmp_decorators_open_blocks", default=None)
"""Nested or concurrent uses of block timers open in this thread or task, innermost first."""


class BlockTimer:
    """Time a ``with`` (or ``async with``) block; ``measure_block`` is this class.

    On exit one record is logged exactly as :func:`timed` does (``extra`` field
    ``block`` instead of ``function``), ``stats`` is updated, and the object keeps
    ``elapsed`` (in ``unit``) and ``elapsed_ns`` of the use that ended last. A block
    that raises is timed and logged too; the exception is never swallowed. One object
    may be used again, nested, and by several threads or tasks at once: each use is
    timed (and traced) on its own.

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
                bad_name(name, "a str")
            unit_divisor(unit)
            check_stats(stats)
            logger = check_logging(logger, level)
        self.name = name
        self.unit = unit
        self.logger: Sink = DEFAULT_LOGGER if logger is None else logger
        self.level = level
        self.stats = stats
        self._start: int | None = None  # of the use kept on the object; None: it is free

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
        # The first open use is kept on the object: it is claimed before anything is called,
        # so under the GIL no other thread runs between the test and the claim (without the
        # GIL every use takes the other way). One nested in it or running at the same time in
        # another thread or task is kept in a context variable of its own thread or task.
        hooks = HOOKS
        if _GIL and self._start is None:
            self._start = _CLAIMED
            self._hooks = hooks
            if hooks is not None:
                self._tokens = hooks.timing_started(self.name)
            self._start = perf_counter_ns()
        else:
            tokens = [] if hooks is None else hooks.timing_started(self.name)
            _OPEN.set((self, hooks, tokens, _OPEN.get(), perf_counter_ns()))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = perf_counter_ns()
        top = _OPEN.get()
        if top is None or (top[0] is not self and not _holds(top, self)):
            start = self._start
            if start is None or start is _CLAIMED:
                raise ConfigurationError(
                    f"measure_block({self.name!r}) was exited without being entered (in this "
                    f"thread or task); use it as `with block:` or `async with block:`",
                    config_key="measure_block",
                )
            hooks = self._hooks
            tokens = self._tokens if hooks is not None else None
            self._start = None
        elif top[0] is self:
            _OPEN.set(top[3])
            hooks, tokens, start = top[1], top[2], top[4]
        else:
            hooks, tokens, start = self._unwind(top)
        elapsed = self._elapsed_ns = end - start
        if self.stats is not None:
            self.stats.add(elapsed)
        if self.logger.isEnabledFor(self.level):
            self._emit(elapsed, exc_type is not None)
        if hooks is not None and tokens is not None:
            hooks.timing_ended(self.name, tokens, elapsed, exc)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _unwind(self, top: _Use) -> tuple[Dispatch | None, list[object], int]:
        """This block's use under others still open here (generators interleaved), taken out."""
        above: list[_Use] = []
        use = top
        while use[0] is not self:
            above.append(use)
            assert use[3] is not None  # _holds(top, self) was checked
            use = use[3]
        below = use[3]
        for kept in reversed(above):
            below = (kept[0], kept[1], kept[2], below, kept[4])
        _OPEN.set(below)
        return use[1], use[2], use[4]

    def _emit(self, elapsed_ns: int, raised: bool) -> None:
        # the record points at the with statement: the first frame outside this module
        frame, depth = sys._getframe(), 2  # noqa: SLF001 - the stack level of the caller
        while frame.f_back is not None and frame.f_code.co_filename == __file__:
            frame, depth = frame.f_back, depth + 1
        value = elapsed_ns / UNITS[self.unit]
        log_timing(
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
            depth,
        )

    def __repr__(self) -> str:
        return f"measure_block({self.name!r}, unit={self.unit!r}, elapsed={self.elapsed})"


def _holds(use: _Use | None, timer: BlockTimer) -> bool:
    """Whether ``timer`` has a use in the stack ``use`` of this thread or task."""
    while use is not None:
        if use[0] is timer:
            return True
        use = use[3]
    return False


measure_block = BlockTimer
