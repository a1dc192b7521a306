"""Drains the outbox to MQTT in ``seq`` order, QoS 1; marks rows only after the broker's PUBACK.

Woken right after every commit (low latency) and every second anyway (robustness). While the
broker is away, rows simply wait; on reconnect they go out in order. A crash between PUBACK and
marking re-sends a few rows after restart: subscribers drop calls whose ``seq`` they have seen,
and state topics are retained snapshots, so a repeat is harmless.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Callable

from devices.mqtt import MqttLink

from .storage import outbox
from .storage.db import Database

log = logging.getLogger(__name__)
BATCH = 200
PUBACK_TIMEOUT_S = 5.0


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
        self.link.stop()

    def _connection_changed(self, up: bool) -> None:
        if up:
            self._resync.set()  # the broker may have lost retained state (killed, disk lost)
            self.wake()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if not self.link.connected.is_set():
                continue
            try:
                while self.drain_once() == BATCH and not self._stopping.is_set():
                    pass
                if self._resync.is_set() and self.snapshot is not None:
                    # After the backlog, so a snapshot is never overwritten by an older event.
                    self._resync.clear()
                    for topic, payload in self.snapshot():
                        self.link.publish(topic, payload, retain=True)
            except Exception:  # keep going: the next wake-up retries what was not marked
                log.exception("outbox publishing failed; will retry")

    def drain_once(self) -> int:
        """Publish one batch; return how many rows were confirmed."""
        with self.db.read() as conn:
            events = outbox.pending(conn, BATCH)
        if not events:
            return 0
        infos = [(e.id, self.link.publish(e.topic, e.payload, retain=e.retain)) for e in events]
        confirmed: list[int] = []
        for event_id, info in infos:
            try:
                info.wait_for_publish(timeout=PUBACK_TIMEOUT_S)
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            confirmed.append(event_id)
        if confirmed:
            with self.db.write() as conn:
                outbox.mark_published(conn, confirmed, datetime.now(timezone.utc))
            self.published += len(confirmed)
        return len(confirmed)
