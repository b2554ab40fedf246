"""Compile type annotations into fast, full-depth runtime checks.

Every annotation becomes a tree of nodes. Each node can (1) emit a Python boolean
expression, so that a whole check is generated as straight-line code with loops
(no per-item function calls for simple items), and (2) find the first failing
spot in a value, used only to explain a failure.
"""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from typing import Any, NamedTuple

from pmp_errors import ValidationError

__all__ = ["Failure", "Generator", "Node", "compile_type", "safe_repr", "type_name"]

_MAX_DEPTH = 40
_MAX_REPR = 80
_MISSING: Any = object()


def safe_repr(value: object) -> str:
    """``repr(value)`` cut to a readable length; never raises."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return f"<{type(value).__qualname__} object>"
    return text if len(text) <= _MAX_REPR else f"{text[: _MAX_REPR - 3]}..."


class Failure(NamedTuple):
    """Where a value failed its check, what was there and what was expected."""

    path: str
    value: object
    expected: str


def type_name(tp: object) -> str:
    """A short readable name for a class or annotation (``int``, ``mod.Cls``)."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:  # 3.10: list[int] looks like a class
        if tp.__module__ in {"builtins", "collections.abc", "typing"}:
            return tp.__qualname__
        return f"{tp.__module__}.{tp.__qualname__}"
    if tp is None or tp is type(None):
        return "None"
    return repr(tp).replace("typing.", "").replace("collections.abc.", "")


class Generator:
    """Collects generated helper functions and the objects they refer to."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self._count = 0

    def fresh(self, stem: str) -> str:
        """A new name, unique in the namespace."""
        self._count += 1
        return f"_pmp_{stem}{self._count}"

    def bind(self, obj: object) -> str:
        """Put ``obj`` into the namespace and return the name that refers to it."""
        for name, value in self.namespace.items():
            if value is obj and name.startswith("_pmp_k"):
                return name
        name = self.fresh("k")
        self.namespace[name] = obj
        return name

    def helper(self, node: Node) -> str:
        """Return the name of a new generated function that checks ``node``."""
        name = self.fresh("h")
        body = node.body("v", self)
        source = f"def {name}(v):\n" + "".join(f"    {line}\n" for line in body)
        exec(compile(source, f"<pmp_decorators check {node.expected}>", "exec"), self.namespace)  # noqa: S102 - source built from bound names only
        return name


class Node:
    """A compiled check for one annotation."""

    expected: str = "object"
    inline = True
    """Whether :meth:`expr` is cheap enough to repeat inside loops."""

    def expr(self, var: str, gen: Generator, /) -> str:
        """A boolean expression that is true when ``var`` passes."""
        if self.inline:
            raise NotImplementedError
        return f"{gen.helper(self)}({var})"

    def body(self, var: str, gen: Generator, /) -> list[str]:
        """The lines of a helper function that returns whether ``var`` passes."""
        raise NotImplementedError

    def outer_ok(self, _value: object, /) -> bool:
        """Whether a failing value has this container's outer shape (explains unions)."""
        return False

    def find(self, value: object, path: str, /) -> Failure | None:
        """The first failing spot in ``value``, or ``None`` when it passes."""
        raise NotImplementedError


class AnyNode(Node):
    expected = "Any"

    def expr(self, _var: str, _gen: Generator, /) -> str:
        return "True"

    def find(self, _value: object, _path: str, /) -> Failure | None:
        return None


class NeverNode(Node):
    expected = "Never"

    def expr(self, _var: str, _gen: Generator, /) -> str:
        return "False"

    def find(self, value: object, path: str, /) -> Failure | None:
        return Failure(path, value, self.expected)


class NoneNode(Node):
    expected = "None"

    def expr(self, var: str, _gen: Generator, /) -> str:
        return f"{var} is None"

    def find(self, value: object, path: str, /) -> Failure | None:
        return None if value is None else Failure(path, value, self.expected)


def _bool_is_a(cls: type) -> bool:
    try:
        return issubclass(bool, cls)
    except TypeError:  # a protocol with data members supports isinstance only
        return False


def _supports_issubclass(cls: type) -> bool:
    try:
        issubclass(type("_Probe", (), {}), cls)  # a fresh class: no cached answer
    except TypeError:
        return False
    return True


