"""Tickets and counters: load rows into domain objects, apply a rule, write back, emit events.

Every public method is one transaction. Events for displays (calls, counter and queue state) go
to the outbox inside that transaction, so what MQTT shows is exactly what was committed.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from devices.mqtt import Topics
from server.domain import queue as q
from server.domain.errors import InvalidInput, NotFound, QueueEmpty

from . import journal, outbox
from .notice_store import enqueue_near, erase_phone
from .queue_claims import Retry, pick_present, run_claim
from .queue_reads import QueueReads
from .queue_rows import (
    _BUMP_NUMBER, _BY_KEY, _INSERT_TICKET, _INSERT_TICKET_EVENT, _LOCK_COUNTER, _SAVE_COUNTER, _SAVE_TICKET,
    _TICKET_DEFAULTS,
    _counter_from_row, _ticket_from_row, _ticket_values, utcnow,
)
from .site_settings import max_wait
from .tables import ticket_sequences, tickets

_TICKET_REF = re.compile(r"(?P<prefix>[^\W\d_]?)(?P<digits>[0-9]+)")
"""What an official may type to call a ticket: its id ("42") or today's label ("A012"; a site's
prefix is one capital letter, not always ASCII)."""
_MAX_ID = 2**31 - 1


class QueueStore(QueueReads):
    """Queue operations for any site in the database: each public method is one transaction."""

    notify_ahead: int | None = None
    """Set when "your turn is near" notices are on (a channel is configured): the default n. Then
    every change that moves the queue records the notices it makes due, and every ticket that ends
    loses its phone number, in the same transaction (``notice_store``)."""

    def _queue_moved(self, conn: Connection, site: str, day, now: datetime) -> None:
        if self.notify_ahead is not None:
            enqueue_near(conn, site, day, now, self.notify_ahead)

    # ---- issuing --------------------------------------------------------------------------
    def issue(
        self,
        site: str,
        service_id: str,
        idempotency_key: str,
        *,
        priority: str | None = None,
        citizen_hash: str | None = None,
        citizen_name: str | None = None,
        actor: str | None = None,
        now: datetime | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Issue a ticket; the same idempotency key returns the first ticket. → (view, created).

        ``window``: a booked citizen's slot (start, end): inside it the ticket is called first."""
        for attempt in range(3):
            try:
                return self._issue_once(
                    site, service_id, idempotency_key, priority, citizen_hash, citizen_name, actor, now or utcnow(),
                    window
                )
            except IntegrityError:
                # PostgreSQL: a concurrent request with the same key committed first; read it back.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _issue_once(self, site, service_id, key, priority, citizen_hash, citizen_name, actor, now, window=None):
        with self.db.write() as conn:
            existing = conn.execute(_BY_KEY, {"p_site": site, "p_key": key}).first()
            if existing is not None:
                if existing.service != service_id and existing.original_service != service_id:
                    raise InvalidInput(
                        "idempotency_key was already used for another service", code="idempotency_conflict"
                    )
                return self._view(conn, _ticket_from_row(existing), token=existing.token), False
            return self._insert_issued(conn, site, service_id, key, priority, citizen_hash, citizen_name, actor,
                                       now, window), True

    def _insert_issued(self, conn, site, service_id, key, priority, citizen_hash, citizen_name, actor, now,
                       window=None, **extra) -> dict[str, Any]:
        """Number and insert a waiting ticket in the caller's transaction (the kiosk's, a booked
        citizen's with its ``window``, or a remote join's with ``remote=True`` and its ``phone_key``).
        → its view."""
        info = self.site(conn, site)
        svc = self._service(conn, site, service_id)
        prio = q.Priority(priority) if priority else None
        day = q.local_day(now, info.tz)
        number = self._next_number(conn, site, svc.prefix, day)
        ticket = q.Ticket(id=None, site=site, service=service_id, prefix=svc.prefix, number=number, day=day,
                          issued_at=now, priority=prio, window_start=window[0] if window else None,
                          window_end=window[1] if window else None, remote=bool(extra.get("remote")))
        # Everyone waiting came before a new ticket; a priority one passes the non-priority ones.
        counts = self._queue_figures(conn, site, service_id, day)
        if window is not None and window[0] <= now <= window[1]:
            # a booked citizen inside the slot: only other booked citizens inside theirs come first
            ahead = conn.execute(select(func.count()).select_from(tickets).where(
                tickets.c.site == site, tickets.c.day == day, tickets.c.service == service_id,
                tickets.c.status == "waiting", tickets.c.window_start <= now, tickets.c.window_end >= now,
            )).scalar_one()
        else:
            ahead = counts["priority_waiting"] if prio else counts["waiting"]
        speed = self._service_speed(conn, site, service_id, day)
        ticket.est_wait_s = q.estimate_wait(ahead, *speed)
        token = secrets.token_urlsafe(16)
        ticket.id = conn.execute(_INSERT_TICKET, {
            "site": site, "service": service_id, "prefix": svc.prefix, "number": number, "day": day,
            "issued_at": now, "status": q.TicketStatus.WAITING.value,
            "priority": prio.value if prio else None, "idempotency_key": key, "token": token,
            "est_wait_s": ticket.est_wait_s, "citizen_hash": citizen_hash, "citizen_name": citizen_name,
            "source": actor, "window_start": ticket.window_start, "window_end": ticket.window_end,
            **_TICKET_DEFAULTS, **extra,
        }).scalar_one()
        self._event(conn, ticket, now, "issue", "waiting", None, service_id, actor)
        counts["waiting"] += 1
        self._emit_queue_state(conn, site, service_id, day, now, speed=speed, counts=counts)
        return self._view(conn, ticket, token=token, ahead=ahead)

    def _next_number(self, conn: Connection, site: str, prefix: str, day) -> int:
        """Per site, prefix and local day; one ``UPDATE … RETURNING`` in the issuing transaction."""
        params = {"p_site": site, "p_prefix": prefix, "p_day": day}
        number = conn.execute(_BUMP_NUMBER, params).scalar()
        if number is None:
            conn.execute(insert(ticket_sequences).values(site=site, prefix=prefix, day=day, last_number=0))
            number = conn.execute(_BUMP_NUMBER, params).scalar_one()
        return number

    # ---- counters -------------------------------------------------------------------------
    # Every path that changes who holds a ticket runs through queue_claims.run_claim and locks
    # the counter, then its ticket, then the claimed ticket (see queue_claims for why).
    def call_next(self, site: str, counter_id: str, actor: str | None = None, now: datetime | None = None):
        now = now or utcnow()
        view = run_claim(lambda: self._call_next_once(site, counter_id, actor, now))
        if view is None:  # only remote tickets not checked in were waiting: set aside, committed
            raise QueueEmpty(f"nobody present is waiting for counter {counter_id}")
        return view

    def _call_next_once(self, site, counter_id, actor, now):
        with self.db.write() as conn:
            counter, current, settings = self._locked_counter(conn, site, counter_id)
            q.ensure_can_call(counter, current)
            overdue = q.overdue_before(now, max_wait(settings))
            ticket, aside = pick_present(conn, counter, self.today(conn, site, now), overdue, now)
            for absent in aside:
                self._event(conn, absent, now, "set_aside", absent.status, counter.id, absent.service, actor)
            if ticket is None:
                for service_id in {a.service for a in aside}:
                    self._emit_queue_state(conn, site, service_id, aside[0].day, now)
                return None
            view = self._do_call(conn, counter, ticket, current, actor, now)
            for service_id in {a.service for a in aside} - {ticket.service}:
                self._emit_queue_state(conn, site, service_id, ticket.day, now)
            return view

    def call_chosen(self, site: str, counter_id: str, label_or_id: str, actor: str | None = None, now=None):
        now = now or utcnow()
        return run_claim(lambda: self._call_chosen_once(site, counter_id, label_or_id, actor, now))

    def _call_chosen_once(self, site, counter_id, label_or_id, actor, now):
        with self.db.write() as conn:
            counter, current, _ = self._locked_counter(conn, site, counter_id)
            found = self._find_ticket(conn, site, label_or_id, self.today(conn, site, now))
            # waits for a counter claiming it right now; then sees whether it is still waiting
            ticket = self._ticket(conn, found.id, lock=True)
            return self._do_call(conn, counter, ticket, current, actor, now)

    def _locked_counter(self, conn: Connection, site: str, counter_id: str):
        """(the counter, row locked; the ticket it really holds, row locked, or None; the site's
        settings JSON). The settings are read at every call, in the same statement, so a reloaded
        site file's ``max_wait_minutes`` applies at once."""
        row = conn.execute(_LOCK_COUNTER, {"p_site": site, "p_counter": counter_id}).first()
        if row is None:
            raise NotFound(f"unknown counter {counter_id!r} at site {site!r}", code="unknown_counter")
        counter = _counter_from_row(row)
        current = None
        if counter.current_ticket_id is not None:
            current = q.held_ticket(counter, self._ticket(conn, counter.current_ticket_id, lock=True))
        return counter, current, row.site_settings

    def _do_call(self, conn, counter, ticket, current, actor, now):
        was = ticket.status
        finished = q.call(counter, ticket, current, now)
        if finished is not None:
            self._save_ticket(conn, finished, was=q.TicketStatus.SERVING)
            self._event(conn, finished, now, "finish", finished.status, counter.id, finished.service, actor)
        self._save_ticket(conn, ticket, official=actor, was=was)
        self._save_counter(conn, counter, official=actor)
        self._event(conn, ticket, now, "call", ticket.status, counter.id, ticket.service, actor)
        events: list[outbox.NewEvent] = []
        self._emit_call(conn, counter, ticket, now, recall=False, into=events)
        self._emit_counter_state(conn, counter, ticket, now, into=events)
        self._emit_queue_state(conn, counter.site, ticket.service, ticket.day, now, last_called=ticket.label,
                               into=events)
        if finished is not None and finished.service != ticket.service:
            self._emit_queue_state(conn, counter.site, finished.service, finished.day, now, into=events)
        outbox.append_many(conn, counter.site, events, now)
        self._queue_moved(conn, counter.site, ticket.day, now)
        return self._view(conn, ticket)

    def _find_ticket(self, conn: Connection, site: str, label_or_id: str, day) -> q.Ticket:
        text = label_or_id.strip().upper()
        # ASCII only: str.isdigit() also accepts "¹" or "٣", which int() then refuses or reads as 3;
        # and no number beyond the INTEGER column (an overflow would be a 500, not a 404)
        match = _TICKET_REF.fullmatch(text)
        if match is None or int(match["digits"]) > _MAX_ID:
            raise NotFound(f"unknown ticket {label_or_id!r}", code="unknown_ticket")
        prefix, digits = match["prefix"], match["digits"]
        if not prefix:
            ticket = self._ticket(conn, int(digits))
            if ticket.site != site:
                raise NotFound(f"unknown ticket {label_or_id}", code="unknown_ticket")
            return ticket
        row = conn.execute(
            select(tickets).where(
                tickets.c.site == site, tickets.c.day == day, tickets.c.prefix == prefix, tickets.c.number == int(digits)
            )
        ).first()
        if row is None:
            raise NotFound(f"no ticket {label_or_id} today", code="unknown_ticket")
        return _ticket_from_row(row)

    def set_counter(self, site: str, counter_id: str, action: str, reason: str | None = None,
                    actor: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        return run_claim(lambda: self._set_counter_once(site, counter_id, action, reason, actor, now))

    def _set_counter_once(self, site, counter_id, action, reason, actor, now) -> dict[str, Any]:
        with self.db.write() as conn:
            counter, current, _ = self._locked_counter(conn, site, counter_id)
            if action == "open":
                q.open_counter(counter)
            elif action == "pause":
                q.pause_counter(counter, reason or "", current)
            elif action == "close":
                q.close_counter(counter, current)
            else:  # pragma: no cover - routes only pass the three
                raise InvalidInput(f"unknown counter action {action}")
            self._save_counter(conn, counter, official=actor if action == "open" else None)
            events: list[outbox.NewEvent] = []
            self._emit_counter_state(conn, counter, current, now, into=events)
            day = self.today(conn, site, now)
            for service_id in counter.services:
                self._emit_queue_state(conn, site, service_id, day, now, into=events)
            outbox.append_many(conn, site, events, now)
            if action == "open":
                self._queue_moved(conn, site, day, now)
            return self.counter_view(counter, current)

    # ---- ticket actions -------------------------------------------------------------------
    def ticket_action(self, ticket_id: int, action: str, *, actor: str | None = None,
                      service: str | None = None, counter_id: str | None = None, now: datetime | None = None,
                      site: str | None = None):
        """``site``: the caller's own site, if its token is limited to one (others' tickets are 404)."""
        now = now or utcnow()
        return run_claim(lambda: self._ticket_action_once(ticket_id, action, actor, service, counter_id, now, site))

    def _ticket_action_once(self, ticket_id, action, actor, service, counter_id, now, site):
        with self.db.write() as conn:
            seen = self._ticket(conn, ticket_id)  # which counter to lock first
            if site is not None and seen.site != site:
                raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
            counter = self._counter(conn, seen.site, seen.counter, lock=True) if seen.counter else None
            ticket = seen
            if not self.db.is_sqlite:  # SQLite's write transaction already holds everything
                ticket = self._ticket(conn, ticket_id, lock=True)
                if ticket.counter != seen.counter:
                    raise Retry()  # claimed or released between the two reads: lock in order again
            was, old_service = ticket.status, ticket.service
            announce = False

            def at_counter() -> q.Counter:
                if counter is None:
                    raise q.InvalidTransition(f"ticket {ticket.label} is not at a counter ({ticket.status.value})")
                return counter

            if action == "recall":
                announce = q.recall(at_counter(), ticket, self.recall_limit)
            elif action == "start":
                q.start(at_counter(), ticket, now)
            elif action == "finish":
                q.finish(at_counter(), ticket, now)
            elif action == "no-show":
                q.no_show(at_counter(), ticket)
            elif action == "park":
                q.park(at_counter(), ticket)
            elif action == "resume":
                q.resume(ticket)
            elif action == "cancel":
                q.cancel(ticket)
            elif action == "transfer":
                target_service = service or ticket.service
                self._service(conn, ticket.site, target_service)
                if counter_id is not None:
                    self._counter(conn, ticket.site, counter_id)
                q.transfer(counter, ticket, target_service, counter_id)
            else:  # pragma: no cover - routes only pass known actions
                raise InvalidInput(f"unknown action {action}")
            self._save_ticket(conn, ticket, was=was)
            self._event(conn, ticket, now, action, ticket.status, counter.id if counter else None, ticket.service, actor)
            events: list[outbox.NewEvent] = []
            if counter is not None:
                self._save_counter(conn, counter)
                if announce:
                    self._emit_call(conn, counter, ticket, now, recall=True, into=events)
                current = ticket if counter.current_ticket_id == ticket.id else None
                self._emit_counter_state(conn, counter, current, now, into=events)
            if action != "start":  # called → serving: the queue's figures are what they were
                for service_id in {old_service, ticket.service}:
                    self._emit_queue_state(conn, ticket.site, service_id, ticket.day, now, into=events)
            outbox.append_many(conn, ticket.site, events, now)
            self._queue_moved(conn, ticket.site, ticket.day, now)
            return self._view(conn, ticket)

    # ---- persistence helpers --------------------------------------------------------------
    def _save_ticket(self, conn: Connection, ticket: q.Ticket, *, was: q.TicketStatus,
                     official: str | None = None) -> None:
        """Write ``ticket`` back only if it is still ``was``: a claim is never overwritten."""
        values = _ticket_values(ticket)
        if official:
            values["official"] = official
        done = conn.execute(_SAVE_TICKET[bool(official)], {**values, "p_id": ticket.id, "p_was": was.value})
        if done.rowcount != 1:
            raise Retry()
        if self.notify_ahead is not None and ticket.status in q.FINAL:
            erase_phone(conn, ticket.id)

    def _save_counter(self, conn: Connection, counter: q.Counter, official: str | None = None) -> None:
        values = {"status": counter.status.value, "pause_reason": counter.pause_reason,
                  "current_ticket_id": counter.current_ticket_id, "p_site": counter.site, "p_counter": counter.id}
        if official:
            values["official"] = official
        conn.execute(_SAVE_COUNTER[bool(official)], values)

    def _event(self, conn, ticket: q.Ticket, now, action, status, counter_id, service, actor, note=None) -> None:
        """The ticket's history row, and the same fact in the sync journal (no citizen data).

        The journal body also carries the ticket's times, estimated wait and remote flag as they
        stand after the change, so the province can rebuild the row the ticket report reads
        (``server.sync.ticket_projector``) from any one event: the last one wins."""
        conn.execute(_INSERT_TICKET_EVENT, {
            "ticket_id": ticket.id, "at": now, "action": action, "status": str(status), "counter": counter_id,
            "service": service, "actor": actor, "note": note,
        })
        journal.record(conn, ticket.site, "call" if action in ("call", "recall") else "ticket", {
            "ticket": ticket.id, "label": ticket.label, "day": ticket.day.isoformat(), "action": action,
            "status": str(status), "service": service, "counter": counter_id, "actor": actor,
            "priority": ticket.priority.value if ticket.priority else None,
            **journal.ticket_state(ticket),
        }, now)

    # ---- events ---------------------------------------------------------------------------
    # ``into``: collect the event instead of writing it; the caller writes the list with one
    # ``outbox.append_many`` (two statements for a call's three or four events instead of eight).
    def _emit_call(self, conn, counter: q.Counter, ticket: q.Ticket, now, *, recall: bool,
                   into: list | None = None) -> None:
        event = outbox.NewEvent("call", Topics(counter.site).calls, {
            "ticket": ticket.label, "counter": counter.id, "label": counter.label,
            "service": ticket.service, "recall": recall,
        }, retain=False, with_seq=True)
        self._put(conn, counter.site, event, now, into)

    def _emit_counter_state(self, conn, counter: q.Counter, ticket: q.Ticket | None, now,
                            into: list | None = None) -> None:
        if ticket is None and counter.current_ticket_id is not None:
            ticket = self._ticket(conn, counter.current_ticket_id)
        event = outbox.NewEvent("counter_state", Topics(counter.site).counter_state(counter.id),
                                self.counter_state(counter, ticket), retain=True)
        self._put(conn, counter.site, event, now, into)

    def _emit_queue_state(self, conn, site: str, service_id: str, day, now, last_called: str | None = None,
                          speed: tuple[list[float], int] | None = None, counts: dict | None = None,
                          into: list | None = None) -> None:
        state = self._queue_state(conn, site, service_id, day, last_called, speed, counts)
        self._put(conn, site, outbox.NewEvent("queue_state", Topics(site).queue_state(service_id), state, retain=True),
                  now, into)

    @staticmethod
    def _put(conn, site: str, event: outbox.NewEvent, now, into: list | None) -> None:
        if into is None:
            outbox.append_many(conn, site, [event], now)
        else:
            into.append(event)
