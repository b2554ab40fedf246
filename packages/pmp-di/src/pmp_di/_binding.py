"""Checking the arguments of ``register`` and turning them into a ``Registration``."""

from __future__ import annotations

from typing import Any, NoReturn

from pmp_di._errors import RegistrationError, ScopeError
from pmp_di._instrument import report
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import base_of, key_of
from pmp_di._registration import (
    Registration,
    display,
    is_function,
    is_instance_of,
    is_subclass_of,
)

__all__ = ["make_registration"]


def _missing_context(key: Any) -> Any:
    """The provider of a value supplied per scope: reached only when it was not supplied."""

    def not_supplied() -> NoReturn:
        name = display(key)
        msg = (
            f"{name} is supplied per scope and this scope has none; open it with "
            f"container.scope(context={{{name}: ...}})"
        )
        error = ScopeError(msg, service=name)
        report(key, error)
        raise error

    not_supplied.__qualname__ = "<from context>"
    return not_supplied


def _instance_registration(service: Any, scope: LifecycleScope, instance: Any) -> Registration:
    if scope is LifecycleScope.SCOPED:
        msg = f"an instance of {display(service)} is shared; it cannot be SCOPED"
        raise RegistrationError(msg, argument="scope", value=scope.name)
    if not is_instance_of(instance, base_of(service)):
        msg = (
            f"instance for {display(service)} must be a {display(service)}, got "
            f"{type(instance).__name__} {instance!r}"
        )
        raise RegistrationError(msg, argument="instance", value=instance)
    return Registration(service, LifecycleScope.SINGLETON, origin=None, instance=instance)


def _check_buildable(service: Any, origin: Any, implementation: Any) -> None:
    """Refuse an abstract class to build, or an implementation that is not a ``service``."""
    if isinstance(origin, type) and (
        getattr(origin, "_is_protocol", False) or getattr(origin, "__abstractmethods__", None)
    ):
        msg = (
            f"{display(origin)} is abstract; register it with an implementation, e.g. "
            f"container.register({display(origin)}, ConcreteClass)"
        )
        raise RegistrationError(msg, argument="implementation", value=display(origin))
    if implementation is not None and not is_subclass_of(implementation, base_of(service)):
        msg = (
            f"implementation for {display(service)} must be a subclass of it, got "
            f"{display(implementation)}; register it for its own type instead"
        )
        raise RegistrationError(msg, argument="implementation", value=display(implementation))


def _check_service(service: Any) -> None:
    try:
        hash(service)
    except TypeError:
        msg = f"service must be a hashable type, got {service!r}"
        raise RegistrationError(msg, argument="service", value=service) from None
    if is_function(service):
        name = getattr(service, "__name__", "factory")
        name = "factory" if name == "<lambda>" else name
        msg = (
            f"register() takes the type to provide first, got the function {display(service)}; "
            f"register the type it builds with it as the factory: "
            f"container.register(T, factory={name})"
        )
        raise RegistrationError(msg, argument="service", value=display(service))


def make_registration(
    service: Any,
    implementation: Any,
    scope: Any,
    factory: Any,
    instance: Any,
    *,
    name: str | None = None,
    from_context: bool = False,
) -> Registration:
    """Check ``register``'s arguments and record them."""
    _check_service(service)
    if not isinstance(scope, LifecycleScope):
        msg = f"scope must be a LifecycleScope (SINGLETON, TRANSIENT or SCOPED), got {scope!r}"
        raise RegistrationError(msg, argument="scope", value=scope)
    key = key_of(service, name)
    given = [
        n for n, v in (("implementation", implementation), ("factory", factory)) if v is not None
    ]
    if instance is not None:
        given.append("instance")
    if from_context:
        given.append("from_context")
    if len(given) > 1:
        msg = (
            f"give at most one of implementation, factory, instance and from_context for "
            f"{display(service)}, got {' and '.join(given)}"
        )
        raise RegistrationError(msg, argument=given[1], value=display(service))
    if from_context:
        if scope is LifecycleScope.SINGLETON:
            msg = (
                f"a value from a scope's context lives as long as the scope; "
                f"{display(service)} cannot be a SINGLETON"
            )
            raise RegistrationError(msg, argument="scope", value=scope.name)
        return Registration(
            key, LifecycleScope.SCOPED, origin=_missing_context(key), from_context=True
        )
    if instance is not None:
        return _instance_registration(key, scope, instance)
    origin = factory if factory is not None else implementation
    if origin is None:
        origin = service
    if not callable(origin):
        argument = given[0] if given else "service"
        msg = f"{argument} for {display(service)} must be callable, got {origin!r}"
        raise RegistrationError(msg, argument=argument, value=origin)
    _check_buildable(service, origin, implementation)
    return Registration(key, scope, origin=origin)
