"""The tutorial's 30-second read cache, kept per warm container."""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class TtlCache:
    """At most `max_entries` values, each served for `ttl_s` seconds after it was stored.

    Values are copied in and out, so a caller mutating what it got cannot change what the
    next caller sees. The least recently stored entry goes first when the cache is full.
    """

    def __init__(
        self,
        ttl_s: float = 30.0,
        *,
        max_entries: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        """The value stored under `key` less than `ttl_s` ago, else `None`."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at >= self.ttl_s:
            del self._entries[key]
            return None
        return copy.deepcopy(value)

    def put(self, key: Hashable, value: Any) -> None:
        """Store `value` under `key` from now on."""
        self._entries.pop(key, None)
        self._entries[key] = (self._clock(), copy.deepcopy(value))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (after a write, so this container reads its own writes)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
