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
