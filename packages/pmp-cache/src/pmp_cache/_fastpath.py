"""Wrappers generated with the wrapped function's own parameters, for the fastest hits.

Packing ``*args, **kwargs`` costs a tuple and a dict on every call; a wrapper
that declares ``def f(user_id)`` like the function itself does not. It is
generated once per decorated function (as dishka and wireup compile their
factories). The key is built from the bound arguments with defaults applied,
so ``f(1)``, ``f(x=1)`` and ``f(1, y=0)`` (when ``y`` defaults to ``0``) share
one entry; a function with a single parameter is keyed by the argument itself.

With a backend the key is ``(namespace, key)`` and misses go through
``Core.fetch``. A backend with in-process tiers (``RedisCache(local_maxsize=...)``)
gives the function its own tier, keyed by the plain key, which the wrapper reads
directly as it reads the in-memory store. Tier hits do not refresh recency: a
tier evicts the entry stored longest ago, and a hot entry is stored again at
least every ``local_ttl`` seconds anyway.

Functions taking ``*args`` or ``**kwargs`` keep the generic wrappers.
"""

from __future__ import annotations

import inspect
import time as _time
from typing import TYPE_CHECKING, Any

from pmp_cache._core import Flight
from pmp_cache._lru import MISSING, LRUCache, _TimedDict

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._core import Core

__all__ = ["compile_wrapper", "fast_parameters"]

_PREFIX = "_pmp_"
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
    if any(p.kind not in _SIMPLE or p.name.startswith(_PREFIX) for p in params):
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
            defaults[f"{_PREFIX}d{i}"] = p.default
            text += f"={_PREFIX}d{i}"
        parts.append(text)
    if positional_only:
        parts.append("/")
    return ", ".join(parts), defaults


_SYNC_MISS = """
        {store}._misses += 1
        flight = {begin}(key)
        if type(flight) is not {Flight}:
            return flight
        try:
            value = {func}({call})
        except BaseException as exc:
            {fail}(key, flight, exc)
            raise
        {finish}(key, flight, value)
        return value
"""

_ASYNC_MISS = """
        {store}._misses += 1
        return await {amiss}(key, ({positional}), {{{keywords}}})
"""

_SYNC_FETCH = """
        return {fetch}(({namespace}, key), ({positional}), {{{keywords}}})
"""

_ASYNC_FETCH = """
        return await {afetch}(({namespace}, key), ({positional}), {{{keywords}}})
"""

_REMOTE_TEMPLATE = """
def {make}({injected}):
    {kw}def {name}({signature}):
        key = {key}
{miss}
    return {name}
"""

_TEMPLATE = """
def {make}({injected}):
    {kw}def {name}({signature}):
        key = {key}
        try:
            entry = {get}(key, {MISSING})
        except TypeError:
            {check_key}(({positional}), {{{keywords}}})
            raise
        if entry is not {MISSING}:
{hit}
{miss}
    return {name}
"""

_PLAIN_HIT = """\
            try:
                {move}(key)
            except KeyError:
                pass
            {store}._hits += 1
            return entry"""

_TIMED_HIT = """\
            if entry[1] > ({monotonic}() if {timer} is None else {timer}()):
                try:
                    {move}(key)
                except KeyError:
                    pass
                {store}._hits += 1
                return entry[0]
            {store}._drop_expired(key, entry)"""

_TIER_HIT = """\
            if entry[1] > {clock}():
                {store}._hits += 1
                return entry[0]
            {store}._drop_expired(key, entry)"""


def _local_tier(core: Core) -> LRUCache[Any, Any] | None:
    """The function's tier in the backend when it can be read directly, else ``None``."""
    make = getattr(core.backend, "local_tier", None)
    tier = make(core.namespace) if callable(make) else None
    if isinstance(tier, LRUCache) and type(tier._data) is _TimedDict:  # noqa: SLF001
        return tier
    return None


def compile_wrapper(
    core: Core, params: list[inspect.Parameter], *, is_async: bool
) -> Callable[..., Any]:
    """Generate the hit/miss wrapper for ``params`` over the in-memory store or the backend."""
    store = core.store
    remote = store is None
    if store is None:
        store = _local_tier(core)
    signature, defaults = _signature_source(params)
    names = [p.name for p in params]
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    if core.typed and names:
        key = f"({', '.join([*names, *(f'type({n})' for n in names)])},)"
    elif len(names) == 1:
        key = names[0]
    else:
        key = f"({', '.join(names)}{',' if names else ''})"
    data = None if store is None else store._data  # noqa: SLF001 - private to this function
    # Injected as arguments of the maker, so the wrapper reads them as fast closure cells.
    injected: dict[str, Any] = {
        "namespace": core.namespace,
        "get": None if data is None else data.get,
        "move": None if data is None else data.move_to_end,
        "store": store,
        "fetch": core.fetch,
        "afetch": core.afetch,
        "MISSING": MISSING,
        "Flight": Flight,
        "begin": core.begin,
        "finish": core.finish,
        "fail": core.fail,
        "amiss": core.amiss,
        "func": core.func,
        "check_key": core.check_key,
        "timer": None if store is None else store._timer,  # noqa: SLF001
        "clock": _time.monotonic,
    }
    fmt = {name: f"{_PREFIX}{name}" for name in injected}
    fmt["monotonic"] = "_pmp_time.monotonic"  # looked up per call, so patching it works
    fmt |= {
        "call": ", ".join([*positional, *(f"{n}={n}" for n in keyword)]),
        "positional": "".join(f"{n}, " for n in positional),
        "keywords": ", ".join(f"{n!r}: {n}" for n in keyword),
    }
    hit = _TIMED_HIT if type(data) is _TimedDict else _PLAIN_HIT
    if remote:
        hit = _TIER_HIT
        miss = _ASYNC_FETCH if is_async else _SYNC_FETCH
    else:
        miss = _ASYNC_MISS if is_async else _SYNC_MISS
    source = (_TEMPLATE if data is not None else _REMOTE_TEMPLATE).format(
        make=f"{_PREFIX}make",
        injected=", ".join([*(fmt[n] for n in injected), *defaults]),
        kw="async " if is_async else "",
        name=f"{_PREFIX}wrapper",
        signature=signature,
        key=key,
        hit=hit.format(**fmt),
        miss=miss.format(**fmt),
        **fmt,
    )
    namespace: dict[str, Any] = {"_pmp_time": _time}
    exec(compile(source, f"<pmp_cache wrapper of {core.namespace}>", "exec"), namespace)  # noqa: S102 - source built above from parameter names only
    maker: Callable[..., Callable[..., Any]] = namespace[f"{_PREFIX}make"]
    return maker(*injected.values(), *defaults.values())
