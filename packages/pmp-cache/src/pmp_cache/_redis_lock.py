"""The bookkeeping of the Redis lock: its scripts, its owners and the tokens held.

``RedisProtocol.claim`` says when to acquire, wait, renew or release;
``LockBook`` knows which tokens this process holds for whom, which it renews,
and which an interrupted call left for the driver to release.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._redis_exchange import Command

__all__ = ["LockBook", "claimant", "current_owner"]

# KEYS: value, lock. ARGV: token, px, "1" to return a stored value instead of locking.
_ACQUIRE = """
if ARGV[3] == '1' then
  local value = redis.call('get', KEYS[1])
  if value then return {value, 0} end
end
local holder = redis.call('get', KEYS[2])
if holder == ARGV[1] then
  redis.call('pexpire', KEYS[2], ARGV[2])
  return {false, 1}
end
if holder then return {false, 0} end
redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {false, 1}
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RENEW_AT_MOST = 10  # times lock_ttl


class _Owner:
    """Who holds a lock: the thread or task that claimed it, and the work it starts.

    Kept in a context variable, so a task made by the claiming task after the
    claim (``asyncio.wait_for`` on 3.10/3.11, ``gather``, ``create_task``) ends
    the claim as the claimer would; another thread or task never does.
    """

    __slots__ = ("anchor",)

    def __init__(self, anchor: object) -> None:
        self.anchor = anchor


_OWNER: ContextVar[_Owner | None] = ContextVar("pmp_cache_redis_lock_owner", default=None)


def claimant(anchor: object) -> _Owner:
    """The owner for a claim made by ``anchor`` (the current thread or task)."""
    owner = _OWNER.get()
    if owner is None or owner.anchor is not anchor:
        owner = _Owner(anchor)
        _OWNER.set(owner)
    return owner


def current_owner() -> _Owner | None:
    """The owner of the calling thread or task (inherited by tasks it starts), if any."""
    return _OWNER.get()


class LockBook:
    """The locks one cache holds in this process, by (key text, owner)."""

    __slots__ = ("_held", "_lock_prefix", "_orphans", "_prefix_size", "_px", "_renewing", "_ttl")

    def __init__(self, prefix: str, lock_prefix: str, lock_ttl: float) -> None:
        self._prefix_size = len(prefix)
        self._lock_prefix = lock_prefix
        self._ttl = lock_ttl
        self._px = max(1, round(lock_ttl * 1000))
        self._held: dict[tuple[str, _Owner | None], str] = {}
        # The held locks still renewed, each until a deadline (a forgotten claim ends).
        self._renewing: dict[tuple[str, _Owner | None], float] = {}
        self._orphans: list[tuple[str, str]] = []

    def lock_text(self, key_text: str) -> str:
        """The Redis key of the lock on ``key_text``."""
        return self._lock_prefix + key_text[self._prefix_size :]

    # -- commands -----------------------------------------------------------------------

    def acquire(self, text: str, token: str, *, read_value: bool) -> Command:
        """Take the lock (or renew it, if ``token`` holds it); first read the value if asked.

        The reply is ``[value or None, 1 if taken else 0]``.
        """
        flag = "1" if read_value else "0"
        return ("EVAL", _ACQUIRE, 2, text, self.lock_text(text), token, self._px, flag)

    def release(self, text: str, token: str) -> Command:
        """Delete the lock on ``text`` if ``token`` still holds it."""
        return ("EVAL", _RELEASE, 1, self.lock_text(text), token)

    def renewals(self, state: Callable[[Any], bool | None], now: float) -> list[Command]:
        """Renew the locks of running owners, release those of owners that ended."""
        commands: list[Command] = []
        for held, until in list(self._renewing.items()):
            owner = held[1]
            alive = state(owner.anchor) if owner is not None else None
            if alive is None:
                continue
            text, token = held[0], self._held.get(held)
            if token is None or not alive or now > until:
                self._renewing.pop(held, None)
            if token is not None and not alive:
                self._held.pop(held, None)
                commands.append(self.release(text, token))
            elif token is not None and now <= until:
                commands.append(("EVAL", _RENEW, 1, self.lock_text(text), token, self._px))
        return commands

    def orphan_releases(self) -> list[Command]:
        """Release commands for the locks interrupted calls left (taken out of the book)."""
        commands: list[Command] = []
        while self._orphans:
            text, token = self._orphans.pop()
            commands.append(self.release(text, token))
        return commands

    # -- the book -----------------------------------------------------------------------

    def token(self, text: str, owner: _Owner) -> str:
        """The token ``owner`` holds ``text`` with, or a new one."""
        return self._held.get((text, owner)) or uuid.uuid4().hex

    def hold(self, text: str, owner: _Owner, token: str) -> None:
        """Note that ``owner`` may hold ``text`` with ``token``."""
        self._held[(text, owner)] = token

    def renew_until(self, text: str, owner: _Owner, now: float) -> None:
        """``owner`` took the lock: renew it for at most ten ``lock_ttl`` from ``now``."""
        self._renewing[(text, owner)] = now + _RENEW_AT_MOST * self._ttl

    def end(self, text: str, owner: _Owner | None) -> str | None:
        """End ``owner``'s claim on ``text``: the token it held, if any."""
        self._renewing.pop((text, owner), None)
        return self._held.pop((text, owner), None)

    def orphan(self, text: str, token: str | None) -> None:
        """Keep ``token`` for the driver to release: its call was interrupted."""
        if token is not None:
            self._orphans.append((text, token))

    @property
    def renewing(self) -> bool:
        """Whether a lock held here is still renewed (its claim not yet ended)."""
        return bool(self._renewing)

    @property
    def orphaned(self) -> bool:
        """Whether some lock could not be released by the call that held it."""
        return bool(self._orphans)

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of ``lock_ttl``."""
        return self._ttl / 3
