"""Rate limits as token buckets: pure arithmetic, no I/O, no clock of its own."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; a fast pen's burst passes, a flood does not."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def _refill(self, now: float) -> None:
        """Add the tokens earned since the last call, up to ``burst``."""
        elapsed = now - self.last
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.last = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough (refilling first); False if not."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def owe(self, now: float, cost: float) -> float:
        """Spend ``cost`` tokens, going into debt if need be; seconds until the debt is paid (0.0: none).

        For work that is done anyway but paced: the caller waits that long.
        """
        self._refill(now)
        self.tokens -= cost
        return 0.0 if self.tokens >= 0 or self.rate <= 0 else -self.tokens / self.rate


class FloodGuard:
    """Counts refusals in a sliding window; ``flooding`` once they pass ``limit``."""

    __slots__ = ("count", "limit", "start", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.count = 0
        self.start = 0.0

    def refused(self, now: float) -> bool:
        """Record a refusal; True when the connection should be dropped."""
        if now - self.start > self.window:
            self.start, self.count = now, 0
        self.count += 1
        return self.count > self.limit