class ClassNode(Node):
    """``isinstance`` against classes; ``bool`` never passes for ``int``/``float``/``complex``."""

    def __init__(self, classes: tuple[type, ...]) -> None:
        self.declared = classes
        accepted: list[type] = []
        for cls in classes:  # PEP 484 numeric tower: int passes for float, both for complex
            accepted.append(cls)
            if cls is float:
                accepted.append(int)
            elif cls is complex:
                accepted += [float, int]
        self.classes = tuple(dict.fromkeys(accepted))
        self.no_bool = bool not in self.classes and any(map(_bool_is_a, self.classes))
        self.expected = " | ".join(type_name(cls) for cls in classes)

    def expr(self, var: str, gen: Generator, /) -> str:
        classes = self.classes
        target = gen.bind(classes[0] if len(classes) == 1 else classes)
        if not self.no_bool:
            return f"isinstance({var}, {target})"
        exact = gen.bind(classes[0])
        return (
            f"(type({var}) is {exact} or (isinstance({var}, {target})"
            f" and {var} is not True and {var} is not False))"
        )

    def accepts(self, value: object) -> bool:
        return isinstance(value, self.classes) and not (self.no_bool and isinstance(value, bool))

    def find(self, value: object, path: str, /) -> Failure | None:
        return None if self.accepts(value) else Failure(path, value, self.expected)


class UnionNode(Node):
    def __init__(self, members: list[Node]) -> None:
        self.members = members
        self.expected = " | ".join(
            f"({m.expected})" if isinstance(m, CallableNode) else m.expected for m in members
        )
        self.inline = all(m.inline for m in members)

    def expr(self, var: str, gen: Generator, /) -> str:
        if not self.inline:
            return super().expr(var, gen)
        return "(" + " or ".join(f"({m.expr(var, gen)})" for m in self.members) + ")"

    def body(self, var: str, gen: Generator, /) -> list[str]:
        return [f"return {' or '.join(f'({m.expr(var, gen)})' for m in self.members)}"]

    def find(self, value: object, path: str, /) -> Failure | None:
        failures = []
        for member in self.members:
            failure = member.find(value, path)
            if failure is None:
                return None
            failures.append((member, failure))
        for member, failure in failures:  # explain the member whose outer type matched
            if member.outer_ok(value):
                return failure
        return Failure(path, value, self.expected)


class LiteralNode(Node):
    def __init__(self, values: tuple[object, ...]) -> None:
        self.values = values
        self.expected = f"Literal[{', '.join(safe_repr(v) for v in values)}]"
        self.inline = False

    def body(self, var: str, gen: Generator, /) -> list[str]:
        pairs = gen.bind(tuple((type(v), v) for v in self.values))
        return [
            f"t = type({var})",
            f"for c, x in {pairs}:",
            f"    if t is c and ({var} is x or {var} == x):",
            "        return True",
            "return False",
        ]

    def find(self, value: object, path: str, /) -> Failure | None:
        for literal in self.values:
            if type(value) is type(literal) and (value is literal or value == literal):
                return None
        return Failure(path, value, self.expected)


class CallableNode(Node):
    def __init__(self, expected: str) -> None:
        self.expected = expected

    def expr(self, var: str, _gen: Generator, /) -> str:
        return f"callable({var})"

    def find(self, value: object, path: str, /) -> Failure | None:
        return None if callable(value) else Failure(path, value, self.expected)


class SubclassNode(Node):
    """``type[T]``: a class that is ``T`` or a subclass of it."""

    def __init__(self, bases: tuple[type, ...] | None, expected: str) -> None:
        self.bases = bases
        self.expected = expected

    def expr(self, var: str, gen: Generator, /) -> str:
        if self.bases is None:
            return f"isinstance({var}, type)"
        return f"(isinstance({var}, type) and issubclass({var}, {gen.bind(self.bases)}))"

    def find(self, value: object, path: str, /) -> Failure | None:
        ok = isinstance(value, type) and (self.bases is None or issubclass(value, self.bases))
        return None if ok else Failure(path, value, self.expected)


