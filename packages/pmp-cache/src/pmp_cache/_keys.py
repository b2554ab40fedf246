"""How call arguments become cache keys, and naming the argument that cannot.

Functions whose parameters are all named (no ``*args`` / ``**kwargs``) get a
generated wrapper (see ``_fastpath``) keyed by the *bound* arguments with
defaults applied: ``f(1)``, ``f(x=1)`` and ``f(1, y=0)`` share one entry. A
single parameter is keyed by the argument itself, several by their tuple.

Functions taking ``*args`` or ``**kwargs`` are keyed by the call's shape:

- one positional argument that is not a tuple: the argument itself;
- otherwise the tuple of positional arguments, followed, when keywords are
  given, by a marker and the ``(name, value)`` pairs sorted by name (so
  ``f(a=1, b=2)`` and ``f(b=2, a=1)`` share an entry, while ``f(1)`` and
  ``f(x=1)`` are separate entries, as with ``functools.lru_cache``).

Either way, with ``typed=False`` equal values such as ``1``, ``1.0`` and
``True`` share one entry; ``typed=True`` adds every argument's type to the key.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from pmp_cache._errors import UnhashableArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["argument_forms", "bound_key", "make_key", "unhashable_error"]


class _KeywordMark:
    """Separates positional from keyword arguments inside a key."""

    __slots__ = ()


_KWMARK = _KeywordMark()


def make_key(args: tuple[Any, ...], kwargs: dict[str, Any], typed: bool) -> Hashable:
    """Return the cache key for a call (see the module docstring for the rules)."""
    if not kwargs and not typed and len(args) == 1:
        first = args[0]
        return args if isinstance(first, tuple) else first
    key: tuple[Any, ...] = args
    if kwargs:
        key += (_KWMARK,)
        items = sorted(kwargs.items())
        for item in items:
            key += item
        if typed:
            key += tuple(type(value) for value in args)
            key += tuple(type(value) for _, value in items)
    elif typed:
        key += tuple(type(value) for value in args)
    return key


def bound_key(values: list[Any], *, typed: bool) -> Any:
    """The key a generated wrapper builds from the bound argument values."""
    if typed:
        return (*values, *(type(v) for v in values))
    if len(values) == 1:
        return values[0]
    return tuple(values)


def _parameter_names(func: Callable[..., Any]) -> list[str] | None:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    return [
        p.name
        for p in params
        if p.kind in {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
    ]


def unhashable_error(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], skip: int = 0
) -> UnhashableArgumentError | None:
    """Return an error naming the first unhashable argument, or ``None`` if all hash.

    ``skip`` leading parameters (``self`` of a method) are not part of ``args``.
    """
    names = (_parameter_names(func) or [])[skip:]
    candidates: list[tuple[str, Any]] = [
        (names[i] if i < len(names) else f"args[{i}]", value) for i, value in enumerate(args)
    ]
    candidates += list(kwargs.items())
    for name, value in candidates:
        try:
            hash(value)
        except TypeError:  # noqa: PERF203 - error path only
            qualname = getattr(func, "__qualname__", repr(func))
            return UnhashableArgumentError(
                f"argument {name!r} of cached function {qualname}() is unhashable "
                f"({type(value).__name__}); pass a hashable value such as a tuple or frozenset, "
                "or give the decorator a key= function",
                field=name,
                value=value,
            )
    return None


def argument_forms(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], skip: int = 0
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every way of passing the same arguments positionally or by keyword.

    ``f(1, 2)``, ``f(1, y=2)`` and ``f(x=1, y=2)`` are separate cache entries;
    invalidating one call drops all of them. Arguments the function does not
    accept raise ``TypeError`` from the signature. ``skip`` leading parameters
    (``self`` of a method) are bound to placeholders and left out of the forms.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: only the given form
        return [(args, kwargs)]
    bound = signature.bind(*((None,) * skip), *args, **kwargs)
    positional = list(bound.args)
    keywords = dict(bound.kwargs)
    params = list(signature.parameters.values())
    forms = [(tuple(positional[skip:]), dict(keywords))]
    # Move trailing positional-or-keyword arguments into the keywords, one at a time.
    while skip < len(positional) <= len(params):
        param = params[len(positional) - 1]
        if param.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            break
        keywords = {param.name: positional.pop(), **keywords}
        forms.append((tuple(positional[skip:]), dict(keywords)))
    return forms
