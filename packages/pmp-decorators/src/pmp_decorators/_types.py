"""Compile type annotations into fast, full-depth runtime checks (trees of nodes)."""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from typing import Any

from pmp_decorators._containers import ContainerNode, RefNode, TupleNode, TypedDictNode
from pmp_decorators._nodes import (
    AnyNode,
    CallableNode,
    ClassNode,
    LiteralNode,
    NeverNode,
    Node,
    NoneNode,
    SubclassNode,
    UnionNode,
    safe_repr,
    type_name,
)
from pmp_errors import ValidationError

__all__ = ["Unresolved", "compile_type", "unpacked"]

_MAX_DEPTH = 40


def _supports_issubclass(cls: type) -> bool:
    try:
        issubclass(type("_Probe", (), {}), cls)  # a fresh class: no cached answer
    except TypeError:
        return False
    return True


def _unsupported(tp: object, why: str) -> ValidationError:
    return ValidationError(
        f"cannot check values against {type_name(tp)}: {why}",
        value=safe_repr(tp),
        expected="a supported annotation (see validate_types)",
    )


_UNWRAP = frozenset({"Annotated", "ClassVar", "Final", "Required", "NotRequired", "ReadOnly"})
_NOT_ITERATED = (cabc.Iterator, cabc.AsyncIterable, cabc.Awaitable)


def _form_name(tp: object) -> str | None:
    name = getattr(tp, "_name", None)
    return name if isinstance(name, str) else None


