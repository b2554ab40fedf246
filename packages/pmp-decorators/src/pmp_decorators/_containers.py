"""Nodes that check containers item by item: collections, mappings, tuples, TypedDicts."""

from __future__ import annotations

import collections.abc as cabc
import typing
from typing import Any

from pmp_decorators._nodes import AnyNode, Failure, Generator, Node, safe_repr, type_name

__all__ = ["ContainerNode", "RefNode", "TupleNode", "TypedDictNode"]

_MISSING: Any = object()


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


class RefNode(Node):
    """A node met again while it is being compiled: a recursive ``TypedDict``.

    ``target`` is set once the outer node is built; checks and explanations are
    delegated to it, and the generated helper calls itself by name.
    """

    inline = False

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self.target: Node | None = None

    def _node(self) -> Node:
        assert self.target is not None, "a RefNode is used only after its target is built"
        return self.target

    def expr(self, var: str, gen: Generator, /) -> str:
        return self._node().expr(var, gen)

    def outer_ok(self, value: object, /) -> bool:
        return self._node().outer_ok(value)

    def find(self, value: object, path: str, /) -> Failure | None:
        return self._node().find(value, path)
