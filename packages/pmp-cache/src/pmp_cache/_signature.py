"""The generated wrappers' signatures and keys: which parameters a wrapper declares.

A wrapper declares the wrapped function's own parameters (so a call packs no
``*args, **kwargs``) when they are all plain; its key is then built from the
bound arguments with their defaults. Otherwise it takes ``*args, **kwargs``
and is keyed by the shape of the call (see _keys).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._core import Core

__all__ = ["PREFIX", "call_parts", "fast_parameters"]

PREFIX = "_pmp_"  # of every name in a generated wrapper's namespace
_SIMPLE = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


def fast_parameters(func: Callable[..., Any], skip: int) -> list[inspect.Parameter] | None:
    """The parameters to generate a wrapper from, or ``None`` if the generic one must do."""
    try:
        params = list(inspect.signature(func).parameters.values())[skip:]
    except (TypeError, ValueError):  # builtins without a signature
        return None
    if any(p.kind not in _SIMPLE or p.name.startswith(PREFIX) for p in params):
        return None
    try:  # keys hold the defaults: an unhashable one calls for call-shape keys
        hash(tuple(p.default for p in params))
    except TypeError:
        return None
    return params


def _signature_source(params: list[inspect.Parameter]) -> tuple[str, dict[str, Any]]:
    parts: list[str] = []
    defaults: dict[str, Any] = {}
    positional_only = False
    star = False
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only = True
        elif positional_only:
            parts.append("/")
            positional_only = False
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = p.name
        if p.default is not inspect.Parameter.empty:
            defaults[f"{PREFIX}d{i}"] = p.default
            text += f"={PREFIX}d{i}"
        parts.append(text)
    if positional_only:
        parts.append("/")
    return ", ".join(parts), defaults


# Keys of a function taking ``*args``/``**kwargs``, by the shape of the call (see _keys);
# the common case of one positional argument is inlined.
_CALL_SHAPE_KEY = """\
    if not _pmp_kwargs and len(_pmp_args) == 1:
        _pmp_key = _pmp_args[0]
        if isinstance(_pmp_key, tuple):
            _pmp_key = _pmp_args
    else:
        _pmp_key = _pmp_make_key(_pmp_args, _pmp_kwargs)"""


def _bound_key_source(core: Core, names: list[str]) -> str:
    """The key expression of a wrapper declaring the function's own parameters."""
    if core.typed and names:
        return f"({', '.join([*names, *(f'type({n})' for n in names)])},)"
    if len(names) == 1:
        return names[0]
    return f"({', '.join(names)}{',' if names else ''})"


def call_parts(
    core: Core, params: list[inspect.Parameter] | None, lead: str
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The wrapper's signature, the defaults it refers to, and the pieces of its body.

    ``params`` is ``None`` for the generic ``*args, **kwargs`` wrapper. ``lead``
    names a leading parameter that is passed through but not part of the key
    (``self`` of a per-instance cached method).
    """
    if params is None:
        signature = f"{lead}*_pmp_args, **_pmp_kwargs"
        defaults: dict[str, Any] = {}
        generic = core.key is None and not core.typed and core.backend is None
        key = _CALL_SHAPE_KEY if generic else "    _pmp_key = _pmp_make_key(_pmp_args, _pmp_kwargs)"
        parts = {
            "key": key,
            "call": f"{lead}*_pmp_args, **_pmp_kwargs",
            "args": f"({lead}*_pmp_args)" if lead else "_pmp_args",
            "kwargs": "_pmp_kwargs",
            # the generic key already carries the namespace (Core.make_key)
            "namespaced": "_pmp_key",
        }
        return signature, defaults, parts
    signature, defaults = _signature_source(params)
    if lead:
        signature = f"{lead}{signature}" if signature else lead.rstrip(", ")
    names = [p.name for p in params]
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    parts = {
        "key": f"    _pmp_key = {_bound_key_source(core, names)}",
        "call": ", ".join(
            [*([lead.rstrip(", ")] if lead else []), *positional] + [f"{n}={n}" for n in keyword]
        ),
        "args": "(" + lead + "".join(f"{n}, " for n in positional) + ")",
        "kwargs": "{" + ", ".join(f"{n!r}: {n}" for n in keyword) + "}",
        "namespaced": "(_pmp_namespace, _pmp_key)",
    }
    return signature, defaults, parts
