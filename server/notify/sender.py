"""The thread that sends due notices, one at a time, at most ``per_minute`` a minute.

Woken after every commit (a call that makes someone n-th is sent at once) and every second anyway.
Which way it errs: once the text may have reached the modem, a notice is never sent again — a
crash between the modem's ``+CMGS`` and the database's ``sent`` leaves the row ``handed``, and it
becomes ``unknown``, not ``pending``. A second "your turn is near" costs the centre money and the
citizen's trust in the messages; a missed one still leaves the tracking page's banner, the hall
display and the voice. A crash *before* the hand-over (claimed, modem not yet given the text) is
safe to retry, and is retried.

Nothing here logs a phone number: only notice ids and ticket numbers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from datetime import timedelta

from server.storage.notice_store import Claimed, LeaseLost, NoticeStore
from server.storage.queue_rows import utcnow

from .channels import DeliveryError, Notice, Notifier

log = logging.getLogger(__name__)
PERMANENT = {"modem.rejected", "sms.text", "zalo.not_follower", "device.config", "device.dependency_missing"}
MAX_ATTEMPTS = 50
HOUSEKEEPING_S = 30.0
"""How often leases are recovered, yesterday's phones erased and the queue re-read for tickets that
became near without a write (the starvation limit passing)."""


class NoticeSender:
    def __init__(self, store: NoticeStore, notifier: Notifier, *, public_url: str, per_minute: int = 20,
                 lease_s: float = 180.0, name: str | None = None) -> None:
        self.store = store
        self.notifier = notifier
        self.public_url = public_url.rstrip("/")
        self.per_minute = per_minute
        self.lease = timedelta(seconds=lease_s)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recent: deque[float] = deque()
        self._housekeeping_at = 0.0
        self.sent = 0
        self.chores: list = []
        """More callables run at each housekeeping (phone codes' sweep, appointment reminders)."""

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> "NoticeSender":
        self.notifier.start()
        self.store.db.on_commit(self.wake)
        dead = [holder for holder in self.store.holders() if _dead_on_this_host(holder)]
        if dead:
            back, lost = self.store.recover(senders=dead)
            if back or lost:
                log.warning("notices at start: %d to send again (never handed to the modem), "
                            "%d left unknown (handed over when the server stopped)", back, lost)
        self._thread = threading.Thread(target=self._run, name=f"notice-sender-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.notifier.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                if time.monotonic() >= self._housekeeping_at:
                    self._housekeeping_at = time.monotonic() + HOUSEKEEPING_S
                    self.housekeeping()
                while not self._stopping.is_set() and self._room() and self.send_one():
                    pass
            except Exception:  # the database may be away: keep the thread, try again next second
                log.exception("notice sender: will retry")

    def housekeeping(self) -> None:
        back, lost = self.store.recover()
        if back or lost:
            log.warning("notices whose sender stopped: %d to send again, %d left unknown", back, lost)
        self.store.erase_stale()
        self.store.sweep()
        for chore in self.chores:
            chore()

    def _room(self) -> bool:
        """At most ``per_minute`` messages in any minute (operators' contracts and modems both limit)."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) < self.per_minute:
            return True
        self._stopping.wait(60 - (now - self._recent[0]))
        return not self._stopping.is_set()

    def send_one(self) -> bool:
        """Claim and send one due notice. → whether there was one."""
        claimed = self.store.claim(self.name, self.lease)
        if claimed is None:
            return False
        self._deliver(claimed)
        return True

    def _deliver(self, c: Claimed) -> None:
        if c.phone is None:
            self.store.give_up(c.id, self.name, "dropped", "no phone number any more (the ticket ended)")
            return
        notice = Notice(c.number, c.ahead, c.centre, f"{self.public_url}/t/{c.token}", c.phone)
        self._recent.append(time.monotonic())
        try:
            reference = self.notifier.send(notice, lambda: self.store.mark_handed(c.id, self.name, self.notifier.name))
        except LeaseLost:
            log.warning("notice %d (%s): another sender took it over; not sent from here", c.id, c.number)
            return
        except DeliveryError as err:
            self._failed(c, err)
            return
        self.store.mark_sent(c.id, self.name, reference)
        self.sent += 1
        log.info("notice %d: ticket %s told by %s (reference %s)", c.id, c.number, self.notifier.name, reference)

    def _failed(self, c: Claimed, err: DeliveryError) -> None:
        detail = f"{err.code}: {err}"
        if err.maybe_sent:
            self.store.mark_unknown(c.id, self.name, detail)
            log.warning("notice %d (%s): may have been sent, will not be sent again: %s", c.id, c.number, detail)
        elif err.code in PERMANENT or c.attempts >= MAX_ATTEMPTS:
            self.store.give_up(c.id, self.name, "failed", detail)
            log.warning("notice %d (%s): gave up: %s", c.id, c.number, detail)
        else:
            wait = min(15 * 2 ** min(c.attempts - 1, 5), 300) if err.retryable else 120
            self.store.retry_later(c.id, self.name, utcnow() + timedelta(seconds=wait), detail)
            log.warning("notice %d (%s): %s; trying again in %d s", c.id, c.number, detail, wait)


def _dead_on_this_host(holder: str) -> bool:
    """``host-pid-xxxxxx`` of this host whose process no longer runs (a crashed earlier server)."""
    rest = holder.rsplit("-", 2)
    if len(rest) != 3 or rest[0] != socket.gethostname() or not rest[1].isdigit():
        return False
    pid = int(rest[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
