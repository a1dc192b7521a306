"""Queue rows: prebuilt statements and conversions between table rows and domain objects.

Statements on the hot paths are built once with bind parameters: building a SQLAlchemy statement
per call cost more than running it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update

from server.domain import queue as q

from .tables import counters, services, sites, ticket_events, ticket_sequences, tickets

_INSERT_TICKET = insert(tickets).returning(tickets.c.id)
_TICKET_DEFAULTS = {
    "counter": None, "target_counter": None, "called_at": None, "started_at": None, "finished_at": None,
    "recall_count": 0, "transfer_count": 0, "original_service": None, "official": None,
    "remote": False, "checked_in_at": None, "phone_key": None,
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


def _count_of(*condition):
    return select(func.count()).select_from(tickets).where(*_IN_SERVICE, *condition).scalar_subquery()


_QUEUE_FIGURES = select(
    _count_of(_T.status == "waiting").label("waiting"),
    _count_of(_T.status.in_(("called", "serving"))).label("serving"),
    _count_of(_T.status == "waiting", _T.priority.is_not(None)).label("priority_waiting"),
    _LAST_CALLED.with_only_columns(_T.prefix).correlate(None).scalar_subquery().label("last_prefix"),
    _LAST_CALLED.with_only_columns(_T.number).correlate(None).scalar_subquery().label("last_number"),
)
"""A service's queue figures in one statement: what ``_STATUS_COUNTS``, ``_PRIORITY_WAITING`` and
``_LAST_CALLED`` read in three. Each count is its own subquery with the status (and the priority)
as an equality or range on ``ix_tickets_queue``, so it reads only the index entries it counts:
one ``SUM(CASE …)`` over every waiting, called and serving ticket read them all for each figure
(2.1 ms against 0.6 ms with 3,900 people waiting in one service). The last call reads
``ix_tickets_called``."""
_RECENT_DONE = (
    select(_T.called_at, _T.finished_at).where(*_IN_SERVICE, _T.finished_at.is_not(None))
    .order_by(_T.finished_at.desc()).limit(q.RECENT_SAMPLES)
)
_LOCK_COUNTER = (
    select(counters, sites.c.settings.label("site_settings"))
    .join(sites, sites.c.id == counters.c.site)
    .where(counters.c.site == bindparam("p_site"), counters.c.id == bindparam("p_counter"))
    .with_for_update(of=counters)
)
"""A counter's row, locked (PostgreSQL; SQLite's write transaction holds it anyway), with its
site's settings (the starvation limit) in the same round trip."""
_OPEN_COUNTERS = select(counters.c.services).where(counters.c.site == _P_SITE, counters.c.status == "open")
_TICKET_BY_ID = select(tickets).where(_T.id == bindparam("p_id"))
_TICKET_BY_ID_LOCKED = _TICKET_BY_ID.with_for_update()
_TOKEN_BY_ID = select(_T.token).where(_T.id == bindparam("p_id"))
_COUNTER_BY_ID = select(counters).where(counters.c.site == _P_SITE, counters.c.id == bindparam("p_counter"))
_COUNTER_BY_ID_LOCKED = _COUNTER_BY_ID.with_for_update()
_TICKET_COLUMNS = ("service", "status", "counter", "target_counter", "called_at", "started_at", "finished_at",
                   "recall_count", "transfer_count", "original_service")


def _save_ticket_statement(official: bool):
    """``UPDATE tickets … WHERE id = :p_id AND status = :p_was`` (a claim is never overwritten)."""
    columns = _TICKET_COLUMNS + (("official",) if official else ())
    return update(tickets).where(_T.id == bindparam("p_id"), _T.status == bindparam("p_was")).values(
        {c: bindparam(c) for c in columns})


_SAVE_TICKET = {False: _save_ticket_statement(False), True: _save_ticket_statement(True)}


def _save_counter_statement(official: bool):
    columns = ("status", "pause_reason", "current_ticket_id") + (("official",) if official else ())
    return update(counters).where(counters.c.site == _P_SITE, counters.c.id == bindparam("p_counter")).values(
        {c: bindparam(c) for c in columns})


_SAVE_COUNTER = {False: _save_counter_statement(False), True: _save_counter_statement(True)}


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
        remote=bool(getattr(row, "remote", False)),
        checked_in_at=getattr(row, "checked_in_at", None),
        window_start=getattr(row, "window_start", None),
        window_end=getattr(row, "window_end", None),
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
