"""Tickets and counters: load rows into domain objects, apply a rule, write back, emit events.

Every public method is one transaction. Events for displays (calls, counter and queue state) go
to the outbox inside that transaction, so what MQTT shows is exactly what was committed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from devices.mqtt import Topics, envelope
from server.domain import queue as q
from server.domain.errors import InvalidInput, NotFound, QueueEmpty

from . import outbox
from .db import Database
from .tables import counters, services, sites, ticket_events, ticket_sequences, tickets


# Hot-path statements built once; calls only bind parameters.
_INSERT_TICKET = insert(tickets).returning(tickets.c.id)
_TICKET_DEFAULTS = {
    "counter": None, "target_counter": None, "called_at": None, "started_at": None, "finished_at": None,
    "recall_count": 0, "transfer_count": 0, "original_service": None, "official": None,
}
_INSERT_TICKET_EVENT = insert(ticket_events)
_BUMP_NUMBER = (
    update(ticket_sequences)
    .where(ticket_sequences.c.site == bindparam("p_site"), ticket_sequences.c.prefix == bindparam("p_prefix"),
           ticket_sequences.c.day == bindparam("p_day"))
    .values(last_number=ticket_sequences.c.last_number + 1)
    .returning(ticket_sequences.c.last_number)
)


_T = tickets.c
_P_SITE, _P_DAY, _P_SERVICE = bindparam("p_site"), bindparam("p_day"), bindparam("p_service")
_IN_SERVICE = (_T.site == _P_SITE, _T.day == _P_DAY, _T.service == _P_SERVICE)
_BY_KEY = select(tickets).where(_T.site == _P_SITE, _T.idempotency_key == bindparam("p_key"))
_SERVICE = select(services).where(services.c.site == _P_SITE, services.c.id == _P_SERVICE, services.c.active)
_STATUS_COUNTS = (
    select(_T.status, func.count()).where(*_IN_SERVICE, _T.status.in_(("waiting", "called", "serving")))
    .group_by(_T.status)
)
_PRIORITY_WAITING = select(func.count()).select_from(tickets).where(
    *_IN_SERVICE, _T.status == "waiting", _T.priority.is_not(None))
_LAST_CALLED = (
    select(_T.prefix, _T.number).where(*_IN_SERVICE, _T.called_at.is_not(None))
    .order_by(_T.called_at.desc(), _T.id.desc()).limit(1)
)
_RECENT_DONE = (
    select(_T.called_at, _T.finished_at).where(*_IN_SERVICE, _T.finished_at.is_not(None))
    .order_by(_T.finished_at.desc()).limit(q.RECENT_SAMPLES)
)
_OPEN_COUNTERS = select(counters.c.services).where(counters.c.site == _P_SITE, counters.c.status == "open")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SiteInfo:
    id: str
    name: str
    tz: ZoneInfo


def _ticket_from_row(row: Any) -> q.Ticket:
    return q.Ticket(
        id=row.id,
        site=row.site,
        service=row.service,
        prefix=row.prefix,
        number=row.number,
        day=row.day,
        issued_at=row.issued_at,
        status=q.TicketStatus(row.status),
        priority=q.Priority(row.priority) if row.priority else None,
        counter=row.counter,
        target_counter=row.target_counter,
        called_at=row.called_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        recall_count=row.recall_count,
        transfer_count=row.transfer_count,
        original_service=row.original_service,
        est_wait_s=row.est_wait_s,
    )


def _ticket_values(t: q.Ticket) -> dict[str, Any]:
    return {
        "service": t.service,
        "status": t.status.value,
        "counter": t.counter,
        "target_counter": t.target_counter,
        "called_at": t.called_at,
        "started_at": t.started_at,
        "finished_at": t.finished_at,
        "recall_count": t.recall_count,
        "transfer_count": t.transfer_count,
        "original_service": t.original_service,
    }


def _counter_from_row(row: Any) -> q.Counter:
    return q.Counter(
        id=row.id,
        site=row.site,
        label=row.label,
        services=json.loads(row.services),
        status=q.CounterStatus(row.status),
        pause_reason=row.pause_reason,
        current_ticket_id=row.current_ticket_id,
    )


class QueueStore:
    """Queue operations for any site in the database."""

    def __init__(self, db: Database, *, public_url: str, recall_limit: int = 2) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self.recall_limit = recall_limit
        self._sites: dict[str, SiteInfo] = {}

    # ---- look-ups -------------------------------------------------------------------------
    def site(self, conn: Connection, site_id: str) -> SiteInfo:
        info = self._sites.get(site_id)
        if info is None:
            row = conn.execute(select(sites).where(sites.c.id == site_id)).first()
            if row is None:
                raise NotFound(f"unknown site {site_id!r}", code="unknown_site")
            info = SiteInfo(row.id, row.name, ZoneInfo(row.timezone))
            self._sites[site_id] = info
        return info

    def _service(self, conn: Connection, site: str, service_id: str) -> Any:
        row = conn.execute(_SERVICE, {"p_site": site, "p_service": service_id}).first()
        if row is None:
            raise NotFound(f"unknown service {service_id!r} at site {site!r}", code="unknown_service")
        return row

    def _counter(self, conn: Connection, site: str, counter_id: str) -> q.Counter:
        row = conn.execute(select(counters).where(counters.c.site == site, counters.c.id == counter_id)).first()
        if row is None:
            raise NotFound(f"unknown counter {counter_id!r} at site {site!r}", code="unknown_counter")
        return _counter_from_row(row)

    def _ticket(self, conn: Connection, ticket_id: int) -> q.Ticket:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
        return _ticket_from_row(row)

    def today(self, conn: Connection, site: str, now: datetime) -> Any:
        return q.local_day(now, self.site(conn, site).tz)

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
    ) -> tuple[dict[str, Any], bool]:
        """Issue a ticket; the same idempotency key returns the first ticket. → (view, created)."""
        for attempt in range(3):
            try:
                return self._issue_once(
                    site, service_id, idempotency_key, priority, citizen_hash, citizen_name, actor, now or utcnow()
                )
            except IntegrityError:
                # PostgreSQL: a concurrent request with the same key committed first; read it back.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _issue_once(self, site, service_id, key, priority, citizen_hash, citizen_name, actor, now):
        with self.db.write() as conn:
            existing = conn.execute(_BY_KEY, {"p_site": site, "p_key": key}).first()
            if existing is not None:
                if existing.service != service_id and existing.original_service != service_id:
                    raise InvalidInput(
                        "idempotency_key was already used for another service", code="idempotency_conflict"
                    )
                return self._view(conn, _ticket_from_row(existing), token=existing.token), False
            info = self.site(conn, site)
            svc = self._service(conn, site, service_id)
            prio = q.Priority(priority) if priority else None
            day = q.local_day(now, info.tz)
            number = self._next_number(conn, site, svc.prefix, day)
            ticket = q.Ticket(id=None, site=site, service=service_id, prefix=svc.prefix, number=number, day=day,
                              issued_at=now, priority=prio)
            # Everyone waiting came before a new ticket; a priority one passes the non-priority ones.
            counts = self._status_counts(conn, site, service_id, day)
            if prio:
                ahead = conn.execute(_PRIORITY_WAITING, {"p_site": site, "p_day": day, "p_service": service_id}).scalar_one()
            else:
                ahead = counts.get("waiting", 0)
            speed = self._service_speed(conn, site, service_id, day)
            ticket.est_wait_s = q.estimate_wait(ahead, *speed)
            token = secrets.token_urlsafe(16)
            ticket.id = conn.execute(_INSERT_TICKET, {
                "site": site, "service": service_id, "prefix": svc.prefix, "number": number, "day": day,
                "issued_at": now, "status": q.TicketStatus.WAITING.value,
                "priority": prio.value if prio else None, "idempotency_key": key, "token": token,
                "est_wait_s": ticket.est_wait_s, "citizen_hash": citizen_hash, "citizen_name": citizen_name,
                "source": actor, **_TICKET_DEFAULTS,
            }).scalar_one()
            self._event(conn, ticket.id, now, "issue", "waiting", None, service_id, actor)
            counts["waiting"] = counts.get("waiting", 0) + 1
            self._emit_queue_state(conn, site, service_id, day, now, speed=speed, counts=counts)
            return self._view(conn, ticket, token=token, ahead=ahead), True

    def _next_number(self, conn: Connection, site: str, prefix: str, day) -> int:
        """Per site, prefix and local day; one ``UPDATE … RETURNING`` in the issuing transaction."""
        params = {"p_site": site, "p_prefix": prefix, "p_day": day}
        number = conn.execute(_BUMP_NUMBER, params).scalar()
        if number is None:
            conn.execute(insert(ticket_sequences).values(site=site, prefix=prefix, day=day, last_number=0))
            number = conn.execute(_BUMP_NUMBER, params).scalar_one()
        return number

    def position(self, conn: Connection, row: Any) -> tuple[q.Ticket, int, int | None]:
        """(ticket, people ahead, fresh estimated wait in s or None when not waiting) for a ticket row."""
        ticket = _ticket_from_row(row)
        ahead = self._ahead_of(conn, ticket)
        est = None
        if ticket.status in (q.TicketStatus.WAITING, q.TicketStatus.PARKED):
            est = q.estimate_wait(ahead, *self._service_speed(conn, ticket.site, ticket.service, ticket.day))
        return ticket, ahead, est

    def _ahead_of(self, conn, ticket: q.Ticket) -> int:
        """Waiting tickets of the same service called before this one (priority first, then earlier).

        Reads only ``ix_tickets_queue``. Tickets sent to one counter are counted too: they are
        people in the hall all the same.
        """
        if ticket.status != q.TicketStatus.WAITING:
            return 0
        t = tickets.c
        if ticket.id is None:  # not inserted yet: everyone waiting came first
            earlier = t.issued_at <= ticket.issued_at
        else:
            earlier = (t.issued_at < ticket.issued_at) | ((t.issued_at == ticket.issued_at) & (t.id < ticket.id))
        before = (t.priority.is_not(None) & earlier) if ticket.priority else (t.priority.is_not(None) | earlier)
        cond = [t.site == ticket.site, t.day == ticket.day, t.service == ticket.service, t.status == "waiting", before]
        if ticket.id is not None:
            cond.append(t.id != ticket.id)
        return conn.execute(select(func.count()).select_from(tickets).where(*cond)).scalar_one()

    def _service_speed(self, conn, site, service_id, day) -> tuple[list[float], int]:
        """(recent service times in seconds, open counters serving the service)."""
        rows = conn.execute(_RECENT_DONE, {"p_site": site, "p_day": day, "p_service": service_id}).all()
        recent = [(r.finished_at - r.called_at).total_seconds() for r in rows if r.called_at and r.finished_at]
        open_rows = conn.execute(_OPEN_COUNTERS, {"p_site": site}).all()
        open_count = sum(1 for r in open_rows if service_id in json.loads(r.services))
        return list(reversed(recent)), open_count

    # ---- counters -------------------------------------------------------------------------
    def call_next(self, site: str, counter_id: str, actor: str | None = None, now: datetime | None = None):
        now = now or utcnow()
        with self.db.write() as conn:
            counter = self._counter(conn, site, counter_id)
            current = self._ticket(conn, counter.current_ticket_id) if counter.current_ticket_id else None
            q.ensure_can_call(counter, current)
            day = self.today(conn, site, now)
            ticket = self._pick(conn, counter, day)
            return self._do_call(conn, counter, ticket, current, actor, now)

    def call_chosen(self, site: str, counter_id: str, label_or_id: str, actor: str | None = None, now=None):
        now = now or utcnow()
        with self.db.write() as conn:
            counter = self._counter(conn, site, counter_id)
            current = self._ticket(conn, counter.current_ticket_id) if counter.current_ticket_id else None
            ticket = self._find_ticket(conn, site, label_or_id, self.today(conn, site, now))
            return self._do_call(conn, counter, ticket, current, actor, now)

    def _do_call(self, conn, counter, ticket, current, actor, now):
        finished = q.call(counter, ticket, current, now)
        if finished is not None:
            self._save_ticket(conn, finished)
            self._event(conn, finished.id, now, "finish", finished.status, counter.id, finished.service, actor)
        self._save_ticket(conn, ticket, official=actor)
        self._save_counter(conn, counter, official=actor)
        self._event(conn, ticket.id, now, "call", ticket.status, counter.id, ticket.service, actor)
        self._emit_call(conn, counter, ticket, now, recall=False)
        self._emit_counter_state(conn, counter, ticket, now)
        self._emit_queue_state(conn, counter.site, ticket.service, ticket.day, now, last_called=ticket.label)
        if finished is not None and finished.service != ticket.service:
            self._emit_queue_state(conn, counter.site, finished.service, finished.day, now)
        return self._view(conn, ticket)

    def _pick(self, conn: Connection, counter: q.Counter, day) -> q.Ticket:
        """SQL form of :func:`server.domain.queue.sort_key` (tests hold the two to the same order)."""
        t = tickets.c
        if not counter.services:
            raise QueueEmpty(f"counter {counter.label} serves no service", code="queue_empty")
        preference = case(
            {svc: i for i, svc in enumerate(counter.services)}, value=t.service, else_=len(counter.services)
        )
        row = conn.execute(
            select(tickets)
            .where(
                t.site == counter.site,
                t.day == day,
                t.status == "waiting",
                ((t.target_counter == counter.id) | (t.target_counter.is_(None) & t.service.in_(counter.services))),
            )
            .order_by(
                case((t.target_counter == counter.id, 0), else_=1),
                preference,
                case((t.priority.is_not(None), 0), else_=1),
                t.issued_at,
                t.id,
            )
            .limit(1)
        ).first()
        if row is None:
            raise QueueEmpty(f"nobody is waiting for counter {counter.label}")
        return _ticket_from_row(row)

    def _find_ticket(self, conn: Connection, site: str, label_or_id: str, day) -> q.Ticket:
        text = label_or_id.strip().upper()
        if text.isdigit():
            ticket = self._ticket(conn, int(text))
            if ticket.site != site:
                raise NotFound(f"unknown ticket {label_or_id}", code="unknown_ticket")
            return ticket
        prefix, digits = text[:1], text[1:]
        if not prefix.isalpha() or not digits.isdigit():
            raise NotFound(f"unknown ticket {label_or_id!r}", code="unknown_ticket")
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
        with self.db.write() as conn:
            counter = self._counter(conn, site, counter_id)
            if action == "open":
                q.open_counter(counter)
            elif action == "pause":
                q.pause_counter(counter, reason or "")
            elif action == "close":
                q.close_counter(counter)
            else:  # pragma: no cover - routes only pass the three
                raise InvalidInput(f"unknown counter action {action}")
            self._save_counter(conn, counter, official=actor if action == "open" else None)
            self._emit_counter_state(conn, counter, None, now)
            day = self.today(conn, site, now)
            for service_id in counter.services:
                self._emit_queue_state(conn, site, service_id, day, now)
            return self.counter_view(counter, None)

    # ---- ticket actions -------------------------------------------------------------------
    def ticket_action(self, ticket_id: int, action: str, *, actor: str | None = None,
                      service: str | None = None, counter_id: str | None = None, now: datetime | None = None,
                      site: str | None = None):
        """``site``: the caller's own site, if its token is limited to one (others' tickets are 404)."""
        now = now or utcnow()
        with self.db.write() as conn:
            ticket = self._ticket(conn, ticket_id)
            if site is not None and ticket.site != site:
                raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
            counter = self._counter(conn, ticket.site, ticket.counter) if ticket.counter else None
            old_service = ticket.service
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
            self._save_ticket(conn, ticket)
            self._event(conn, ticket.id, now, action, ticket.status, counter.id if counter else None, ticket.service, actor)
            if counter is not None:
                self._save_counter(conn, counter)
                if announce:
                    self._emit_call(conn, counter, ticket, now, recall=True)
                current = ticket if counter.current_ticket_id == ticket.id else None
                self._emit_counter_state(conn, counter, current, now)
            for service_id in {old_service, ticket.service}:
                self._emit_queue_state(conn, ticket.site, service_id, ticket.day, now)
            return self._view(conn, ticket)

    # ---- persistence helpers --------------------------------------------------------------
    def _save_ticket(self, conn: Connection, ticket: q.Ticket, official: str | None = None) -> None:
        values = _ticket_values(ticket)
        if official:
            values["official"] = official
        conn.execute(update(tickets).where(tickets.c.id == ticket.id).values(**values))

    def _save_counter(self, conn: Connection, counter: q.Counter, official: str | None = None) -> None:
        values = {"status": counter.status.value, "pause_reason": counter.pause_reason,
                  "current_ticket_id": counter.current_ticket_id}
        if official:
            values["official"] = official
        conn.execute(
            update(counters).where(counters.c.site == counter.site, counters.c.id == counter.id).values(**values)
        )

    def _event(self, conn, ticket_id, now, action, status, counter_id, service, actor, note=None) -> None:
        conn.execute(_INSERT_TICKET_EVENT, {
            "ticket_id": ticket_id, "at": now, "action": action, "status": str(status), "counter": counter_id,
            "service": service, "actor": actor, "note": note,
        })

    # ---- events ---------------------------------------------------------------------------
    def _emit_call(self, conn, counter: q.Counter, ticket: q.Ticket, now, *, recall: bool) -> None:
        topics = Topics(counter.site)
        outbox.append(conn, counter.site, "call", topics.calls, {
            "ticket": ticket.label, "counter": counter.id, "label": counter.label,
            "service": ticket.service, "recall": recall,
        }, retain=False, now=now, with_seq=True)

    def _emit_counter_state(self, conn, counter: q.Counter, ticket: q.Ticket | None, now) -> None:
        if ticket is None and counter.current_ticket_id is not None:
            ticket = self._ticket(conn, counter.current_ticket_id)
        outbox.append(conn, counter.site, "counter_state", Topics(counter.site).counter_state(counter.id),
                      self.counter_view(counter, ticket), retain=True, now=now)

    def _emit_queue_state(self, conn, site: str, service_id: str, day, now, last_called: str | None = None,
                          speed: tuple[list[float], int] | None = None, counts: dict | None = None) -> None:
        state = self._queue_state(conn, site, service_id, day, last_called, speed, counts)
        outbox.append(conn, site, "queue_state", Topics(site).queue_state(service_id), state, retain=True, now=now)

    def _status_counts(self, conn, site: str, service_id: str, day) -> dict[str, int]:
        """Tickets of the service today by status (waiting, called, serving), from the index alone."""
        return dict(conn.execute(_STATUS_COUNTS, {"p_site": site, "p_day": day, "p_service": service_id}).all())

    def _queue_state(self, conn, site: str, service_id: str, day, last_called: str | None = None,
                     speed: tuple[list[float], int] | None = None, counts: dict | None = None) -> dict[str, Any]:
        if counts is None:
            counts = self._status_counts(conn, site, service_id, day)
        waiting = counts.get("waiting", 0)
        if last_called is None:
            row = conn.execute(_LAST_CALLED, {"p_site": site, "p_day": day, "p_service": service_id}).first()
            last_called = q.format_number(row.prefix, row.number) if row else None
        return {
            "service": service_id,
            "waiting": waiting,
            "serving": counts.get("called", 0) + counts.get("serving", 0),
            "est_wait_s": q.estimate_wait(waiting, *(speed or self._service_speed(conn, site, service_id, day))),
            "last_called": last_called,
        }

    # ---- views ----------------------------------------------------------------------------
    @staticmethod
    def counter_view(counter: q.Counter, ticket: q.Ticket | None) -> dict[str, Any]:
        return {
            "counter": counter.id, "label": counter.label, "status": counter.status.value,
            "ticket": ticket.label if ticket else None, "service": ticket.service if ticket else None,
            "ticket_id": ticket.id if ticket else None, "pause_reason": counter.pause_reason,
        }

    def _view(self, conn: Connection, ticket: q.Ticket, token: str | None = None, ahead: int | None = None):
        if token is None:
            token = conn.execute(select(tickets.c.token).where(tickets.c.id == ticket.id)).scalar_one()
        view = {
            "id": ticket.id,
            "number": ticket.label,
            "service": ticket.service,
            "status": ticket.status.value,
            "priority": ticket.priority.value if ticket.priority else None,
            "issued_at": ticket.issued_at.isoformat(),
            "counter": ticket.counter,
            "recall_count": ticket.recall_count,
            "ahead": self._ahead_of(conn, ticket) if ahead is None else ahead,
            "est_wait_s": ticket.est_wait_s,
            "token": token,
            "track_url": f"{self.public_url}/t/{token}",
        }
        return view

    # ---- reads ----------------------------------------------------------------------------
    def queues(self, site: str, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or utcnow()
        with self.db.read() as conn:
            day = self.today(conn, site, now)
            rows = conn.execute(
                select(services.c.id).where(services.c.site == site, services.c.active).order_by(services.c.sort_order)
            ).all()
            return [self._queue_state(conn, site, r.id, day) for r in rows]

    def counters(self, site: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            self.site(conn, site)
            result = []
            for row in conn.execute(select(counters).where(counters.c.site == site).order_by(counters.c.id)).all():
                counter = _counter_from_row(row)
                ticket = self._ticket(conn, counter.current_ticket_id) if counter.current_ticket_id else None
                result.append({**self.counter_view(counter, ticket), "services": counter.services})
            return result

    def snapshot(self, site: str, now: datetime | None = None) -> list[tuple[str, str]]:
        """Current retained state of every counter and queue of ``site`` as (topic, payload)."""
        now = now or utcnow()
        topics = Topics(site)
        out = []
        with self.db.read() as conn:
            day = self.today(conn, site, now)
            for row in conn.execute(select(counters).where(counters.c.site == site)).all():
                counter = _counter_from_row(row)
                ticket = self._ticket(conn, counter.current_ticket_id) if counter.current_ticket_id else None
                out.append((topics.counter_state(counter.id), envelope(self.counter_view(counter, ticket), now)))
            for row in conn.execute(select(services.c.id).where(services.c.site == site, services.c.active)).all():
                out.append((topics.queue_state(row.id), envelope(self._queue_state(conn, site, row.id, day), now)))
        return out

    def ticket(self, ticket_id: int, site: str | None = None) -> dict[str, Any]:
        with self.db.read() as conn:
            ticket = self._ticket(conn, ticket_id)
            if site is not None and ticket.site != site:
                raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
            return self._view(conn, ticket)

    def waiting_list(self, site: str, now: datetime | None = None) -> list[dict[str, Any]]:
        """Today's waiting and parked tickets: numbers, services, priority, time waited — no names."""
        now = now or utcnow()
        with self.db.read() as conn:
            day = self.today(conn, site, now)
            t = tickets.c
            rows = conn.execute(
                select(t.id, t.prefix, t.number, t.service, t.priority, t.issued_at, t.status, t.target_counter)
                .where(t.site == site, t.day == day, t.status.in_(("waiting", "parked")))
                .order_by(t.issued_at, t.id)
            ).all()
            return [{
                "id": r.id, "number": q.format_number(r.prefix, r.number), "service": r.service,
                "priority": r.priority, "status": r.status, "target_counter": r.target_counter,
                "waited_s": int((now - r.issued_at).total_seconds()),
            } for r in rows]
