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

import re
import sys
import textwrap
import threading
import time as _time
from typing import TYPE_CHECKING, Any

from pmp_cache._lru import LRUCache
from pmp_cache._reentry import COMPUTING
from pmp_cache._signature import PREFIX, call_parts
from pmp_cache._store import MISSING, Internals, internals

if TYPE_CHECKING:
    import inspect
    from collections.abc import Callable

    from pmp_cache._core import Core

__all__ = ["compile_wrapper"]


# The generated code reads what it needs as globals of its own namespace (prefixed
# ``_pmp_``): on CPython 3.11-3.13 a specialised global load is cheaper than a
# closure cell, about 10 ns a hit.

_SYNC_MISS = """
    _pmp_flight = [_pmp_ident(), None, _pmp_MISSING, None, None]
    if _pmp_register(_pmp_key, _pmp_flight) is not _pmp_flight or _pmp_key in _pmp_data:
        _pmp_value = _pmp_begin(_pmp_key, _pmp_flight)  # another flight has it, or its value came
        if _pmp_value is not _pmp_flight:
            return _pmp_value  # counted by begin: a hit, or a miss if the computation failed
    _pmp_next(_pmp_miss_ticks)
    _pmp_flight[4] = _pmp_mark(_pmp_flight)  # the token, see _reentry
    try:{miss_hook}
        _pmp_value = _pmp_func({call})
{unless_call}
    except _pmp_BaseException as _pmp_exc:
        _pmp_unmark(_pmp_flight[4])
        _pmp_fail(_pmp_key, _pmp_flight, _pmp_exc)
        raise
    _pmp_unmark(_pmp_flight[4])
{unless_skip}
{store_value}
    return _pmp_value
"""

# With ``unless=``: a result it refuses goes to the waiters but is not stored.
_UNLESS_CALL = """\
        _pmp_refused = _pmp_unless(_pmp_value)"""

_UNLESS_SKIP = """\
    if _pmp_refused:
        _pmp_finish(_pmp_key, _pmp_flight, _pmp_value, keep=False)
        return _pmp_value"""

# ``Core.finish`` inlined: the value goes to the waiters, and into the store if the
# flight is still registered, before the flight is unregistered.
_STORE_VALUE = """\
{now}
    _pmp_lock.get()
    try:
        _pmp_flight[2] = _pmp_value
        if _pmp_flight_of(_pmp_key) is _pmp_flight:
            try:
{insert}
            finally:
                del _pmp_flights[_pmp_key]
    finally:
        _pmp_lock.put(None)
        if _pmp_flight[1] is not None:
            _pmp_flight[1].set()"""

_INSERT = """\
                _pmp_insert(_pmp_key, _pmp_value, None)"""

# ``LRUCache``'s insert inlined for a bounded store; the evicted entry is released
# after the lock; a full store with deadlines frees a slot through ``make_room``
# (expired entries first). The store does not hold the key: it did not once the flight was
# registered (else ``begin`` returned the value or dropped the expired entry), and
# while a flight is registered only its owner stores its key.
_PLAIN_INSERT = """\
                if _pmp_len(_pmp_data) >= {maxsize}:
                    _pmp_evicted = _pmp_popitem(False)
                    _pmp_next(_pmp_eviction_ticks){evict_hook}
                _pmp_data[_pmp_key] = _pmp_value"""

_TIMED_INSERT = """\
                if _pmp_len(_pmp_data) >= {maxsize}:
                    if _pmp_now < _pmp_counts.next_expiry:  # nothing has expired: evict the LRU
                        _pmp_evicted = _pmp_popitem(False)
                        _pmp_next(_pmp_eviction_ticks){evict_hook}
                    else:
                        _pmp_make_room(_pmp_now)
                _pmp_data[_pmp_key] = (_pmp_value, _pmp_now + _pmp_ttl)"""

_ASYNC_MISS = """
    return await _pmp_amiss(_pmp_key, {args}, {kwargs})
"""

_SYNC_FETCH = """
    return _pmp_fetch({namespaced}, {args}, {kwargs})
"""

_ASYNC_FETCH = """
    return await _pmp_afetch({namespaced}, {args}, {kwargs})
"""

_REMOTE_TEMPLATE = """
{kw}def _pmp_wrapper({signature}):
{key}
{miss}
"""

