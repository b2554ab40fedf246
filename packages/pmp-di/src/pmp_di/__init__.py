"""A typed dependency-injection container that compiles each resolution to plain calls.

>>> from pmp_di import DIContainer, LifecycleScope
>>> class Repo: ...
>>> class Service:
...     def __init__(self, repo: Repo) -> None:
...         self.repo = repo
>>> container = DIContainer().register(Repo, scope=LifecycleScope.SINGLETON).register(Service)
>>> container.resolve(Service).repo is container.resolve(Repo)
True
"""

from __future__ import annotations

from pmp_di._container import DIContainer
from pmp_di._errors import (
    AsyncDependencyError,
    CaptiveDependencyError,
    CircularDependencyError,
    CleanupError,
    DependencyInjectionError,
    MissingDependencyError,
    RegistrationError,
    ScopeError,
)
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import Named, Provider
from pmp_di._provider import Inject, ServiceProvider
from pmp_di._scope import Scope

__all__ = [
    "AsyncDependencyError",
    "CaptiveDependencyError",
    "CircularDependencyError",
    "CleanupError",
    "DIContainer",
    "DependencyInjectionError",
    "Inject",
    "LifecycleScope",
    "MissingDependencyError",
    "Named",
    "Provider",
    "RegistrationError",
    "Scope",
    "ScopeError",
    "ServiceProvider",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-di")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
