"""What a parameter annotation asks for: one service, every implementation, or a lazy getter."""

from __future__ import annotations

import collections.abc
import enum
import functools
import typing
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pmp_di._errors import RegistrationError
from pmp_di._registration import UNSET, Registration, display, optional_inner

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Named",
    "Need",
    "Provider",
    "base_of",
    "how_to_register",
    "key_of",
    "need_of",
    "normalize",
]

T = TypeVar("T")

Provider = collections.abc.Callable[[], T]
"""``Provider[T]`` is ``Callable[[], T]``: a parameter so annotated receives a function that
resolves ``T`` when called (in the same scope), for lazy or repeated construction."""

_COLLECTIONS = (list, collections.abc.Sequence)
_CALLABLE: Any = collections.abc.Callable
_AWAITABLES = (collections.abc.Awaitable, collections.abc.Coroutine)


class Named:
    """A qualifier telling apart several bindings of one type: ``Annotated[Repo, Named("a")]``.

    >>> from typing import Annotated
    >>> Annotated[int, Named("port")] == Annotated[int, Named("port")]
    True
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        given: Any = name  # checked at runtime: callers may pass anything
        if not isinstance(given, str) or not given:
            msg = f"a binding name must be a non-empty str, e.g. Named('primary'), got {name!r}"
            raise RegistrationError(msg, argument="name", value=name)
        self.name = name

    def __eq__(self, other: object) -> bool:
        return type(other) is Named and other.name == self.name

    def __hash__(self) -> int:
        return hash((Named, self.name))

    def __repr__(self) -> str:
        return f"Named({self.name!r})"


def key_of(service: Any, name: str | None) -> Any:
    """The registry key for ``service`` under ``name``."""
    if name is None:
        return service
    try:
        return _named_key(service, name)
    except TypeError:  # an unhashable service: Annotated reports it
        return Annotated[service, Named(name)]


@functools.lru_cache(maxsize=1024)
def _named_key(service: Any, name: str) -> Any:
    return Annotated[service, Named(name)]


def normalize(annotation: Any) -> Any:
    """``Annotated[X, ..., Named(n), ...]`` -> ``Annotated[X, Named(n)]``, else ``X``."""
    if typing.get_origin(annotation) is not Annotated:
        return annotation
    base = annotation.__origin__
    for meta in annotation.__metadata__:
        if type(meta) is Named:
            return Annotated[base, meta]
    return base


def base_of(key: Any) -> Any:
    """The type a (possibly named) key binds."""
    if typing.get_origin(key) is Annotated:
        return key.__origin__
    return key


class Need(enum.Enum):
    """The shape of a dependency."""

    ONE = "one"  # targets: (registration,)
    MANY = "many"  # targets: every registration of the item type, in registration order
    LAZY = "lazy"  # targets: (registration,), built when the injected function is called
    ALAZY = "async lazy"  # like LAZY, the function returns an awaitable
    NONE = "none"  # nothing registered: a default, None or an error


def _lazy_target(annotation: Any) -> tuple[Any, bool] | None:
    if typing.get_origin(annotation) is not _CALLABLE:
        return None
    args = typing.get_args(annotation)
    if len(args) != 2 or args[0] != []:  # noqa: PLR2004 - ([], result)
        return None
    result = args[1]
    if typing.get_origin(result) in _AWAITABLES:
        return typing.get_args(result)[-1], True
    return result, False


def _members(regs: dict[Any, Registration], item: Any) -> tuple[Registration, ...]:
    return tuple(reg for key, reg in regs.items() if base_of(key) == item)


def need_of(
    regs: dict[Any, Registration], annotation: Any
) -> tuple[Need, tuple[Registration, ...], bool]:
    """What ``annotation`` asks for, the registrations it reaches, whether ``None`` is fine."""
    key = normalize(annotation)
    try:
        reg = regs.get(key)
    except TypeError:  # an unhashable annotation can never be registered
        return Need.NONE, (), False
    if reg is not None:
        return Need.ONE, (reg,), False
    inner = optional_inner(key)
    if inner is not UNSET:
        need, targets, _ = need_of(regs, inner)
        return need, targets, True
    args = typing.get_args(key)
    if typing.get_origin(key) in _COLLECTIONS and len(args) == 1:
        members = _members(regs, args[0])
        return (Need.MANY if members else Need.NONE), members, False
    lazy = _lazy_target(key)
    if lazy is not None:
        target, is_async = lazy
        try:
            found = regs.get(normalize(target))
        except TypeError:
            found = None
        if found is not None:
            return (Need.ALAZY if is_async else Need.LAZY), (found,), False
    return Need.NONE, (), False


def mentions(annotation: Any, key: Any) -> bool:
    """Whether a parameter annotated ``annotation`` would change meaning when ``key`` is bound."""
    found = normalize(annotation)
    inner = optional_inner(found)
    if inner is not UNSET:
        found = normalize(inner)
    if found == key:
        return True
    origin, args = typing.get_origin(found), typing.get_args(found)
    if origin in _COLLECTIONS and len(args) == 1:
        return bool(args[0] == base_of(key))
    lazy = _lazy_target(found)
    return lazy is not None and normalize(lazy[0]) == key


def how_to_register(annotation: Any) -> str:
    """The ``register`` call that would satisfy ``annotation``.

    That is the item type of a collection, the target of a provider, a type under its name.
    """
    key = normalize(annotation)
    inner = optional_inner(key)
    if inner is not UNSET:
        key = normalize(inner)
    origin, args = typing.get_origin(key), typing.get_args(key)
    if origin in _COLLECTIONS and len(args) == 1:
        key = normalize(args[0])
    else:
        lazy = _lazy_target(key)
        if lazy is not None:
            key = normalize(lazy[0])
    base, qualifier = base_of(key), ""
    if base is not key:
        qualifier = f", name={key.__metadata__[0].name!r}"
    return f"container.register({display(base)}, ...{qualifier})"


def describe_need(need: Need, targets: tuple[Registration, ...]) -> str:
    """A short note for ``explain`` on how a collection or lazy dependency is filled."""
    if need is Need.MANY:
        return f"all {len(targets)}: " + ", ".join(display(t.service) for t in targets)
    return f"{need.value} -> {display(targets[0].service)}"


def lazy_resolver(resolve: Callable[[Any], Any], key: Any) -> Callable[[], Any]:
    """A function resolving ``key`` through ``resolve`` when called."""

    def provide() -> Any:
        return resolve(key)

    return provide
