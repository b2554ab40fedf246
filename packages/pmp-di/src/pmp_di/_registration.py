"""What one ``register`` call recorded, and how its parameters are read."""

from __future__ import annotations

import collections.abc
import contextlib
import enum
import functools
import inspect
import threading
import types
import typing
from keyword import iskeyword
from typing import TYPE_CHECKING, Any, Union

from pmp_di._annotations import Unresolved, read_hints, signature
from pmp_di._errors import RegistrationError

if TYPE_CHECKING:
    from pmp_di._lifecycle import LifecycleScope

__all__ = [
    "UNSET",
    "Kind",
    "Param",
    "Registration",
    "State",
    "display",
    "is_function",
    "is_instance_of",
    "is_subclass_of",
    "optional_inner",
]


def _unset_repr(_: object) -> str:
    return "<unset>"


UNSET: Any = type("_Unset", (), {"__repr__": _unset_repr, "__slots__": ()})()
_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def display(obj: object) -> str:
    """A short readable name for a type, factory or annotation (``Repository[User]``)."""
    origin, args = typing.get_origin(obj), typing.get_args(obj)
    if args:  # before the class check: on 3.10, list[int] passes isinstance(..., type)
        return _display_generic(origin, args)
    if obj is type(None):
        return "None"
    if isinstance(obj, type) or inspect.isroutine(obj):
        return str(getattr(obj, "__qualname__", obj))
    if isinstance(obj, list):  # the parameter list of Callable[[A, B], R]
        items: list[object] = obj  # pyright: ignore[reportUnknownVariableType]
        return "[" + ", ".join(display(arg) for arg in items) + "]"
    return "..." if obj is Ellipsis else repr(obj).replace("typing.", "")


def _display_generic(origin: object, args: tuple[object, ...]) -> str:
    if _is_union(origin):
        return " | ".join(display(arg) for arg in args)
    return f"{display(origin)}[{', '.join(display(arg) for arg in args)}]"


_PROMOTIONS = {(int, float), (int, complex), (float, complex)}  # PEP 484's numeric tower
_YIELDING = {
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
}


def _checkable_class(service: object) -> type | None:
    """The class instances of ``service`` belong to, when that can be checked at runtime."""
    cls = typing.get_origin(service) or service
    if not isinstance(cls, type) or _is_union(cls) or getattr(cls, "_is_protocol", False):
        return None  # unions (X | None), special forms and protocols are not checked
    return cls


def is_instance_of(value: object, service: object) -> bool:
    """Whether ``value`` may be bound to ``service`` (``True`` when that cannot be checked)."""
    cls = _checkable_class(service)
    try:
        return cls is None or isinstance(value, cls) or (type(value), cls) in _PROMOTIONS
    except TypeError:  # an isinstance hook that refuses
        return True


def is_subclass_of(produced: object, service: object, *, related: bool = False) -> bool:
    """Whether instances of ``produced`` may be bound to ``service`` (``True`` if unknown).

    With ``related``, a base class of the service also passes: a factory annotated
    with a broader type may still return the right thing.
    """
    if produced is type(None):
        return service is type(None)
    cls, made = _checkable_class(service), _checkable_class(produced)
    if cls is None or made is None:
        return True
    try:
        return (
            issubclass(made, cls)
            or (related and issubclass(cls, made))
            or (made, cls) in _PROMOTIONS
        )
    except TypeError:  # an issubclass hook that refuses
        return True


def _is_union(origin: object) -> bool:
    return origin is Union or origin is types.UnionType


