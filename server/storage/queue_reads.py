"""The read side of the queue: look-ups, counts, queue state, views and the public reads.

:class:`QueueReads` holds what both the write paths (to build events) and the read endpoints
need; :class:`server.storage.queue_store.QueueStore` adds the state changes on top.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from devices.mqtt import Topics, envelope
from server import privacy
from server.domain import queue as q
from server.domain.errors import NotFound

from .db import Database
from .queue_rows import (
    _COUNTER_BY_ID, _COUNTER_BY_ID_LOCKED, _LAST_CALLED, _OPEN_COUNTERS, _QUEUE_FIGURES, _RECENT_DONE, _SERVICE,
    _STATUS_COUNTS, _TICKET_BY_ID, _TICKET_BY_ID_LOCKED, _TOKEN_BY_ID, SiteInfo, _counter_from_row, _ticket_from_row,
    utcnow,
)
from .tables import counters, services, sites, tickets


class QueueReads:
    """Reads for any site in the database."""

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

    def _counter(self, conn: Connection, site: str, counter_id: str, *, lock: bool = False) -> q.Counter:
        """``lock``: hold the counter's row until commit (PostgreSQL ``FOR UPDATE``; SQLite's write
        transaction already holds the whole database)."""
        row = conn.execute(_COUNTER_BY_ID_LOCKED if lock else _COUNTER_BY_ID,
                           {"p_site": site, "p_counter": counter_id}).first()
        if row is None:
            raise NotFound(f"unknown counter {counter_id!r} at site {site!r}", code="unknown_counter")
        return _counter_from_row(row)

    def _ticket(self, conn: Connection, ticket_id: int, *, lock: bool = False) -> q.Ticket:
        row = conn.execute(_TICKET_BY_ID_LOCKED if lock else _TICKET_BY_ID, {"p_id": ticket_id}).first()
        if row is None:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
        return _ticket_from_row(row)

    def today(self, conn: Connection, site: str, now: datetime) -> Any:
        return q.local_day(now, self.site(conn, site).tz)

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
        now = utcnow()
        in_window = (t.window_start <= now) & (t.window_end >= now)  # booked citizens inside their slot
        if q.in_window(ticket, now):
            before = in_window & earlier
        else:
            before = in_window | before
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

    def _status_counts(self, conn, site: str, service_id: str, day) -> dict[str, int]:
        """Tickets of the service today by status (waiting, called, serving), from the index alone."""
        return dict(conn.execute(_STATUS_COUNTS, {"p_site": site, "p_day": day, "p_service": service_id}).all())

    def _queue_figures(self, conn, site: str, service_id: str, day) -> dict[str, Any]:
        """{"waiting", "serving", "priority_waiting", "last_called" (today's, or None)}: one statement."""
        row = conn.execute(_QUEUE_FIGURES, {"p_site": site, "p_day": day, "p_service": service_id}).one()
        last = q.format_number(row.last_prefix, row.last_number) if row.last_number is not None else None
        return {"waiting": row.waiting, "serving": row.serving, "priority_waiting": row.priority_waiting,
                "last_called": last}

    def _queue_state(self, conn, site: str, service_id: str, day, last_called: str | None = None,
                     speed: tuple[list[float], int] | None = None, counts: dict | None = None) -> dict[str, Any]:
        """``counts``: what :meth:`_queue_figures` returned, if the caller has it already."""
        if counts is None:
            counts = self._queue_figures(conn, site, service_id, day)
        if last_called is None:
            if "last_called" in counts:
                last_called = counts["last_called"]
            else:
                row = conn.execute(_LAST_CALLED, {"p_site": site, "p_day": day, "p_service": service_id}).first()
                last_called = q.format_number(row.prefix, row.number) if row else None
        waiting = counts.get("waiting", 0)
        return {
            "service": service_id,
            "waiting": waiting,
            "serving": counts.get("serving", 0),
            "est_wait_s": q.estimate_wait(waiting, *(speed or self._service_speed(conn, site, service_id, day))),
            "last_called": last_called,
        }

    # ---- views ----------------------------------------------------------------------------
    @staticmethod
    def counter_view(counter: q.Counter, ticket: q.Ticket | None) -> dict[str, Any]:
        return {
            "counter": counter.id, "label": counter.label, "status": counter.status.value,
            "ticket": ticket.label if ticket else None, "service": ticket.service if ticket else None,
            "ticket_id": ticket.id if ticket else None, "ticket_status": ticket.status.value if ticket else None,
            "pause_reason": counter.pause_reason,
        }

    @classmethod
    def counter_state(cls, counter: q.Counter, ticket: q.Ticket | None) -> dict[str, Any]:
        """The ``counters/<id>/state`` payload: the view with the pause reason masked as on public
        pages (the hall shows it, and the province board's bridge carries it off the site)."""
        view = cls.counter_view(counter, ticket)
        view["pause_reason"] = privacy.mask_public_text(view["pause_reason"])
        return view

    def _view(self, conn: Connection, ticket: q.Ticket, token: str | None = None, ahead: int | None = None):
        if token is None:
            token = conn.execute(_TOKEN_BY_ID, {"p_id": ticket.id}).scalar_one()
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
        if ticket.remote:
            view["remote"] = {"checked_in": ticket.checked_in_at is not None}
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
                out.append((topics.counter_state(counter.id), envelope(self.counter_state(counter, ticket), now)))
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
                select(t.id, t.prefix, t.number, t.service, t.priority, t.issued_at, t.status, t.target_counter,
                       t.remote, t.checked_in_at)
                .where(t.site == site, t.day == day, t.status.in_(("waiting", "parked")))
                .order_by(t.issued_at, t.id)
            ).all()
            return [{
                "id": r.id, "number": q.format_number(r.prefix, r.number), "service": r.service,
                "priority": r.priority, "status": r.status, "target_counter": r.target_counter,
                "waited_s": int((now - r.issued_at).total_seconds()),
                # a remote ticket not checked in yet: "call next" sets it aside when its turn comes
                "remote": bool(r.remote), "checked_in": r.checked_in_at is not None if r.remote else None,
            } for r in rows]
