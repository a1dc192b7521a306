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

from sqlalchemy import Connection, bindparam, select, update
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


_W = (tickets.c.site == bindparam("p_site"), tickets.c.day == bindparam("p_day"), tickets.c.status == "waiting")
_PICK_TARGETED = select(tickets).where(*_W, tickets.c.target_counter == bindparam("p_counter")).with_for_update(
    skip_locked=True)
_IN_WINDOW = (tickets.c.window_start <= bindparam("p_now"), tickets.c.window_end >= bindparam("p_now"))
_PICK_FIRST = {
    (prioritised, booked): select(tickets).where(
        *_W, tickets.c.service == bindparam("p_service"), tickets.c.target_counter.is_(None),
        tickets.c.priority.is_not(None) if prioritised else tickets.c.priority.is_(None), *(_IN_WINDOW if booked else ()),
    ).order_by(*(() if prioritised else (tickets.c.priority,)), tickets.c.issued_at, tickets.c.id)
    .limit(1).with_for_update(skip_locked=True)
    for prioritised in (False, True) for booked in (False, True)
}
"""``ORDER BY priority`` where every priority is NULL changes nothing but lets PostgreSQL read
``ix_tickets_queue`` in order and stop at the first entry (it does not take ``IS NULL`` as fixing
the column); the priority tickets are few and sorted."""


def pick(conn: Connection, counter: q.Counter, day, overdue: datetime | None, now: datetime | None = None) -> q.Ticket:
    """The ticket :func:`server.domain.queue.sort_key` puts first (tests hold the two to the same
    order), read from a handful of candidates, each found through an index:

    - every ticket sent to this counter (few; ``ix_tickets_target``; no other counter may take them);
    - per service of the counter, the longest-waiting ticket with a priority and the one without
      (``ix_tickets_queue``, in its order: the first entry), and the same two among the booked
      tickets whose slot runs now (``ix_tickets_window``).

    The first ticket by the rule is always one of them: past the tickets sent to the counter, the
    rule orders a service's tickets (booked inside their slot first) by priority, then waiting
    time — late or not, preferred or not, the first of a service is its longest-waiting priority
    ticket or its longest-waiting other one. One candidate per query, not every booked ticket: four
    counters calling at once each lock a different booked citizen instead of one counter locking
    them all and the other three calling walk-ins past them. Sorting
    every waiting ticket in SQL, as before, read and sorted the whole hall at every call (2.7 ms
    with 3,900 waiting).

    ``FOR UPDATE SKIP LOCKED`` on each candidate: a ticket another counter is claiming right now
    is passed over, and the candidates are locked by this transaction until it commits (the ones
    not called are released then). SQLite renders neither clause (it needs none).
    """
    if not counter.services:
        raise QueueEmpty(f"counter {counter.label} serves no service", code="queue_empty")
    params = {"p_site": counter.site, "p_day": day}
    rows = list(conn.execute(_PICK_TARGETED, {**params, "p_counter": counter.id}).all())
    for service in counter.services:
        for (_, booked), stmt in _PICK_FIRST.items():
            if booked and now is None:
                continue
            rows += conn.execute(stmt, {**params, "p_service": service, "p_now": now}).all()
    candidates = {row.id: _ticket_from_row(row) for row in rows}
    if not candidates:
        raise QueueEmpty(f"nobody is waiting for counter {counter.label}")
    return min(candidates.values(), key=lambda t: q.sort_key(counter, t, overdue, now))


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
