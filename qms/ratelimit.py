"""Per-client token buckets: a phone watching its ticket is never slowed down, a script
flooding the ticket routes (or guessing links) is.

Each client key (an address) has a bucket of ``burst`` tokens that refills at ``per_s``
tokens a second; a request takes ``cost`` tokens or is refused with the seconds to wait.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_s: float, burst: int, *, now=time.monotonic, max_keys=50_000):
        self.per_s, self.burst, self.now, self.max_keys = per_s, burst, now, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key, now) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.per_s)

    def take(self, key: str, cost: float = 1) -> int:
        """Take ``cost`` tokens for ``key``: 0 when allowed, else whole seconds to wait
        (nothing is taken then)."""
        with self._lock:
            now = self.now()
            level = self._level(key, now)
            if level < min(cost, self.burst):
                return max(1, math.ceil((min(cost, self.burst) - level) / self.per_s))
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_full(now)
            self._buckets[key] = (level - cost, now)
            return 0

    def charge(self, key: str, cost: float) -> None:
        """Take ``cost`` more tokens after the fact (the bucket may go below zero, which
        then lasts until it refills): a request found to be a miss costs more."""
        with self._lock:
            now = self.now()
            self._buckets[key] = (self._level(key, now) - cost, now)

    def _forget_full(self, now):
        """Bound the memory: drop the buckets that have refilled (they hold no history)."""
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]