class ContainerNode(Node):
    """A container whose items (and for mappings, keys) are all checked."""

    inline = False

    def __init__(
        self,
        origin: type,
        items: Node,
        keys: Node | None,
        expected: str,
        *,
        only_collections: bool = False,
    ) -> None:
        self.origin = origin
        self.items = items
        self.keys = keys
        self.expected = expected
        self.mapping = keys is not None
        self.only_collections = only_collections

    def body(self, var: str, gen: Generator, /) -> list[str]:
        lines = [f"if not isinstance({var}, {gen.bind(self.origin)}):", "    return False"]
        if self.only_collections:
            lines += [
                (
                    f"if not isinstance({var}, {gen.bind(cabc.Collection)})"
                    f" or isinstance({var}, {gen.bind(cabc.Iterator)}):"
                ),
                "    return True",
            ]
        check_items = not isinstance(self.items, AnyNode)
        if self.keys is not None and not isinstance(self.keys, AnyNode):
            if check_items:
                lines.append(f"for k, x in {var}.items():")
                cond = f"not ({self.keys.expr('k', gen)}) or not ({self.items.expr('x', gen)})"
            else:
                lines.append(f"for k in {var}:")
                cond = f"not ({self.keys.expr('k', gen)})"
        elif check_items:
            source = f"{var}.values()" if self.mapping else var
            lines.append(f"for x in {source}:")
            cond = f"not ({self.items.expr('x', gen)})"
        else:
            return [*lines, "return True"]
        return [*lines, f"    if {cond}:", "        return False", "return True"]

    def outer_ok(self, value: object, /) -> bool:
        return isinstance(value, self.origin)

    def find(self, value: object, path: str, /) -> Failure | None:
        if not isinstance(value, self.origin):
            return Failure(path, value, self.expected)
        if self.only_collections and (
            not isinstance(value, cabc.Collection) or isinstance(value, cabc.Iterator)
        ):
            return None
        if self.mapping:
            return self._find_mapping(value, path)  # type: ignore[arg-type]
        is_set = isinstance(value, cabc.Set)
        for index, item in enumerate(typing.cast("cabc.Iterable[object]", value)):
            where = f"{path}{{{safe_repr(item)}}}" if is_set else f"{path}[{index}]"
            failure = self.items.find(item, where)
            if failure is not None:
                return failure
        return None

    def _find_mapping(self, value: cabc.Mapping[object, object], path: str) -> Failure | None:
        assert self.keys is not None
        for key, item in value.items():
            failure = self.keys.find(key, f"{path} key {safe_repr(key)}")
            if failure is None:
                failure = self.items.find(item, f"{path}[{safe_repr(key)}]")
            if failure is not None:
                return failure
        return None


class TupleNode(Node):
    """A fixed-length tuple, ``tuple[int, str]`` (``tuple[()]`` for the empty one)."""

    inline = False

    def __init__(self, members: list[Node], expected: str) -> None:
        self.members = members
        self.expected = expected

    def body(self, var: str, gen: Generator, /) -> list[str]:
        lines = [
            f"if not isinstance({var}, tuple) or len({var}) != {len(self.members)}:",
            "    return False",
        ]
        if not self.members:
            return [*lines, "return True"]
        names = [f"x{i}" for i in range(len(self.members))]
        lines.append(f"{', '.join(names)}, = {var}")
        checks = [f"({m.expr(n, gen)})" for m, n in zip(self.members, names, strict=True)]
        return [*lines, f"return {' and '.join(checks)}"]

    def outer_ok(self, value: object, /) -> bool:
        return isinstance(value, tuple) and len(value) == len(self.members)

    def find(self, value: object, path: str, /) -> Failure | None:
        if not self.outer_ok(value):
            return Failure(path, value, self.expected)
        assert isinstance(value, tuple)
        for index, (member, item) in enumerate(zip(self.members, value, strict=True)):
            failure = member.find(item, f"{path}[{index}]")
            if failure is not None:
                return failure
        return None


class TypedDictNode(Node):
    """A ``TypedDict``: a dict with the required keys, no unknown keys, typed values."""

    inline = False

    def __init__(self, cls: type, fields: dict[str, Node], required: frozenset[str]) -> None:
        self.fields = fields
        self.required = required
        self.expected = type_name(cls)

    def body(self, var: str, gen: Generator, /) -> list[str]:
        lines = [f"if not isinstance({var}, dict):", "    return False"]
        lines += [f"if not {gen.bind(self.required)} <= {var}.keys():", "    return False"]
        lines += [f"if not {var}.keys() <= {gen.bind(frozenset(self.fields))}:", "    return False"]
        for key, node in self.fields.items():
            if isinstance(node, AnyNode):
                continue
            lines += [
                f"x = {var}.get({key!r}, {gen.bind(_MISSING)})",
                f"if x is not {gen.bind(_MISSING)} and not ({node.expr('x', gen)}):",
                "    return False",
            ]
        return [*lines, "return True"]

    def outer_ok(self, value: object, /) -> bool:
        return isinstance(value, dict)

    def find(self, value: object, path: str, /) -> Failure | None:
        if not isinstance(value, dict):
            return Failure(path, value, self.expected)
        for key in sorted(self.required - value.keys()):
            return Failure(f"{path}[{key!r}]", _MissingValue(), f"required key of {self.expected}")
        for key in value:
            if key not in self.fields:
                return Failure(
                    f"{path}[{safe_repr(key)}]", value[key], f"no key of {self.expected}"
                )
        for key, node in self.fields.items():
            if key in value:
                failure = node.find(value[key], f"{path}[{key!r}]")
                if failure is not None:
                    return failure
        return None


class _MissingValue:
    """Stands for a missing ``TypedDict`` key in an error."""

    def __repr__(self) -> str:
        return "<missing>"


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


