"""View-models of the hall display and a counter display: plain Python, fed MQTT messages.

``handle(topic, payload, retained)`` takes exactly what :class:`devices.mqtt.MqttLink` hands a
subscriber, so the same code runs behind a Kivy screen, an LED and a test. State changes bump
``version`` and call the listeners (on the MQTT thread: a Kivy view re-schedules onto its clock).

Calls are deduplicated by ``seq`` (QoS 1 redelivers after a reconnect): a ``seq`` at or below
the last one seen is dropped, unless its ``at`` is later than the last call's — then the server's
sequence was reset (database restored) and the new sequence is followed, as the announcer does.
Retained ``counters/<id>/state`` and ``queues/<svc>/state`` rebuild the screen after a restart
or a broker reconnect; nothing is cleared on a disconnect, the offline banner just says the
figures may be old.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from devices.mqtt import Topics

from .messages import WEEKDAYS_VI
from .voice import site_timezone

log = logging.getLogger(__name__)

Listener = Callable[[], None]
OFFLINE_BANNER = "Mất kết nối – đang thử kết nối lại (offline)"


def _parse_json(payload: bytes | str) -> dict[str, Any] | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v", 1) != 1:
        return None
    return data


def _parse_at(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.now(timezone.utc)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


class _Observable:
    """Version counter, listeners and a condition tests (and the bench) wait on — no sleeps."""

    def __init__(self) -> None:
        self.version = 0
        self.connected = False
        self._cond = threading.Condition()
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        """Call with ``self._cond`` held."""
        self.version += 1
        self._cond.notify_all()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken view must not stop the feed
                log.exception("display listener failed")

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    def set_connected(self, up: bool) -> None:
        """The broker link went up or down (the offline banner follows)."""
        with self._cond:
            if self.connected == up:
                return
            self.connected = up
            self._changed()
        self._notify()

    @property
    def banner(self) -> str:
        return "" if self.connected else OFFLINE_BANNER


@dataclass(frozen=True)
class CounterRow:
    counter: str
    label: str
    status: str = "closed"
    ticket: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class CallRow:
    seq: int
    ticket: str
    counter: str
    label: str
    service: str | None
    recall: bool
    at: datetime


@dataclass(frozen=True)
class Departure:
    """The ticket that was at the counter has gone. ``served``: it was most likely started (hence
    finished, parked or transferred), not a no-show — see :meth:`CounterBoard._was_served`.
    ``replaced``: another ticket was called in the same move (the server finished this one)."""

    ticket_id: int
    ticket: str | None
    served: bool
    replaced: bool


@dataclass(frozen=True)
class QueueRow:
    service: str
    waiting: int = 0
    serving: int = 0
    est_wait_s: int | None = None
    last_called: str | None = None


class _SeqFilter:
    def __init__(self) -> None:
        self.last_seq: int | None = None
        self.last_at: datetime | None = None
        self.duplicates = 0

    def accept(self, seq: int, at: datetime) -> bool:
        if self.last_seq is not None and seq <= self.last_seq:
            if self.last_at is None or at <= self.last_at:
                self.duplicates += 1
                return False
            log.warning("call seq went back from %d to %d with a later time: sequence reset", self.last_seq, seq)
        self.last_seq, self.last_at = seq, at
        return True


def _call_from(data: dict[str, Any]) -> CallRow | None:
    seq, ticket, counter = data.get("seq"), data.get("ticket"), data.get("counter")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(ticket, str) or counter is None:
        return None
    return CallRow(seq, ticket, str(counter), str(data.get("label") or counter), data.get("service"),
                   bool(data.get("recall")), _parse_at(data.get("at")))


class HallBoard(_Observable):
    """Everything the hall TV shows. ``counters``/``queues`` are keyed by id; ``calls`` newest first."""

    def __init__(self, site: str, *, centre_name: str = "", notice: str = "", max_calls: int = 8,
                 service_names: dict[str, str] | None = None, counter_labels: dict[str, str] | None = None,
                 timezone_name: str = "Asia/Ho_Chi_Minh") -> None:
        super().__init__()
        self.topics = Topics(site)
        self.centre_name, self.notice, self.max_calls = centre_name, notice, max_calls
        self.service_names = dict(service_names or {})
        self.counters: dict[str, CounterRow] = {
            cid: CounterRow(cid, label) for cid, label in (counter_labels or {}).items()
        }
        self.queues: dict[str, QueueRow] = {sid: QueueRow(sid) for sid in self.service_names}
        self.calls: list[CallRow] = []
        self._seq = _SeqFilter()
        self._zone = site_timezone(timezone_name)

    # ---- input --------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes | str, retained: bool = False) -> bool:
        kind, key = self.topics.parse(topic)
        data = _parse_json(payload)
        if data is None:
            log.warning("ignoring a payload on %s that is not a v1 JSON object", topic)
            return False
        with self._cond:
            if kind == "calls":
                changed = self._on_call(data)
            elif kind == "counter_state" and key:
                old = self.counters.get(key)
                row = CounterRow(key, str(data.get("label") or (old.label if old else key)),
                                 str(data.get("status") or "closed"), data.get("ticket"), data.get("service"))
                changed = row != old
                self.counters[key] = row
            elif kind == "queue_state" and key:
                row = QueueRow(key, int(data.get("waiting") or 0), int(data.get("serving") or 0),
                               data.get("est_wait_s"), data.get("last_called"))
                changed = row != self.queues.get(key)
                self.queues[key] = row
            else:
                return False
            if changed:
                self._changed()
        if changed:
            self._notify()
        return changed

    def _on_call(self, data: dict[str, Any]) -> bool:
        call = _call_from(data)
        if call is None or not self._seq.accept(call.seq, call.at):
            return False
        self.calls = [call, *self.calls][: self.max_calls]
        old = self.counters.get(call.counter) or CounterRow(call.counter, call.label, "open")
        self.counters[call.counter] = replace(old, label=call.label, ticket=call.ticket, service=call.service,
                                              status="open")
        return True

    # ---- what the screen shows ----------------------------------------------------------------
    @property
    def duplicates(self) -> int:
        return self._seq.duplicates

    def service_name(self, service: str | None) -> str:
        return self.service_names.get(service or "", service or "")

    def counter_rows(self) -> list[CounterRow]:
        def order(row: CounterRow) -> tuple:
            return (0, int(row.counter), "") if row.counter.isdigit() else (1, 0, row.counter)
        with self._cond:
            return sorted(self.counters.values(), key=order)

    def queue_rows(self) -> list[QueueRow]:
        with self._cond:
            names = list(self.service_names)
            return sorted(self.queues.values(),
                          key=lambda r: (names.index(r.service) if r.service in names else len(names), r.service))

    def clock_text(self, now: datetime | None = None) -> tuple[str, str]:
        """("Thứ Hai, 10/03/2025", "10:05") in the site's time zone."""
        local = (now or datetime.now(timezone.utc)).astimezone(self._zone)
        return f"{WEEKDAYS_VI[local.weekday()]}, {local:%d/%m/%Y}", f"{local:%H:%M}"

    def snapshot(self) -> dict[str, Any]:
        """Plain data for tests and the bench: what a viewer would read off the screen."""
        with self._cond:
            return {
                "connected": self.connected,
                "counters": {k: v.ticket for k, v in self.counters.items()},
                "calls": [(c.seq, c.ticket, c.counter, c.recall) for c in self.calls],
                "waiting": {k: v.waiting for k, v in self.queues.items()},
            }


