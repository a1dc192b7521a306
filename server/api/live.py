"""Small pieces the citizen-facing endpoints need: a per-IP token bucket and a commit notifier.

The notifier is what keeps the SSE tracking stream cheap: ``Database.on_commit`` bumps a version
from whatever thread committed; each stream sleeps on an asyncio event and reads the database
again only after a commit, then pushes only if what the citizen sees has changed.
"""

from __future__ import annotations

import asyncio
import threading
import time


class RateLimiter:
    """A token bucket per client key: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int, *, max_clients: int = 50_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.capacity - 1}
            return False, (1.0 - tokens) / self.rate


class CommitNotifier:
    """``changed()`` may be called from any thread; ``wait()`` is awaited on the server's loop."""

    def __init__(self) -> None:
        self.version = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def changed(self) -> None:
        self.version += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # loop closing during shutdown
                pass

    def _wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        if event is not None:
            event.set()

    async def wait(self, seen: int, timeout: float) -> int:
        """Return the version once it differs from ``seen``, or after ``timeout`` seconds."""
        if self.version == seen and self._event is not None:
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.version