def compile_type(tp: object, depth: int = 0) -> Node:  # noqa: C901, PLR0911, PLR0912
    """Compile an annotation (or a class, or a tuple of classes) into a :class:`Node`."""
    if depth > _MAX_DEPTH:
        raise _unsupported(tp, "nested too deeply (a recursive alias?)")
    if tp is Any or tp is object:
        return AnyNode()
    if tp is None or tp is type(None):
        return NoneNode()
    if isinstance(tp, tuple):
        if not tp:
            raise _unsupported(tp, "an empty tuple of types")
        return _union([compile_type(item, depth + 1) for item in tp])
    if isinstance(tp, str | typing.ForwardRef):
        raise _unsupported(tp, "a forward reference that was not resolved")
    if tp is typing.NoReturn or _form_name(tp) == "Never" or repr(tp).endswith(".Never"):
        return NeverNode()
    if _form_name(tp) == "LiteralString" or repr(tp).endswith(".LiteralString"):
        return ClassNode((str,))
    if isinstance(tp, typing.TypeVar):
        if tp.__constraints__:
            return _union([compile_type(c, depth + 1) for c in tp.__constraints__])
        return compile_type(tp.__bound__, depth + 1) if tp.__bound__ is not None else AnyNode()
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None and callable(tp):  # NewType
        return compile_type(supertype, depth + 1)
    if type(tp).__name__ == "TypeAliasType":  # `type X = ...` (3.12+)
        return compile_type(tp.__value__, depth + 1)  # type: ignore[attr-defined]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is not None:
        return _compile_generic(tp, origin, args, depth)
    if isinstance(tp, type):
        return _compile_class(tp, depth)
    raise _unsupported(tp, "not a class or a supported typing form")


def _compile_class(tp: type, depth: int) -> Node:
    if _is_typeddict(tp):
        hints = typing.get_type_hints(tp)
        fields = {key: compile_type(value, depth + 1) for key, value in hints.items()}
        return TypedDictNode(tp, fields, frozenset(getattr(tp, "__required_keys__", ())))
    if getattr(tp, "_is_protocol", False):
        if not getattr(tp, "_is_runtime_protocol", False):
            raise _unsupported(tp, "a Protocol must be @runtime_checkable to be checked")
        return ClassNode((tp,))
    if tp.__module__ == "collections.abc" and tp.__name__ == "Callable":
        return CallableNode("Callable")
    return ClassNode((tp,))


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


def _compile_generic(  # noqa: C901, PLR0911, PLR0912
    tp: object, origin: object, args: tuple[Any, ...], depth: int
) -> Node:
    name = _form_name(origin) or _form_name(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union([compile_type(arg, depth + 1) for arg in args])
    if origin is typing.Literal or name == "Literal":
        values: list[object] = []
        for arg in args:  # nested Literal[...] flatten
            values += typing.get_args(arg) if typing.get_origin(arg) is typing.Literal else [arg]
        return LiteralNode(tuple(values))
    if name in _UNWRAP or origin is typing.Annotated:
        return compile_type(args[0], depth + 1)
    expected = type_name(tp)
    if origin is type:
        if not args or args[0] is Any:
            return SubclassNode(None, expected)
        inner = compile_type(args[0], depth + 1)
        if isinstance(inner, AnyNode):
            return SubclassNode(None, expected)
        members = inner.members if isinstance(inner, UnionNode) else [inner]
        if not all(isinstance(member, ClassNode) for member in members):
            raise _unsupported(tp, "type[...] takes classes only")
        bases = tuple(cls for member in members for cls in member.declared)  # type: ignore[attr-defined]
        if not all(map(_supports_issubclass, bases)):
            raise _unsupported(tp, "issubclass() cannot check a protocol with data members")
        return SubclassNode(bases, expected)
    if origin is cabc.Callable:
        return CallableNode(expected)
    if not isinstance(origin, type):
        raise _unsupported(tp, "not a class or a supported typing form")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:  # noqa: PLR2004 - tuple[T, ...]
            return ContainerNode(tuple, compile_type(args[0], depth + 1), None, expected)
        if args == ((),):  # tuple[()] on 3.10
            args = ()
        return TupleNode([compile_type(arg, depth + 1) for arg in args], expected)
    if issubclass(origin, cabc.Mapping) and len(args) == 2:  # noqa: PLR2004
        keys = compile_type(args[0], depth + 1)
        return ContainerNode(origin, compile_type(args[1], depth + 1), keys, expected)
    if origin is cabc.Iterable and len(args) == 1:
        return ContainerNode(
            origin, compile_type(args[0], depth + 1), None, expected, only_collections=True
        )
    if (
        issubclass(origin, cabc.Collection)
        and not issubclass(origin, _NOT_ITERATED)
        and len(args) == 1
    ):
        return ContainerNode(origin, compile_type(args[0], depth + 1), None, expected)
    return _compile_class(origin, depth)
