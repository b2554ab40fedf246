"""The ``items()`` and ``values()`` of ``LRUCache``: live entries, read without side effects."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, ValuesView
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_cache._store import MISSING

if TYPE_CHECKING:
    from pmp_cache._lru import LRUCache

__all__ = ["LiveItemsView", "LiveValuesView"]

K = TypeVar("K")
V = TypeVar("V")


class LiveItemsView(ItemsView[K, V]):
    """Items of the live entries; reading them changes neither recency nor stats."""

    _mapping: LRUCache[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        cache = self._mapping
        for key in cache:
            value = cache.peek(key, MISSING)
            if value is not MISSING:  # else it expired since the keys were read
                yield key, value


class LiveValuesView(ValuesView[V]):
    """Values of the live entries; reading them changes neither recency nor stats."""

    _mapping: LRUCache[Any, V]

    def __iter__(self) -> Iterator[V]:
        return (value for _, value in self._mapping.items())
