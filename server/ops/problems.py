"""Log a lasting problem once, then a one-line reminder now and then, and once when it is over.

A site's log is read by a person (``journalctl -u motcua-server``) after something went wrong:
a traceback twice a second while the database is away buries everything else, and a broker that
is never mentioned cannot be found. Each problem is one line when it starts, a one-line status
every ``every_s`` seconds while it lasts, and one line when it ends.
"""

from __future__ import annotations

import logging
import threading
import time


class ProblemLog:
    def __init__(self, logger: logging.Logger, what: str, every_s: float = 60.0) -> None:
        self.logger = logger
        self.what = what
        self.every_s = every_s
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_said = 0.0
        self._count = 0
        self._detail = ""

    @property
    def failing(self) -> bool:
        return self._since is not None

    def fail(self, detail: str) -> None:
        detail = " ".join(str(detail).split())[:300]
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if self._since is None:
                self._since, self._last_said, self._detail = now, now, detail
                self.logger.warning("%s: %s", self.what, detail)
            elif now - self._last_said >= self.every_s or detail != self._detail and now - self._last_said >= 5:
                self._last_said, self._detail = now, detail
                self.logger.warning("%s: still %s (for %.0f s, %d times)", self.what, detail, now - self._since,
                                    self._count)

    def ok(self, detail: str = "back to normal") -> None:
        with self._lock:
            if self._since is None:
                return
            lasted = time.monotonic() - self._since
            self._since, self._count = None, 0
            self.logger.warning("%s: %s after %.0f s", self.what, detail, lasted)


def first_line(err: BaseException) -> str:
    """The useful first line of a database or network error, without SQL or tracebacks."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
