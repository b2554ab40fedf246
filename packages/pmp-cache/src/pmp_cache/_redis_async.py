"""``AsyncRedisCache``: the asyncio driver of the Redis cache protocol (redis.asyncio)."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_cache._redis_exchange import Exchange
from pmp_cache._redis_front import RedisFront
from pmp_cache._redis_tiers import ABSENT

if TYPE_CHECKING:
    from collections.abc import Coroutine

    import redis.asyncio  # noqa: F401 - the client type named in the base class

    from pmp_cache._redis_exchange import Command, Steps

__all__ = ["AsyncRedisCache"]

T = TypeVar("T")

logger = logging.getLogger("pmp_cache.redis")

_SLOTS = 100  # commands in flight per event loop when the pool does not say


class _Gate:
    """One slot per pooled connection of a loop's client: a burst of calls queues here.

    redis.asyncio's pool raises "Too many connections" at once when it runs out;
    waiting for a slot instead keeps a burst from failing open.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def wait(self) -> None:
        """Wait until ``release`` hands this caller a slot."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, but cancelled before using it
            raise

    def release(self) -> None:
        """Hand the slot to the next waiter, or free it."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class AsyncRedisCache(RedisFront["redis.asyncio.Redis"]):
    """The asyncio twin of ``RedisCache`` (redis.asyncio); the same options and behaviour.

    ``get``, ``set``, ``delete``, ``clear``, ``claim`` and ``release`` are
    coroutines; ``stats`` is not. Made from a ``url``, it keeps one client per
    event loop, so it works across ``asyncio.run`` calls; call ``aclose`` at the
    end of each loop that used it. A lock belongs to the task that claimed it
    (and the tasks it starts afterwards, e.g. by ``asyncio.wait_for``): it is
    renewed while that task runs (for at most ten ``lock_ttl``), released by its
    ``set`` or ``release``, and released at once when the task is cancelled in
    the middle of a lock command.

    >>> AsyncRedisCache("redis://127.0.0.1:6379/0", namespace="app").namespace
    'app'

    With a server::

        shared = AsyncRedisCache("redis://localhost:6379/0", namespace="app")
        await shared.set("user:1", {"name": "Ada"})
        await shared.get("user:1")  # {'name': 'Ada'}
    """

    def _connect(self) -> None:
        self._given: Any = self._settings.client
        # Per event loop: its client and one slot per pooled connection, so that a
        # burst of calls queues for a connection instead of failing at once.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, _Gate]] = (
            weakref.WeakKeyDictionary()
        )
        self._clients_lock = threading.Lock()
        self._last: tuple[object, tuple[Any, _Gate]] = (None, (None, _Gate(0)))
        self._keepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
            weakref.WeakKeyDictionary()
        )
        self._background: set[asyncio.Task[Any]] = set()

    def _client(self) -> tuple[Any, _Gate]:
        loop = asyncio.get_running_loop()
        last = self._last
        if last[0] is loop:  # the loop of the previous call: skip the weak mapping
            return last[1]
        entry = self._clients.get(loop)
        if entry is None:
            client = self._given
            if client is None:
                settings = self._settings
                options = settings.client_options(asynchronous=True)
                client = settings.redis.asyncio.Redis.from_url(settings.url, **options)
            size = getattr(getattr(client, "connection_pool", None), "max_connections", None)
            gate = _Gate(size if type(size) is int and size > 0 else _SLOTS)
            with self._clients_lock:
                entry = self._clients[loop] = (client, gate)
        self._last = (loop, entry)
        return entry

    @staticmethod
    async def _pipeline(client: Any, commands: list[Command]) -> list[Any]:
        async with client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return await pipe.execute()  # type: ignore[no-any-return]

    async def _run(self, steps: Steps[T]) -> T:
        client, gate = self._client()
        run = Exchange(steps)
        while run.pending:
            step = run.step
            try:
                if type(step) is float:
                    await asyncio.sleep(step)
                    reply = None
                else:
                    if gate.free:
                        gate.free -= 1
                    else:
                        await gate.wait()
                    try:
                        reply = await (
                            client.execute_command(*step)
                            if type(step) is tuple
                            else self._pipeline(client, step)  # type: ignore[arg-type]
                        )
                    finally:
                        gate.release()
            except BaseException as exc:  # noqa: BLE001 - thrown into the operation
                run.fail(exc)
            else:
                run.reply(reply)
        self._release_orphans()
        return run.result()

    def _release_orphans(self) -> None:
        if self._protocol.locks.orphaned:  # cancelled mid-command: release outside this task
            self._in_background(self._run(self._protocol.release_orphans()))

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def get(self, key: Any, default: Any = None) -> Any:
        """Return the value stored under ``key`` or ``default`` (see ``RedisCache.get``)."""
        value = self._tiers.read(key)
        if value is not ABSENT:  # counted as the local tier's own hit
            return value
        protocol = self._protocol
        text = protocol.get_text(key)
        if text is None:
            return default
        client, gate = self._client()
        if gate.free:
            gate.free -= 1
        else:
            await gate.wait()
        try:
            data = await client.execute_command("GET", text)
        except protocol.redis_errors as exc:
            return protocol.get_failed(text, exc, default)
        finally:
            gate.release()
            self._release_orphans()
        return protocol.got(key, text, data, default)

    async def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` (see ``RedisCache.set``); ends this task's claim."""
        await self._run(self._protocol.set(key, value, ttl))

    async def delete(self, key: Any) -> bool:
        """Remove ``key`` here and in Redis; report whether it was stored."""
        return await self._run(self._protocol.delete(key))

    async def clear(self) -> None:
        """Remove every key of this namespace and version (``SCAN``, never ``FLUSHDB``)."""
        await self._run(self._protocol.clear())

    async def claim(self, key: Any, default: Any = None) -> Any:
        """Take the Redis lock for a missing ``key`` or wait for its value (as ``RedisCache``)."""
        protocol = self._protocol
        value = await self._run(protocol.claim(key, default, asyncio.current_task()))
        if protocol.locks.renewing:
            loop = asyncio.get_running_loop()
            keeper = self._keepers.get(loop)
            if keeper is None or keeper.done():
                self._keepers[loop] = loop.create_task(self._keep(loop))
        return value

    async def release(self, key: Any) -> None:
        """Give up this task's lock on ``key`` (after a failed computation)."""
        await self._run(self._protocol.release(key))

    async def _keep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Renew this loop's held locks every third of ``lock_ttl``; end when none is held."""

        def state(owner: Any) -> bool | None:
            # Any task-like owner (a task factory's or a backport's Task class) will do;
            # a finished one is released here even if it ran in another (closed) loop.
            if owner is None:
                return None
            if owner.done():
                return False
            return True if owner.get_loop() is loop else None

        protocol = self._protocol
        while True:
            await asyncio.sleep(protocol.locks.renew_every)
            try:
                if not await self._run(protocol.renew(state)):
                    return
            except Exception:  # e.g. the client closed under it: try again next time
                logger.debug("renewing Redis locks failed", exc_info=True)

    async def aclose(self) -> None:
        """Close the client this cache made for the running event loop (not a given one)."""
        loop = asyncio.get_running_loop()
        keeper = self._keepers.pop(loop, None)
        if keeper is not None:
            keeper.cancel()
        entry = self._clients.pop(loop, None)
        self._last = (None, (None, _Gate(0)))
        if entry is not None and self._given is None:
            await entry[0].aclose()
