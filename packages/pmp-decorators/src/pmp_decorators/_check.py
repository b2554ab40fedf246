"""Checking one value against a type: ``check_type``, and the error every check raises."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from pmp_decorators._errors import TypeValidationError
from pmp_decorators._nodes import Failure, Generator, Node, safe_repr
from pmp_decorators._types import compile_type

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["check_type", "describe", "make_error"]

T = TypeVar("T")

_PREDICATES: dict[object, tuple[Node, Callable[[object], bool]]] = {}
_MAX_CACHED = 1024


def describe(value: object) -> str:
    """A value for an error message: its type and a short, safe repr."""
    return f"{type(value).__qualname__} {safe_repr(value)}"


def make_error(
    label: str, field: str, failure: Failure, *, default: bool = False
) -> TypeValidationError:
    """The error for ``failure`` of ``field`` (a parameter, or ``"return"``) in ``label``."""
    what = "return value" if field == "return" else f"argument {field!r}"
    if default:
        what = f"the default of {what}"
    where = "" if failure.path == field else f" at {failure.path}"
    return TypeValidationError(
        f"{label}: {what}{where} must be {failure.expected}, got {describe(failure.value)}",
        field=field,
        value=failure.value,
        expected=failure.expected,
        path=failure.path,
    )


def _predicate(expected: object) -> tuple[Node, Callable[[object], bool]]:
    try:
        return _PREDICATES[expected]
    except (KeyError, TypeError):
        pass
    node = compile_type(expected)
    namespace: dict[str, Any] = {}
    gen = Generator(namespace)
    source = f"def _pmp_check(v):\n    return {node.expr('v', gen)}\n"
    exec(compile(source, "<pmp_decorators check_type>", "exec"), namespace)  # noqa: S102 - generated from bound names
    entry = (node, namespace["_pmp_check"])
    try:
        if len(_PREDICATES) >= _MAX_CACHED:
            _PREDICATES.clear()
        _PREDICATES[expected] = entry
    except TypeError:  # unhashable annotation: not cached
        pass
    return entry


@overload
def check_type(value: object, expected: type[T], *, name: str = ...) -> T: ...
@overload
def check_type(value: object, expected: Any, *, name: str = ...) -> Any: ...
def check_type(value: object, expected: Any, *, name: str = "value") -> Any:
    """Return ``value`` if it matches ``expected`` in full, else raise ``TypeValidationError``.

    Accepts every annotation that :func:`validate_types` accepts; containers are
    checked item by item, to any depth.

    >>> check_type([1, 2, 3], list[int])
    [1, 2, 3]
    >>> check_type({"a": 1, "b": "x"}, dict[str, int], name="d")
    Traceback (most recent call last):
    ...
    pmp_decorators._errors.TypeValidationError: check_type(): argument 'd' at d['b'] must be int, got str 'x'
    """  # noqa: E501
    node, predicate = _predicate(expected)
    if predicate(value):
        return value
    failure = node.find(value, name)
    assert failure is not None
    raise make_error("check_type()", name, failure)
