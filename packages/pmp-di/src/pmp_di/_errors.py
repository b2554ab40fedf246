"""The exceptions raised by the container, all ``pmp_errors`` exceptions."""

from __future__ import annotations

from typing import Any

from pmp_errors import ConfigurationError, PortfolioError

__all__ = [
    "AsyncDependencyError",
    "CaptiveDependencyError",
    "CircularDependencyError",
    "CleanupError",
    "DependencyInjectionError",
    "MissingDependencyError",
    "RegistrationError",
    "ScopeError",
]


class DependencyInjectionError(ConfigurationError):
    """Base class of every container error; ``path`` lists the types that led there.

    >>> DependencyInjectionError("boom", path=["Handler", "Service"]).path
    ['Handler', 'Service']
    """

    @property
    def path(self) -> list[str]:
        """The chain of types (and parameters) that led to the error."""
        return list(self.context.get("path", []))


class RegistrationError(DependencyInjectionError, TypeError):
    """``register`` (or ``inject``) was called with arguments it cannot use.

    >>> RegistrationError("bad scope", argument="scope", value="forever").context["argument"]
    'scope'
    """


class CircularDependencyError(DependencyInjectionError):
    """The graph has a cycle; the message shows the chain (``A -> B -> A``).

    >>> CircularDependencyError("Circular dependency: A -> B -> A", path=["A", "B", "A"]).path
    ['A', 'B', 'A']
    """


class MissingDependencyError(DependencyInjectionError, LookupError):
    """A needed service is not registered; names consumer, parameter, type and path.

    >>> e = MissingDependencyError("Repo is not registered", service="Repo")
    >>> e.context["service"]
    'Repo'
    """


class ScopeError(DependencyInjectionError):
    """A scoped service was resolved outside a scope, or a closed scope was used.

    >>> ScopeError("this scope is closed").message
    'this scope is closed'
    """


class CaptiveDependencyError(ScopeError):
    """A singleton depends on a shorter-lived (scoped or transient) service.

    >>> issubclass(CaptiveDependencyError, ScopeError)
    True
    """


class AsyncDependencyError(DependencyInjectionError):
    """A synchronous ``resolve`` reached a factory that must be awaited.

    >>> AsyncDependencyError("use aresolve").message
    'use aresolve'
    """


class CleanupError(PortfolioError):
    """One or more finalizers failed; every finalizer still ran.

    ``errors`` holds each failure in the order they happened; the first is also
    the ``__cause__``.

    >>> CleanupError("1 finalizer failed", errors=(ValueError("x"),)).errors
    (ValueError('x'),)
    """

    def __init__(
        self, message: str, /, *, errors: tuple[BaseException, ...] = (), **context: Any
    ) -> None:
        context.setdefault("failures", [f"{type(e).__name__}: {e}" for e in errors])
        super().__init__(message, **context)
        self.errors = errors