class Unresolved:
    """Stands for a name that could not be resolved (imported under ``TYPE_CHECKING``).

    It survives the operations annotations use (``X | None``, ``X[int]``, ``mod.X``)
    and compiles to "not checked", so the rest of an annotation is still checked.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *_args: object) -> None:  # typing accepts only callables as types
        return None

    def __or__(self, _other: object) -> Unresolved:
        return self

    __ror__ = __or__

    def __getitem__(self, _item: object) -> Unresolved:
        return self

    def __getattr__(self, name: str) -> Unresolved:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __repr__(self) -> str:
        return self.name


def compile_type(tp: object, *, strict: bool = True) -> Node:
    """Compile an annotation (or a class, or a tuple of classes) into a :class:`Node`.

    A form that is a valid annotation but cannot be checked at run time (a
    non-runtime ``Protocol``, ``Self``, ``P.args``, an unresolved name) raises
    ``ValidationError`` when ``strict``, else compiles to "not checked".
    """
    return _Compiler(strict=strict).compile(tp, 0)


def unpacked(tp: object) -> object | None:
    """What ``Unpack[X]`` (or ``*X``) unpacks, or ``None`` when ``tp`` is not unpacked."""
    if _form_name(typing.get_origin(tp)) == "Unpack":
        inner: object = typing.get_args(tp)[0]
        return inner
    if getattr(tp, "__unpacked__", False) is True:  # *tuple[int, str] (3.11+)
        return tuple[typing.get_args(tp)]  # type: ignore[misc]
    return None


def _resolve_in_module(ref: object, module: str) -> object:
    """Resolve a forward reference (a ``TypeVar`` bound) in the module that defined it."""
    import sys

    def carrier() -> None:
        """Holds the reference while ``typing.get_type_hints`` resolves it."""

    carrier.__annotations__ = {"x": ref}
    namespace = getattr(sys.modules.get(module), "__dict__", {})
    return typing.get_type_hints(carrier, globalns=namespace, include_extras=True)["x"]


class _Compiler:
    """One compilation: its strictness and the TypedDicts being compiled (recursion)."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.building: dict[type, RefNode] = {}

    def skip(self, tp: object, why: str) -> Node:
        if self.strict:
            raise _unsupported(tp, why)
        return AnyNode()

    def compile(self, tp: object, depth: int) -> Node:  # noqa: C901, PLR0911, PLR0912
        if depth > _MAX_DEPTH:
            raise _unsupported(tp, "nested too deeply (a recursive alias?)")
        if tp is Any or tp is object:
            return AnyNode()
        if tp is None or tp is type(None):
            return NoneNode()
        if isinstance(tp, tuple):
            if not tp:
                raise _unsupported(tp, "an empty tuple of types")
            return _union([self.compile(item, depth + 1) for item in tp])
        if isinstance(tp, str | typing.ForwardRef | Unresolved):
            return self.skip(tp, "a forward reference that was not resolved")
        if isinstance(tp, typing.ParamSpecArgs | typing.ParamSpecKwargs):
            return self.skip(tp, "P.args and P.kwargs stand for any arguments")
        name = _form_name(tp)
        if tp is typing.NoReturn or name == "Never" or repr(tp).endswith(".Never"):
            return NeverNode()
        if name == "LiteralString" or repr(tp).endswith(".LiteralString"):
            return ClassNode((str,))
        if name == "Self" or repr(tp).endswith(".Self"):
            return self.skip(tp, "Self depends on the class of the call")
        if type(tp).__name__ == "TypeVarTuple" or unpacked(tp) is not None:
            return self.skip(tp, "an unpacked TypeVarTuple or tuple stands for several values")
        if isinstance(tp, typing.TypeVar):
            return self._typevar(tp, depth)
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None and callable(tp):  # NewType
            return self.compile(supertype, depth + 1)
        if type(tp).__name__ == "TypeAliasType":  # `type X = ...` (3.12+)
            return self.compile(tp.__value__, depth + 1)  # type: ignore[attr-defined]
        origin = typing.get_origin(tp)
        if origin is not None:
            return self._generic(tp, origin, typing.get_args(tp), depth)
        if isinstance(tp, type):
            return self._class(tp, depth)
        raise _unsupported(tp, "not a class or a supported typing form")

    def _typevar(self, tp: typing.TypeVar, depth: int) -> Node:
        if tp.__constraints__:
            return _union([self.compile(c, depth + 1) for c in tp.__constraints__])
        try:
            bound = tp.__bound__  # evaluated lazily (and may fail) for `def f[T: X]`
            if isinstance(bound, str | typing.ForwardRef):  # TypeVar("T", bound="Model")
                bound = _resolve_in_module(bound, getattr(tp, "__module__", ""))
        except NameError:
            return self.skip(tp, "its bound names a class that cannot be resolved")
        return AnyNode() if bound is None else self.compile(bound, depth + 1)

    def _class(self, tp: type, depth: int) -> Node:
        if _is_typeddict(tp):
            return self._typeddict(tp, depth)
        if getattr(tp, "_is_protocol", False):
            if not getattr(tp, "_is_runtime_protocol", False):
                return self.skip(tp, "a Protocol must be @runtime_checkable to be checked")
            return ClassNode((tp,))
        if tp.__module__ == "collections.abc" and tp.__name__ == "Callable":
            return CallableNode("Callable")
        return ClassNode((tp,))

    def _typeddict(self, tp: type, depth: int) -> Node:
        ref = self.building.get(tp)
        if ref is not None:  # recursive: the helper being generated calls itself
            return ref
        try:
            hints = typing.get_type_hints(tp, include_extras=True)
        except NameError:
            return self.skip(tp, "one of its keys names a class that cannot be resolved")
        ref = self.building[tp] = RefNode(type_name(tp))
        try:
            fields = {key: self.compile(value, depth + 1) for key, value in hints.items()}
        finally:
            del self.building[tp]
        node = TypedDictNode(tp, fields, _required_keys(tp, hints))
        ref.target = node
        return node

    def _generic(  # noqa: C901, PLR0911, PLR0912
        self, tp: object, origin: object, args: tuple[Any, ...], depth: int
    ) -> Node:
        name = _form_name(origin) or _form_name(tp)
        if origin is typing.Union or origin is types.UnionType:
            return _union([self.compile(arg, depth + 1) for arg in args])
        if origin is typing.Literal or name == "Literal":
            values: list[object] = []
            for arg in args:  # nested Literal[...] flatten
                nested = typing.get_origin(arg) is typing.Literal
                values += typing.get_args(arg) if nested else [arg]
            return LiteralNode(tuple(values))
        if name in _UNWRAP or origin is typing.Annotated:
            return self.compile(args[0], depth + 1)
        expected = type_name(tp)
        if origin is type:
            return self._subclass(tp, args, expected, depth)
        if origin is cabc.Callable:
            return CallableNode(expected)
        if not isinstance(origin, type):
            raise _unsupported(tp, "not a class or a supported typing form")
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:  # noqa: PLR2004 - tuple[T, ...]
                return ContainerNode(tuple, self.compile(args[0], depth + 1), None, expected)
            if args == ((),):  # tuple[()] on 3.10
                args = ()
            if any(unpacked(arg) is not None for arg in args):  # tuple[int, *Ts]: any length
                return ClassNode((tuple,))
            return TupleNode([self.compile(arg, depth + 1) for arg in args], expected)
        if issubclass(origin, cabc.Mapping) and len(args) == 2:  # noqa: PLR2004
            keys = self.compile(args[0], depth + 1)
            return ContainerNode(origin, self.compile(args[1], depth + 1), keys, expected)
        if origin is cabc.Iterable and len(args) == 1:
            items = self.compile(args[0], depth + 1)
            return ContainerNode(origin, items, None, expected, only_collections=True)
        if (
            issubclass(origin, cabc.Collection)
            and not issubclass(origin, _NOT_ITERATED)
            and len(args) == 1
        ):
            return ContainerNode(origin, self.compile(args[0], depth + 1), None, expected)
        return self._class(origin, depth)

    def _subclass(self, tp: object, args: tuple[Any, ...], expected: str, depth: int) -> Node:
        if not args or args[0] is Any:
            return SubclassNode(None, expected)
        inner = self.compile(args[0], depth + 1)
        if isinstance(inner, AnyNode):
            return SubclassNode(None, expected)
        members = inner.members if isinstance(inner, UnionNode) else [inner]
        if not all(isinstance(member, ClassNode) for member in members):
            raise _unsupported(tp, "type[...] takes classes only")
        bases = tuple(cls for member in members for cls in member.declared)  # type: ignore[attr-defined]
        if not all(map(_supports_issubclass, bases)):
            raise _unsupported(tp, "issubclass() cannot check a protocol with data members")
        return SubclassNode(bases, expected)