# The hit runs inside the ``try`` that names an unhashable argument, so that it jumps over
# no handler (about 35 instructions a hit, CPython 3.11); a ``TypeError`` raised there
# (by an ``on_event`` hook, say) is re-raised unchanged, as ``check_key`` finds the key hashable.
_TEMPLATE = """
{kw}def _pmp_wrapper({signature}):
{key}
    try:
        _pmp_entry = _pmp_get(_pmp_key, _pmp_MISSING)
        if _pmp_entry is not _pmp_MISSING:
{hit}
    except _pmp_TypeError:
        _pmp_check_key({args}, {kwargs})
        raise
{miss}
"""

# The one hit: recency (unless reading a backend's tier, see above), the counter, the value.
_HIT = """\
{i}try:
{i}    _pmp_move(_pmp_key)
{i}except _pmp_KeyError:
{i}    pass
{i}_pmp_next(_pmp_hit_ticks){hook}
{i}return {value}"""

# Entries with deadlines are hits while fresh, else dropped (then a miss). With ``stale=``,
# an expired entry is served stale for ``stale`` more seconds (see _stale): the fresh hit
# is the same as without it, and the clock is read again only past the deadline.
_FRESH = """\
        if _pmp_entry[1] > {now}:
{hit}
{stale}        _pmp_drop_expired(_pmp_key, _pmp_entry)"""

_STALE = """\
        if _pmp_entry[1] + {stale!r} > {now}:
            return _pmp_serve_stale(_pmp_key, _pmp_entry[0], {args}, {kwargs})
"""


def _hit_source(
    core: Core, mem: Internals, *, tier: bool, hook: bool, parts: dict[str, str]
) -> str:
    """The hit branch for this store, from the one ``_HIT`` (see the templates above)."""
    hit_hook = _HOOK.format(indent=" " * 12, kind="hit", key="_pmp_key") if hook else ""
    if not mem.timed:
        return _HIT.format(i=" " * 8, hook=hit_hook.replace(" " * 12, " " * 8), value="_pmp_entry")
    hit = _HIT.format(i=" " * 12, hook=hit_hook, value="_pmp_entry[0]")
    if tier:  # no recency: see the module docstring
        hit = hit.split("\n", 4)[4]
        return _FRESH.format(now="_pmp_monotonic()", hit=hit, stale="")
    stale = (
        ""
        if core.stale is None
        else _STALE.format(stale=core.stale, now=_clock_source(mem), **parts)
    )
    return _FRESH.format(now=_clock_source(mem), hit=hit, stale=stale)


# A call of ``on_event``, generated only when there is one, so none costs nothing.
_HOOK = """
{indent}_pmp_hook({kind!r}, {key})"""


def _local_tier(core: Core) -> LRUCache[Any, Any] | None:
    """The function's tier in the backend when it can be read directly, else ``None``."""
    make = getattr(core.backend, "local_tier", None)
    tier = make(core.namespace) if callable(make) else None
    if isinstance(tier, LRUCache) and internals(tier).timed:
        return tier
    return None


def _store_value(mem: Internals) -> str:
    """Source storing a computed ``value`` (see ``_STORE_VALUE``) for this store."""
    maxsize, timed = mem.maxsize, mem.timed
    insert = _INSERT  # unbounded, maxsize 0 or another policy: the general method
    if 0 < maxsize < sys.maxsize and mem.lru:
        evict_hook = (
            ""
            if mem.hook is None
            else _HOOK.format(indent=" " * 20, kind="eviction", key="_pmp_evicted[0]")
        )
        if timed:
            evict_hook = evict_hook.replace("\n" + " " * 20, "\n" + " " * 24)
        insert = (_TIMED_INSERT if timed else _PLAIN_INSERT).format(
            maxsize=maxsize, evict_hook=evict_hook
        )
    now = f"    _pmp_now = {_clock_source(mem)}" if timed and insert is not _INSERT else ""
    return _STORE_VALUE.format(now=now, insert=insert)


def _clock_source(mem: Internals) -> str:
    """``time.monotonic`` looked up per call (so patching it works), or the injected timer."""
    return "_pmp_time.monotonic()" if mem.timer is None else "_pmp_timer()"


_KEY_IS_ONE_ARGUMENT = re.compile(r"    _pmp_key = ([A-Za-z_][A-Za-z0-9_]*)\n")


