"""Per-token rate limit: a token bucket per API token (``EW_API_RATE_PER_SECOND``, ``EW_API_RATE_BURST``).

Why: one token holder asking for big pages in a loop saturated the API for
everyone (issue #19: p99 18.8 s). Each token may make ``burst`` requests at
once and ``rate`` a second after that; the next one is answered 429 with the
seconds to wait in ``Retry-After``. Keys are configured tokens only, so the
table stays as small as ``EW_API_TOKENS``.

>>> t = [0.0]
>>> limit = RateLimiter(rate=2.0, burst=2, clock=lambda: t[0])
>>> [limit.wait("a") for _ in range(3)], limit.wait("b")
([0.0, 0.0, 0.5], 0.0)
>>> t[0] = 0.5
>>> limit.wait("a")
0.0
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait(self, key: str) -> float:
        """Take one request for ``key``: 0.0 if allowed now, else the seconds until it would be."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            b = self._buckets.setdefault(key, _Bucket(self.burst, now))
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate
