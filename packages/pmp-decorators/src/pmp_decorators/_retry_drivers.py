"""The retry wrappers for coroutine and plain functions, generated from one template.

A wrapper makes the first attempt inline, so that a success costs one call and a
return, and hands a failure to ``run``, the attempt loop (which never runs when the
first attempt succeeds). Every decision is :mod:`pmp_decorators._retry_core`'s: the
loop only counts, sleeps the pause it is told and makes the next attempt.

:data:`TEMPLATE` is the async form. The sync form is made from it by :func:`unasync`:
``async def`` becomes ``def``, ``await`` goes, the pause blocks (``pause_sync``), and
lines marked ``#sync:`` are kept (they are dropped from the async form). Those lines
check the first value a plain function returns: an awaitable means the function is
asynchronous in fact, and retrying it would retry only the creation of the awaitable.
"""

from __future__ import annotations

import linecache
from typing import TYPE_CHECKING, Any

from pmp_decorators._callables import AwaitableReturnedError, refuse_awaitable
from pmp_decorators._retry_core import TESTING, next_pause, overran, pause_async, pause_sync

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_decorators._retry_policy import Policy

__all__ = ["TEMPLATE", "unasync", "wrap_async", "wrap_sync"]

TEMPLATE = '''\
def wrap(policy, func):
    catch, accept, timed = policy.catch, policy.retry_if_result, policy.timed
    passthrough = policy.passthrough
    call = func
#sync:    passthrough = (*passthrough, AwaitableReturnedError)  # a refusal below is never retried
#sync:
#sync:    def first_call(*args, **kwargs):
#sync:        """Until one attempt returns: check that the result is not awaitable."""
#sync:        nonlocal call
#sync:        result = func(*args, **kwargs)
#sync:        refuse_awaitable(policy.name, result, "retry", ADVICE)
#sync:        call = func  # from now on the wrappers call the function itself
#sync:        return result
#sync:
#sync:    call = first_call

    async def run(args, kwargs, exc, result, start):
        """Every attempt after the first, which raised ``exc`` or returned ``result``."""
        attempt, previous, waited = 1, policy.delay, 0.0
        sleeps = not TESTING.active
        while True:
            wait = next_pause(policy, attempt, previous, waited, start, exc, result)
            if wait is None:
                break
            previous = wait
            if sleeps:
                await pause_async(policy.sleep, wait)
            waited += wait
            if timed and overran(policy, attempt, waited, start, exc, result):
                break
            attempt += 1
            try:
                result = await call(*args, **kwargs)
            except passthrough:
                raise
            except catch as caught:
                exc, result = caught, None
                continue
            if accept is None or not accept(result):
                return result
            exc = None
        if exc is not None:
            raise exc
        return result

    if accept is None and not timed:

        async def fast(*args, **kwargs):
            try:
                return await call(*args, **kwargs)
            except passthrough:
                raise
            except catch as exc:
                first = exc
            return await run(args, kwargs, first, None, 0.0)

        return fast

    async def general(*args, **kwargs):
        start = policy.now() if timed else 0.0
        try:
            result = await call(*args, **kwargs)
        except passthrough:
            raise
        except catch as exc:
            first = exc
        else:
            if accept is None or not accept(result):
                return result
            return await run(args, kwargs, None, result, start)
        return await run(args, kwargs, first, None, start)

    return general
'''
"""``wrap(policy, func)``: the wrapper of a coroutine function, and the source of both forms."""

_SYNC_MARK = "#sync:"
ADVICE = (
    "declare it `async def` (retry then awaits it), or decorate it with async_retry(...), "
    "which awaits what it returns"
)


def unasync(template: str) -> str:
    """The sync form of ``template`` (see the module's docstring)."""
    lines = []
    for line in template.splitlines():
        if line.startswith(_SYNC_MARK):
            lines.append(line[len(_SYNC_MARK) :])
            continue
        lines.append(
            line.replace("async def ", "def ")
            .replace("await ", "")
            .replace("pause_async(", "pause_sync(")
        )
    return "\n".join(lines) + "\n"


def _asynchronous(template: str) -> str:
    """The async form of ``template``: the ``#sync:`` lines dropped."""
    kept = [line for line in template.splitlines() if not line.startswith(_SYNC_MARK)]
    return "\n".join(kept) + "\n"


def _compile(source: str, form: str) -> Callable[[Policy, Callable[..., Any]], Any]:
    """Compile ``source`` into ``wrap``; its lines show in tracebacks like a file's."""
    filename = f"<pmp_decorators retry, {form}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {
        "__name__": __name__,  # the wrappers' module, for warnings and tracebacks
        "ADVICE": ADVICE,
        "AwaitableReturnedError": AwaitableReturnedError,
        "TESTING": TESTING,
        "next_pause": next_pause,
        "overran": overran,
        "pause_async": pause_async,
        "pause_sync": pause_sync,
        "refuse_awaitable": refuse_awaitable,
    }
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own template
    wrap: Callable[[Policy, Callable[..., Any]], Any] = namespace["wrap"]
    return wrap


wrap_async = _compile(_asynchronous(TEMPLATE), "async")
"""``wrap_async(policy, func)``: a coroutine function retrying ``func`` (returning awaitables)."""
wrap_sync = _compile(unasync(TEMPLATE), "sync")
"""``wrap_sync(policy, func)``: a plain function retrying plain function ``func``."""
