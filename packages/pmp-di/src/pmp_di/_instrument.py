"""One hook for the container: instruments told of every failed resolution.

:func:`set_instrumentation` installs a :class:`Dispatch`, which :func:`report` reads only
when a resolution has already failed: resolving costs nothing more,
whether instruments are installed or not. An instrument that raises is reported once
through logging, and the caller gets the container's own error unchanged.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import weakref
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
    "release",
    "report",
    "set_instrumentation",
]

LOGGER = logging.getLogger("pmp_di.instrumentation")
"""Where a failing instrument is reported (once per instrument, however often installed)."""

_REPORTED: weakref.WeakSet[object] = weakref.WeakSet()  # instruments whose first error was logged
_REPORTED_BY_ID: set[int] = set()  # those that cannot be weakly referenced
_REPORTED_LOCK = threading.Lock()


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

    __slots__ = ("__weakref__",)

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Resolving ``service`` (its display name) raised ``error``, about to propagate."""


class Dispatch:
    """The installed instruments, called in turn; an error of one is reported once."""

    __slots__ = ("instruments",)

    def __init__(self, instruments: tuple[Instrument, ...]) -> None:
        self.instruments = instruments

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
            if not _first_error(instrument):
                return
            LOGGER.exception(
                "instrument %s raised in resolution_failed; the container's error went on, "
                "and later errors of this instrument are not reported",
                type(instrument).__qualname__,
            )


def _first_error(instrument: Instrument) -> bool:
    """Whether this is the first error of ``instrument`` (then it is remembered)."""
    with _REPORTED_LOCK:
        try:
            if instrument in _REPORTED:
                return False
            _REPORTED.add(instrument)
        except TypeError:  # unhashable, say: remembered by identity
            if id(instrument) in _REPORTED_BY_ID:
                return False
            _REPORTED_BY_ID.add(id(instrument))
    return True


class _Layer:
    """One ``set_instrumentation`` call: what it installed, over the layer before it."""

    __slots__ = ("below", "dispatch", "removed")

    def __init__(self, dispatch: Dispatch | None, below: _Layer | None) -> None:
        self.dispatch = dispatch
        self.below = below
        self.removed = False


_current: Dispatch | None = None  # the installed instruments; read only after a failure
_top: _Layer | None = None  # the latest set_instrumentation still in force
_layers_lock = threading.Lock()


class Restorer:
    """Puts the previous instruments back; also a context manager that does so on exit.

    Undoing puts back what the latest call still in force installed, in whatever order
    calls are undone (undoing one that a later call covers only takes it out from under
    that call); undoing twice does nothing.
    """

    __slots__ = ("_layer",)

    def __init__(self, layer: _Layer) -> None:
        self._layer = layer

    def restore(self) -> None:
        """Put the instruments installed before back."""
        global _current, _top  # noqa: PLW0603 - the one switch
        with _layers_lock:
            self._layer.removed = True
            if _top is not self._layer:
                return  # a later call is in force; this layer is skipped when it is undone
            while _top is not None and _top.removed:
                _top = _top.below
            _current = None if _top is None else _top.dispatch

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
    global _current, _top  # noqa: PLW0603 - the one switch
    for instrument in instruments:
        if not _is_instrument(instrument):
            raise ValidationError(
                f"set_instrumentation takes Instrument objects (subclass "
                f"pmp_di.instrumentation.Instrument), got {instrument!r}",
                field="instruments",
                value=instrument,
                expected="Instrument",
            )
    dispatch = Dispatch(instruments) if instruments else None
    with _layers_lock:
        layer = _top = _Layer(dispatch, _top)
        _current = dispatch
    return Restorer(layer)


def _is_instrument(value: object) -> bool:
    return isinstance(value, Instrument)


def report(service: object, error: DependencyInjectionError) -> None:
    """Tell the installed instruments (if any) that resolving ``service`` failed."""
    hooks = _current
    if hooks is not None:
        hooks.resolution_failed(display(service), error)


def release(distribution: str) -> str | None:
    """The installed version of ``distribution``; ``None`` when it runs from a source tree."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_extra(module: str, library: str, extra: str) -> ConfigurationError:
    """The error raised when importing integration ``module`` finds no ``library``."""
    return ConfigurationError(
        f"{module} needs {library}: pip install 'pmp-di[{extra}]'",
        config_key=f"pmp-di[{extra}]",
    )
