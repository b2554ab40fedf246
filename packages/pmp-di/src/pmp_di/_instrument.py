"""One hook for the container: instruments told of every failed resolution.

:func:`set_instrumentation` installs a :class:`Dispatch`, which :func:`report` reads only
when a resolution has already failed: resolving costs nothing more,
whether instruments are installed or not. An instrument that raises is reported once
through logging, and the caller gets the container's own error unchanged.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pmp_di._registration import display
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pmp_di._errors import DependencyInjectionError

__all__ = [
    "Dispatch",
    "Instrument",
    "Restorer",
    "missing_extra",
    "report",
    "set_instrumentation",
]

LOGGER = logging.getLogger("pmp_di.instrumentation")
"""Where a failing instrument is reported (once per instrument)."""


class Instrument:
    """Told of every failed resolution; subclass it and override :meth:`resolution_failed`.

    Install instances with :func:`set_instrumentation`. Ready instruments live in
    ``pmp_di.integrations``: ``opentelemetry``, ``prometheus`` and ``logging``.

    >>> from pmp_di import DIContainer
    >>> from pmp_di.instrumentation import Instrument, set_instrumentation
    >>> class Keep(Instrument):
    ...     def __init__(self):
    ...         self.failed = []
    ...
    ...     def resolution_failed(self, service, error):
    ...         self.failed.append((service, type(error).__name__))
    >>> class Repo: ...
    >>> keep = Keep()
    >>> with set_instrumentation(keep):
    ...     try:
    ...         DIContainer().resolve(Repo)
    ...     except LookupError:
    ...         pass
    >>> keep.failed
    [('Repo', 'MissingDependencyError')]
    """

    __slots__ = ()

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Resolving ``service`` (its display name) raised ``error``, about to propagate."""


class Dispatch:
    """The installed instruments, called in turn; an error of one is reported once."""

    __slots__ = ("_lock", "_reported", "instruments")

    def __init__(self, instruments: tuple[Instrument, ...]) -> None:
        self.instruments = instruments
        self._reported: set[int] = set()
        self._lock = threading.Lock()

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Tell every instrument; never raises what an instrument raised."""
        for instrument in self.instruments:
            self._shielded(instrument, service, error)

    def _shielded(
        self, instrument: Instrument, service: str, error: DependencyInjectionError
    ) -> None:
        try:
            instrument.resolution_failed(service, error)
        except Exception:  # an instrument never replaces the container's error
            with self._lock:
                if id(instrument) in self._reported:
                    return
                self._reported.add(id(instrument))
            LOGGER.exception(
                "instrument %s raised in resolution_failed; the container's error went on, "
                "and later errors of this instrument are not reported",
                type(instrument).__qualname__,
            )


_current: Dispatch | None = None  # the installed instruments; read only after a failure


class Restorer:
    """Puts the previous instruments back; also a context manager that does so on exit."""

    __slots__ = ("_previous",)

    def __init__(self, previous: Dispatch | None) -> None:
        self._previous = previous

    def restore(self) -> None:
        """Put the instruments installed before back."""
        global _current  # noqa: PLW0603 - the one switch
        _current = self._previous

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()


def set_instrumentation(*instruments: Instrument) -> Restorer:
    """Install ``instruments`` for every container; with no argument, none (the default).

    They replace those installed before; used in a ``with`` statement the change is
    undone on exit.

    >>> from pmp_di.instrumentation import Instrument, set_instrumentation
    >>> with set_instrumentation(Instrument()):
    ...     pass  # failed resolutions are reported to the instrument here
    """
    global _current  # noqa: PLW0603 - the one switch
    for instrument in instruments:
        if not _is_instrument(instrument):
            raise ValidationError(
                f"set_instrumentation takes Instrument objects (subclass "
                f"pmp_di.instrumentation.Instrument), got {instrument!r}",
                field="instruments",
                value=instrument,
                expected="Instrument",
            )
    restorer = Restorer(_current)
    _current = Dispatch(instruments) if instruments else None
    return restorer


def _is_instrument(value: object) -> bool:
    return isinstance(value, Instrument)


def report(service: object, error: DependencyInjectionError) -> None:
    """Tell the installed instruments (if any) that resolving ``service`` failed."""
    hooks = _current
    if hooks is not None:
        hooks.resolution_failed(display(service), error)


def missing_extra(module: str, library: str, extra: str) -> ConfigurationError:
    """The error raised when importing integration ``module`` finds no ``library``."""
    return ConfigurationError(
        f"{module} needs {library}: pip install 'pmp-di[{extra}]'",
        config_key=f"pmp-di[{extra}]",
    )
