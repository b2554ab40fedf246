"""The nodes that compiled annotations are made of.

Every annotation becomes a tree of nodes. Each node can (1) emit a Python boolean
expression, so that a whole check is generated as straight-line code with loops
(no per-item function calls for simple items), and (2) find the first failing
spot in a value, used only to explain a failure.
"""

from __future__ import annotations

import typing
from typing import Any, NamedTuple

__all__ = [
    "AnyNode",
    "CallableNode",
    "ClassNode",
    "Failure",
    "Generator",
    "LiteralNode",
    "NeverNode",
    "Node",
    "NoneNode",
    "SubclassNode",
    "UnionNode",
    "safe_repr",
    "type_name",
]

_MAX_REPR = 80


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
        self._helpers: dict[int, tuple[Node, str]] = {}

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
        """Return the name of the generated function that checks ``node`` (made once).

        The name is known before the body is generated, so a recursive node (a
        ``TypedDict`` that contains itself) calls its own helper.
        """
        known = self._helpers.get(id(node))
        if known is not None:
            return known[1]
        name = self.fresh("h")
        self._helpers[id(node)] = (node, name)  # keeps node alive, so its id stays unique
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


_NO_BOOL = frozenset({int, float, complex})


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
        # only the numeric classes refuse bool; Hashable, Number, SupportsInt... accept it
        self.no_bool = bool not in self.classes and any(cls in _NO_BOOL for cls in self.classes)
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
