"""Drains the outbox to MQTT in ``seq`` order, QoS 1; marks rows only after the broker's PUBACK.

Woken right after every commit (low latency) and every second anyway (robustness). While the
broker is away, rows simply wait; on reconnect they go out in order. A crash between PUBACK and
marking re-sends a few rows after restart: subscribers drop calls whose ``seq`` they have seen,
and state topics are retained snapshots, so a repeat is harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from devices.mqtt import MqttLink

from .ops.problems import ProblemLog, first_line
from .storage import outbox
from .storage.db import Database

log = logging.getLogger(__name__)
BATCH = 200
PUBACK_TIMEOUT_S = 5.0
MARK_EVERY_S = 0.5
"""Acknowledged rows are marked in the database at most this often: marking takes the write
lock, and doing it per event would make every call wait behind the publisher."""


class OutboxPublisher:
    def __init__(self, db: Database, link: MqttLink,
                 snapshot: Callable[[], list[tuple[str, str]]] | None = None) -> None:
        self.db = db
        self.link = link
        self.snapshot = snapshot
        self._resync = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0
        self._acked_up_to = 0  # highest outbox id the broker acknowledged in this process
        self._to_mark: list[int] = []
        self._last_mark = 0.0
        self.on_tick: Callable[..., None] | None = None
        """Called every loop with whether the broker is connected: the server logs its changes."""
        self._db_problem = ProblemLog(log, "outbox publisher", every_s=60)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.db.on_commit(self.wake)
        self.link.on_connection_change = self._connection_changed
        self.link.start()
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._mark(force=True)
        self.link.stop()

    def _connection_changed(self, up: bool) -> None:
        if up:
            self._resync.set()  # the broker may have lost retained state (killed, disk lost)
            self.wake()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=MARK_EVERY_S)
            self._wake.clear()
            connected = self.link.connected.is_set()
            if self.on_tick is not None:
                self.on_tick(connected)
            if not connected:
                try:
                    self._mark(force=True)
                except Exception as err:  # the database is away too: say so once, keep the loop alive
                    self._db_problem.fail(first_line(err))
                continue
            try:
                while self.drain_once() == BATCH and not self._stopping.is_set():
                    pass
                if self._resync.is_set() and self.snapshot is not None:
                    # After the backlog, so a snapshot is never overwritten by an older event.
                    self._resync.clear()
                    for topic, payload in self.snapshot():
                        self.link.publish(topic, payload, retain=True)
                self._mark()
                self._db_problem.ok("reachable again")
            except Exception as err:  # keep going: the next wake-up retries what was not marked
                self._db_problem.fail(f"{first_line(err)}; will retry")

    def drain_once(self) -> int:
        """Publish one batch; return how many rows the broker acknowledged."""
        with self.db.read() as conn:
            events = outbox.pending(conn, BATCH, after_id=self._acked_up_to)
        if not events:
            return 0
        infos = [(e.id, self.link.publish(e.topic, e.payload, retain=e.retain)) for e in events]
        confirmed = 0
        for event_id, info in infos:
            try:
                info.wait_for_publish(timeout=PUBACK_TIMEOUT_S)
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            self._acked_up_to = event_id
            self._to_mark.append(event_id)
            confirmed += 1
        self.published += confirmed
        return confirmed

    def _mark(self, force: bool = False) -> None:
        if not self._to_mark or (not force and time.monotonic() - self._last_mark < MARK_EVERY_S):
            return
        ids, self._to_mark = self._to_mark, []
        try:
            with self.db.write() as conn:
                outbox.mark_published(conn, ids, datetime.now(timezone.utc))
        except Exception:
            self._to_mark = ids + self._to_mark
            raise
        self._last_mark = time.monotonic()
        if not self._to_mark:
            # Everything acknowledged is marked: look from the start again, so a row that committed
            # late with a lower id (possible on PostgreSQL across sites) is never skipped for good.
            self._acked_up_to = 0