def _key_by_argument(source: str, key: str) -> str:
    """``source`` reading the argument itself where a single argument is the key.

    This saves copying it into ``_pmp_key`` on every call (about 50 instructions a hit).
    """
    found = _KEY_IS_ONE_ARGUMENT.fullmatch(key + "\n")
    if found is None or not found.group(1).isidentifier():
        return source
    return re.sub(r"\b_pmp_key\b", found.group(1), source.replace(key + "\n", "", 1))


def compile_wrapper(
    core: Core, params: list[inspect.Parameter] | None, *, is_async: bool
) -> Callable[..., Any]:
    """Generate the hit/miss wrapper over the in-memory store or the backend.

    ``params`` are the parameters to declare (keys from the bound arguments),
    or ``None`` for a ``*args, **kwargs`` wrapper keyed by the call's shape.
    A per-instance cached method (``core.skip``) also takes ``self`` first.
    """
    store = core.store
    remote = store is None
    if store is None and params is not None:
        store = _local_tier(core)
    mem = None if store is None else internals(store)
    lead = "_pmp_self, " if core.skip else ""
    signature, defaults, parts = call_parts(core, params, lead)
    data = None if mem is None else mem.data
    namespace: dict[str, Any] = {
        f"{PREFIX}{name}": value
        for name, value in {
            "time": _time,
            "namespace": core.namespace,
            "counts": None if mem is None else mem.counts,
            "hit_ticks": None if mem is None else mem.counts.ticks["hits"],
            "miss_ticks": None if mem is None else mem.counts.ticks["misses"],
            "eviction_ticks": None if mem is None else mem.counts.ticks["evictions"],
            "data": data,
            "get": None if data is None else data.get,
            "move": None if mem is None else mem.touch,
            "popitem": None if data is None else data.popitem,
            "insert": None if mem is None else mem.insert,
            "make_room": None if mem is None else mem.make_room,
            "drop_expired": None if mem is None else mem.drop_expired,
            "lock": core.lock,
            "flights": core.flights,
            "register": core.flights.setdefault,
            "flight_of": core.flights.get,
            "ident": threading.get_ident,
            "fetch": core.fetch,
            "afetch": core.afetch,
            "MISSING": MISSING,
            "mark": COMPUTING.set,
            "unmark": COMPUTING.reset,
            "begin": core.begin,
            "fail": core.fail,
            "finish": core.finish,
            "unless": core.unless,
            "amiss": core.amiss,
            "func": core.func,
            "make_key": core.make_key,
            "check_key": core.check_key,
            "timer": None if mem is None else mem.timer,
            "ttl": None if mem is None else mem.ttl,
            "monotonic": _time.monotonic,
            "hook": None if mem is None else mem.hook,
            "serve_stale": core.aserve_stale if is_async else core.serve_stale,
            # builtins under our prefix, so that parameters named like them change nothing
            "len": len,
            "next": next,
            "type": type,
            "BaseException": BaseException,
            "KeyError": KeyError,
            "TypeError": TypeError,
        }.items()
    }
    namespace |= defaults
    if remote:
        hit = "" if mem is None else _hit_source(core, mem, tier=True, hook=False, parts=parts)
        miss = _ASYNC_FETCH if is_async else _SYNC_FETCH
    else:
        assert mem is not None
        hooked = mem.hook is not None
        hit = _hit_source(core, mem, tier=False, hook=hooked, parts=parts)
        parts["miss_hook"] = (
            _HOOK.format(indent=" " * 8, kind="miss", key="_pmp_key") if hooked else ""
        )
        miss = _ASYNC_MISS if is_async else _SYNC_MISS
        parts["store_value"] = "" if is_async else _store_value(mem)
    refusing = core.unless is not None
    parts["unless_call"] = _UNLESS_CALL if refusing else ""
    parts["unless_skip"] = _UNLESS_SKIP if refusing else ""
    source = (_TEMPLATE if data is not None else _REMOTE_TEMPLATE).format(
        kw="async " if is_async else "",
        signature=signature,
        hit=textwrap.indent(hit, "    "),
        miss=miss.format(**parts),
        **parts,
    )
    source = _key_by_argument(source, parts["key"])
    exec(compile(source, f"<pmp_cache wrapper of {core.namespace}>", "exec"), namespace)  # noqa: S102 - source built above from parameter names only
    wrapper: Callable[..., Any] = namespace.pop(f"{PREFIX}wrapper")  # no cycle through its globals
    return wrapper