class CounterBoard(_Observable):
    """One counter's number. ``blinks`` counts new calls (and recalls) to flash for.

    ``departures``/``departure``: the last ticket that left the counter (for the rating prompt).
    Whether it was served comes from ``ticket_status`` in the state ("serving" when it left). From
    a server that does not send it, it is read off the state's history instead: a call
    publishes the state once; ``start`` publishes it again with the same ticket and counter status
    at a new ``at``; a recall does too, but with a recall call at that same ``at``; a pause changes
    the status. A ticket first seen in a retained snapshot (display restarted) counts as served,
    and so does one replaced directly by the next call (only a ticket being served can be).
    """

    def __init__(self, site: str, counter: str) -> None:
        super().__init__()
        self.topics = Topics(site)
        self.counter = counter
        self.state_topic = self.topics.counter_state(counter)
        self.label = counter
        self.status = "closed"
        self.ticket: str | None = None
        self.service: str | None = None
        self.blinks = 0
        self._seq = _SeqFilter()
        self.ticket_id: int | None = None
        self.departure: Departure | None = None
        self.departures = 0
        self._history: list[tuple[datetime, str]] = []  # (at, counter status) of each state for ticket_id
        self._recall_ats: set[datetime] = set()
        self._joined_late = False
        self._ticket_status: str | None = None  # the server's word, when it sends one

    def handle(self, topic: str, payload: bytes | str, retained: bool = False) -> bool:
        kind, key = self.topics.parse(topic)
        data = _parse_json(payload)
        if data is None:
            return False
        with self._cond:
            if kind == "counter_state" and key == self.counter:
                ticket = data.get("ticket")
                # A snapshot at (re)subscribe shows the number without flashing; a change is a call.
                blink = ticket is not None and ticket != self.ticket and not retained
                new = (str(data.get("label") or self.label), str(data.get("status") or "closed"),
                       ticket, data.get("service"))
                departed = self._track(data, new[1], retained)
                changed = new != (self.label, self.status, self.ticket, self.service) or blink or departed
                self.label, self.status, self.ticket, self.service = new
                self.blinks += int(blink)
            elif kind == "calls":
                call = _call_from(data)
                changed = (call is not None and call.counter == self.counter and call.recall
                           and self._seq.accept(call.seq, call.at))
                if changed:
                    self.ticket = call.ticket
                    self.blinks += 1
                    self._recall_ats.add(call.at)
            else:
                return False
            if changed:
                self._changed()
        if changed:
            self._notify()
        return changed

    def _track(self, data: dict[str, Any], status: str, retained: bool) -> bool:
        """Follow ``ticket_id``; record a :class:`Departure` when it changes. With ``_cond`` held."""
        tid = data.get("ticket_id")
        tid = tid if isinstance(tid, int) and not isinstance(tid, bool) else None
        at = _parse_at(data.get("at"))
        ticket_status = data.get("ticket_status") if isinstance(data.get("ticket_status"), str) else None
        if tid == self.ticket_id:
            if tid is not None and at not in {a for a, _ in self._history}:
                self._history.append((at, status))
            if ticket_status is not None:
                self._ticket_status = ticket_status
            return False
        departed = self.ticket_id is not None
        if departed:
            if self._ticket_status is not None:
                served = self._ticket_status == "serving"
            else:
                served = self._was_served(tid is not None)
            self.departure = Departure(self.ticket_id, self.ticket, served, tid is not None)
            self.departures += 1
        self.ticket_id, self._history, self._recall_ats = tid, [(at, status)], set()
        self._ticket_status = ticket_status
        self._joined_late = retained
        return departed

    def _was_served(self, replaced: bool) -> bool:
        if replaced or self._joined_late:
            return True
        return any(at not in self._recall_ats and status == before
                   for (_, before), (at, status) in zip(self._history, self._history[1:]))

