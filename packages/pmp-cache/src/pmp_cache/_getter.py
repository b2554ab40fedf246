"""The mappings' ``get``: their one hand-written hit path, generated per eviction policy.

The decorators generate their own hit (see ``_fastpath``); ``LRUCache.get`` and
``S3FIFOCache.get`` are compiled from ``_GET`` with the policy's step on a hit
(``touch``), so that LRU's hit runs no policy check.
"""

from __future__ import annotations

import time as _time  # noqa: F401 - read by the generated get (see _GET)
from typing import TYPE_CHECKING, Any

from pmp_cache._store import (  # read by the generated get
    MISSING,  # noqa: F401
    TimedDict,  # noqa: F401
    od_get,  # noqa: F401
    od_move_to_end,  # noqa: F401
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LRU_TOUCH", "make_get"]


# The one hand-written hit path of the mappings (the decorators generate theirs, see
# _fastpath), generated per policy from this template with the policy's step on a hit
# (``touch``, indented by 4), so that LRU's hit runs no policy check. Methods are called
# through the class (see od_get): CPython 3.11 cannot specialise ``data.get`` on an
# OrderedDict, whose instances may have a __dict__.
_GET = """
def get(self, key, default=None):
    data = self._data
    entry = od_get(data, key, MISSING)
    if entry is MISSING:
        next(self._miss_ticks)
        return default
    if type(data) is TimedDict:
        timer = self._timer
        if entry[1] <= (_time.monotonic() if timer is None else timer()):
            self._drop_expired(key, entry)
            next(self._miss_ticks)
            return default
        entry = entry[0]
{touch}
    next(self._hit_ticks)
    return entry
"""

# LRU's step on a hit: the entry becomes the most recently used.
LRU_TOUCH = """\
    try:  # noqa: SIM105 - contextlib.suppress would cost a context manager per hit
        od_move_to_end(data, key)
    except KeyError:  # another thread evicted it since the read
        pass"""


def make_get(touch: str, owner: str, marking: str) -> Callable[..., object]:
    """``owner.get`` from ``_GET`` with ``touch``, compiled in this module's namespace."""
    namespace: dict[str, Any] = {}
    exec(compile(_GET.format(touch=touch), f"<{owner}.get>", "exec"), globals(), namespace)  # noqa: S102 - a fixed template
    get: Callable[..., object] = namespace["get"]
    get.__qualname__ = f"{owner}.get"
    get.__doc__ = f"""Return the value for ``key`` ({marking}) or ``default``.

    Counts a hit or a miss; never calls ``__missing__``.

    >>> {owner}[str, int]().get("nope", 0)
    0
    """
    return get