def optional_inner(annotation: object) -> object:
    """``X`` for ``X | None`` / ``Optional[X]``, else ``UNSET``.

    The optional may sit inside ``Annotated``: ``Annotated[X | None, Named("n")]`` gives
    ``Annotated[X, Named("n")]``, the named binding that may be missing.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        inner = optional_inner(base)
        if inner is UNSET:
            return UNSET
        args = (inner, *metadata)
        return typing.Annotated[args]
    if _is_union(origin):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:  # noqa: PLR2004
            return members[0]
    return UNSET


class Kind(enum.Enum):
    """How a provider produces its value."""

    INSTANCE = "instance"
    CALL = "call"
    CONTEXT = "context manager"
    ASYNC = "async"
    ASYNC_CONTEXT = "async context manager"

    @property
    def is_async(self) -> bool:
        """Whether the value must be awaited."""
        return self in (Kind.ASYNC, Kind.ASYNC_CONTEXT)


class Param:
    """One parameter of a provider, with its annotation resolved."""

    __slots__ = ("annotation", "default", "has_default", "kind", "name")

    def __init__(self, name: str, kind: Any, annotation: object, default: object) -> None:
        self.name = name
        self.kind = kind
        self.annotation = annotation
        self.default = default
        self.has_default = default is not inspect.Parameter.empty


class State:
    """The mutable part of a registration: a built singleton and compiled builders."""

    __slots__ = ("abuilder", "builder", "building", "lock", "pending", "value")

    def __init__(self, value: object = UNSET) -> None:
        self.value: Any = value
        self.lock = threading.RLock()
        self.builder: Any = None
        self.abuilder: Any = None
        self.pending: Any = None  # an async build in progress (a concurrent Future)
        self.building: Any = None  # who is building it: True (a thread) or an asyncio task


def is_function(obj: object) -> bool:
    """Whether ``obj`` is a function, method or ``functools.partial`` (not a class)."""
    return inspect.isroutine(obj) or isinstance(obj, functools.partial)


def _kind_of(factory: Any) -> tuple[Kind, Any]:
    code: Any = factory
    if not (isinstance(code, type) or is_function(code)):
        code = type(factory).__call__  # a callable object (inspect sees through partials)
    if inspect.isasyncgenfunction(code):
        return Kind.ASYNC_CONTEXT, contextlib.asynccontextmanager(factory)
    if inspect.isgeneratorfunction(code):
        return Kind.CONTEXT, contextlib.contextmanager(factory)
    if inspect.iscoroutinefunction(code):
        return Kind.ASYNC, factory
    inner = inspect.unwrap(factory)
    if inner is not factory and inspect.isasyncgenfunction(inner):
        return Kind.ASYNC_CONTEXT, factory
    if inner is not factory and inspect.isgeneratorfunction(inner):
        return Kind.CONTEXT, factory
    return Kind.CALL, factory


class Registration:
    """One binding: the service key, how to build it, and for how long it lives."""

    __slots__ = (
        "_params",
        "_signature",
        "context_of",
        "from_context",
        "kind",
        "lifetime",
        "origin",
        "provider",
        "service",
        "state",
    )

    def __init__(
        self,
        service: Any,
        lifetime: LifecycleScope,
        *,
        origin: Any,
        instance: object = UNSET,
        from_context: bool = False,
    ) -> None:
        self.service = service
        self.lifetime = lifetime
        self.origin = origin
        self.from_context = from_context
        # the from_context binding an override stands in for: scopes still take its values
        self.context_of: Registration | None = None
        self._params: tuple[Param, ...] | None = None
        if instance is not UNSET:
            self.kind, self.provider = Kind.INSTANCE, None
            self._signature: inspect.Signature | None = None
            self.state = State(instance)
            return
        self.kind, self.provider = _kind_of(origin)
        self.state = State()
        self._signature = _signature_of(origin)
        for p in self._signature.parameters.values():
            if type(p.name) is not str or not p.name.isidentifier() or iskeyword(p.name):
                # names are pasted into generated code as `name=...`: only plain identifiers
                msg = f"cannot register {display(service)}: {p.name!r} is not a parameter name"
                raise RegistrationError(msg, argument="signature", value=display(origin))
            if p.annotation is p.empty and p.default is p.empty and p.kind not in _SKIPPED_KINDS:
                msg = (
                    f"cannot register {display(service)}: parameter {p.name!r} of "
                    f"{display(origin)} has no type annotation and no default; annotate it "
                    "with the type to inject or give it a default"
                )
                raise RegistrationError(
                    msg, argument=p.name, value=display(origin), config_key=display(service)
                )

    def fresh(self) -> Registration:
        """A copy with nothing built or compiled (for a dependency that changed)."""
        copy = object.__new__(Registration)
        for name in Registration.__slots__:
            if name != "state":
                setattr(copy, name, getattr(self, name))
        copy.state = State(self.state.value if self.kind is Kind.INSTANCE else UNSET)
        return copy

    def params(self, path: list[str]) -> tuple[Param, ...]:
        """The provider's parameters with annotations resolved (cached)."""
        params = self._params
        if params is None:
            params = _resolve_params(self, self._signature, path)
            if not any(isinstance(p.annotation, Unresolved) for p in params):
                self._params = params  # else read again: the names may be defined later
        return params

    @property
    def read(self) -> tuple[Param, ...] | None:
        """The parameters if they were read already (``None`` before the first read)."""
        return self._params


def _constructor(cls: Any) -> Any:
    """The method whose parameters a class call takes (``None`` for ``object``'s)."""
    if cls.__init__ is not object.__init__:
        return cls.__init__
    if cls.__new__ is not object.__new__:
        return cls.__new__
    return None


def _signature_of(origin: Any) -> inspect.Signature:
    if isinstance(origin, type) and _constructor(origin) is None:
        return inspect.Signature()
    try:
        return signature(origin)
    except (ValueError, TypeError):  # builtins without a signature take no arguments
        return inspect.Signature()


def _underlying(origin: Any) -> Any:
    """What ``origin`` calls in the end: decorators and ``functools.partial`` removed."""
    origin = inspect.unwrap(origin)
    while isinstance(origin, functools.partial):
        origin = inspect.unwrap(origin.func)
    return origin


def _code_target(origin: Any) -> Any:
    """The function whose code runs when ``origin`` is called, for its annotations."""
    origin = _underlying(origin)
    if isinstance(origin, type):
        return _constructor(origin)
    if callable(origin) and not inspect.isroutine(origin):
        return type(origin).__call__  # a callable object: its class's __call__
    return origin


def _resolve_params(
    reg: Registration, sig: inspect.Signature | None, path: list[str]
) -> tuple[Param, ...]:
    assert sig is not None
    hints = read_hints(_code_target(reg.origin), sig)
    _check_return(reg, hints.get("return", UNSET), path)
    return tuple(
        Param(p.name, p.kind, hints.get(p.name, p.annotation), p.default)
        for p in sig.parameters.values()
        if p.kind not in _SKIPPED_KINDS
    )


def _check_return(reg: Registration, annotation: object, path: list[str]) -> None:
    """Refuse a factory whose return annotation says it builds something else."""
    if annotation is UNSET or isinstance(_underlying(reg.origin), type):
        return
    if reg.kind in (Kind.CONTEXT, Kind.ASYNC_CONTEXT):  # Iterator[X] and friends yield X
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) not in _YIELDING or not args:
            return
        annotation = args[0]
    if is_subclass_of(annotation, reg.service, related=True):
        return
    name, made = display(reg.service), display(annotation)
    where = " -> ".join(path) or name
    msg = (
        f"factory {display(reg.origin)} registered for {name} is annotated to produce {made}, "
        f"not a {name}; register it for {made} or fix the annotation (path: {where})"
    )
    raise RegistrationError(
        msg, argument="factory", value=display(reg.origin), config_key=name, path=list(path)
    )
