"""The in-process tiers in front of a Redis cache: one ``LRUCache`` per cached function."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from pmp_cache._lru import LRUCache

if TYPE_CHECKING:
    from pmp_cache._stats import CacheStats

__all__ = ["ABSENT", "LocalTiers"]

ABSENT: Any = object()
"""What a tier returns for a key it does not hold (never a stored value)."""


class LocalTiers:
    """A default tier, plus one tier per namespace for keys ``(namespace, key)``.

    Without ``maxsize`` (``0``) there are no tiers and every method is a no-op.
    """

    __slots__ = ("_lock", "local", "maxsize", "tiers", "ttl")

    def __init__(self, maxsize: int | None, ttl: float | None) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self.local: LRUCache[Any, Any] | None = LRUCache(maxsize, ttl) if maxsize != 0 else None
        # The per-namespace tiers, dropped with the functions that use them.
        self.tiers: weakref.WeakValueDictionary[str, LRUCache[Any, Any]] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()

    def tier(self, namespace: str) -> LRUCache[Any, Any] | None:
        """The tier for keys ``(namespace, key)``, made on first use; ``None`` without tiers."""
        if self.local is None:
            return None
        tier = self.tiers.get(namespace)
        if tier is None:
            with self._lock:
                tier = self.tiers.get(namespace)
                if tier is None:  # pragma: no branch - else: another thread made it first
                    tier = self.tiers[namespace] = LRUCache(self.maxsize, self.ttl)
        return tier

    def route(self, key: Any) -> tuple[LRUCache[Any, Any] | None, Any]:
        """The tier holding ``key`` and the key within it."""
        local = self.local
        if local is not None and type(key) is tuple and len(key) == 2 and type(key[0]) is str:  # noqa: PLR2004 - (namespace, key)
            tier = self.tiers.get(key[0])
            if tier is not None:
                return tier, key[1]
        return local, key

    def read(self, key: Any) -> Any:
        """The value held in process for ``key``, or ``ABSENT`` (counted by the tier)."""
        local = self.local
        if local is None:
            return ABSENT
        # ``route`` inlined: this is the two-tier hit path of ``get``.
        try:
            if type(key) is tuple and len(key) == 2 and type(key[0]) is str:  # noqa: PLR2004 - (namespace, key)
                tier = self.tiers.get(key[0])
                if tier is not None:
                    return tier.get(key[1], ABSENT)
            return local.get(key, ABSENT)
        except TypeError:  # unhashable: the Redis key says what is wrong with it
            return ABSENT

    def keep(self, key: Any, value: Any, seconds: float | None) -> None:
        """Hold ``value`` in process, never longer than ``seconds`` (its Redis expiry)."""
        if self.local is None:
            return
        tier, tier_key = self.route(key)
        if tier is not None:  # pragma: no branch - route gives a tier when local is set
            tier_ttl = tier.ttl
            shorter = seconds is not None and tier_ttl is not None and seconds < tier_ttl
            tier.set(tier_key, value, seconds if shorter else None)

    def drop(self, key: Any) -> bool:
        """Forget ``key`` in process; report whether it was held."""
        tier, tier_key = self.route(key)
        try:
            return tier.delete(tier_key) if tier is not None else False
        except TypeError:  # unhashable: the Redis key says what is wrong with it
            return False

    def clear(self) -> None:
        """Forget every value held in process."""
        for tier in self.all():
            tier.clear()

    def all(self) -> list[LRUCache[Any, Any]]:
        """Every tier: the default one first."""
        return [] if self.local is None else [self.local, *self.tiers.values()]

    def stats(self) -> list[CacheStats]:
        """The statistics of every tier."""
        return [tier.stats() for tier in self.all()]