def _required_keys(tp: type, hints: dict[str, Any]) -> frozenset[str]:
    """The keys a ``TypedDict`` requires, reading ``Required`` / ``NotRequired`` from ``hints``.

    ``__required_keys__`` misses them when the class sees its annotations as strings
    (``from __future__ import annotations``), so the resolved hints decide.
    """
    required = set(getattr(tp, "__required_keys__", ()))
    for key, hint in hints.items():
        form = hint
        while True:
            origin = typing.get_origin(form)
            marker = _form_name(origin)
            if origin is typing.Annotated or marker == "ReadOnly":
                form = typing.get_args(form)[0]
                continue
            if marker == "Required":
                required.add(key)
            elif marker == "NotRequired":
                required.discard(key)
            break
    return frozenset(required)


def _is_typeddict(tp: type) -> bool:
    return issubclass(tp, dict) and hasattr(tp, "__required_keys__") and hasattr(tp, "__total__")


def _union(members: list[Node]) -> Node:
    flat: list[Node] = []
    for member in members:
        flat += member.members if isinstance(member, UnionNode) else [member]
    if any(isinstance(m, AnyNode) for m in flat):
        return AnyNode()
    flat = [m for m in flat if not isinstance(m, NeverNode)] or flat[:1]
    if len(flat) == 1:
        return flat[0]
    # merge plain classes into one isinstance call when bool handling allows it
    plain = [m for m in flat if isinstance(m, ClassNode) and not m.no_bool]
    if len(plain) > 1:
        merged = ClassNode(tuple(cls for m in plain for cls in m.declared))
        merged.expected = " | ".join(m.expected for m in plain)
        rest = [m for m in flat if m not in plain]
        flat = [merged, *rest]
        if len(flat) == 1:
            return merged
    # cheap members first: None before classes before containers
    flat.sort(key=lambda m: 0 if isinstance(m, NoneNode) else 1 if m.inline else 2)
    return UnionNode(flat)
