"""Claiming a ticket for a counter, atomically on SQLite and on PostgreSQL.

SQLite has one writer (``BEGIN IMMEDIATE`` plus the in-process write lock), so a read-then-write
transaction can never interleave with another. PostgreSQL runs transactions side by side at READ
COMMITTED, so every path that changes who holds a ticket takes row locks in one order:

1. the counter's row (``SELECT … FOR UPDATE``): one change at a time per counter;
2. the ticket it holds, then the ticket it claims: the pick uses ``FOR UPDATE SKIP LOCKED``, so
   eight counters calling at once take eight different tickets instead of queueing behind (or
   overwriting) each other; a chosen ticket is locked with a plain ``FOR UPDATE`` and re-checked;
3. every write of a ticket is conditional on the status it was read with (``WHERE status = …``),
   so even a path that forgot a lock cannot overwrite a claim: it retries instead.

A transaction that finds the ticket moved between its read and its lock (:class:`Retry`), or
that PostgreSQL chose as a deadlock or serialization victim, is run again from the start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, TypeVar

from sqlalchemy import Connection, and_, case, select, update
from sqlalchemy.exc import DBAPIError

from server.domain import queue as q
from server.domain.errors import DomainError, QueueEmpty

from .queue_rows import _ticket_from_row
from .tables import tickets

T = TypeVar("T")
ATTEMPTS = 20
_RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


class Retry(Exception):
    """The ticket changed hands between this transaction's read and its lock or write."""


class Contended(DomainError):
    """Still racing after every attempt (never seen in the benchmarks; the client may press again)."""

    code = "try_again"


def run_claim(work: Callable[[], T]) -> T:
    """Run ``work`` (one whole write transaction) again while it loses a race."""
    for _ in range(ATTEMPTS):
        try:
            return work()
        except Retry:
            continue
        except DBAPIError as err:
            if getattr(err.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
    raise Contended("the ticket is changing hands right now; press again")


def pick(conn: Connection, counter: q.Counter, day, overdue: datetime | None, now: datetime | None = None) -> q.Ticket:
    """SQL form of :func:`server.domain.queue.sort_key` (tests hold the two to the same order).

    ``FOR UPDATE SKIP LOCKED``: a ticket another counter is claiming right now is passed over,
    and the one returned is locked by this transaction until it commits. SQLite renders neither
    clause (it needs none).
    """
    t = tickets.c
    if not counter.services:
        raise QueueEmpty(f"counter {counter.label} serves no service", code="queue_empty")
    preference = case(
        {svc: i for i, svc in enumerate(counter.services)}, value=t.service, else_=len(counter.services)
    )
    order = [case((t.target_counter == counter.id, 0), else_=1)]
    if now is not None:  # a booked citizen inside the slot's window (NULL windows compare to NULL: walk-ins)
        order.append(case((and_(t.window_start <= now, t.window_end >= now), 0), else_=1))
    if overdue is not None:
        late = t.issued_at <= overdue
        order += [case((late, 0), else_=1), case((late, 0), else_=preference)]
    else:
        order.append(preference)
    order += [case((t.priority.is_not(None), 0), else_=1), t.issued_at, t.id]
    row = conn.execute(
        select(tickets)
        .where(
            t.site == counter.site,
            t.day == day,
            t.status == "waiting",
            ((t.target_counter == counter.id) | (t.target_counter.is_(None) & t.service.in_(counter.services))),
        )
        .order_by(*order)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        raise QueueEmpty(f"nobody is waiting for counter {counter.label}")
    return _ticket_from_row(row)


def pick_present(conn: Connection, counter: q.Counter, day, overdue: datetime | None, now: datetime | None = None
                 ) -> tuple[q.Ticket | None, list[q.Ticket]]:
    """:func:`pick`, setting aside every remote ticket that has not checked in when its turn comes
    (SQL twin of :func:`server.domain.queue.pick_present`). → (the ticket to call, or None when
    only absent ones were waiting; those set aside).

    All in the caller's claim transaction: the set-aside ticket is locked by the pick (SKIP
    LOCKED on PostgreSQL) and written only if still ``waiting``, and the next pick runs in the same
    transaction, so the walk-in behind it is called by this same press and by no other counter.
    """
    aside: list[q.Ticket] = []
    while True:
        try:
            ticket = pick(conn, counter, day, overdue, now)
        except QueueEmpty:
            if aside:
                return None, aside
            raise
        if not q.awaiting_check_in(ticket):
            return ticket, aside
        q.set_aside_absent(ticket)
        done = conn.execute(update(tickets).where(tickets.c.id == ticket.id, tickets.c.status == "waiting")
                            .values(status=ticket.status.value))
        if done.rowcount != 1:
            raise Retry()
        aside.append(ticket)
