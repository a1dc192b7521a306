"""The queue engine: ticket numbering, call order, ticket and counter state changes, wait estimate.

Plain Python on plain dataclasses. Storage loads rows into these types, calls a function here and
writes back what changed, all in one transaction; the rules live only here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from .errors import CounterBusy, CounterNotOpen, InvalidInput, InvalidTransition, QueueEmpty

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_SERVICE_S = 300
"""Assumed service time until a service has finished tickets today (5 minutes)."""
RECENT_SAMPLES = 20
DEFAULT_MAX_WAIT = timedelta(minutes=60)
"""A site that sets no ``max_wait_minutes``: past an hour's wait a ticket goes ahead of preference."""


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    PARKED = "parked"
    CANCELLED = "cancelled"
    SET_ASIDE = "set_aside"
    """A remote ticket whose turn came before it checked in: passed over, back in line at check-in."""


ACTIVE_AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
FINAL = (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)


class Priority(StrEnum):
    """Groups the law serves first (elderly, disabled, pregnant, with an infant, person with merit)."""

    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    INFANT = "infant"
    MERIT = "merit"


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass
class Ticket:
    id: int | None
    site: str
    service: str
    prefix: str
    number: int
    day: date
    issued_at: datetime
    status: TicketStatus = TicketStatus.WAITING
    priority: Priority | None = None
    counter: str | None = None
    target_counter: str | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    recall_count: int = 0
    transfer_count: int = 0
    original_service: str | None = None
    est_wait_s: int | None = None
    remote: bool = False
    """Taken from a phone (``server.domain.remote``): called only once it has checked in."""
    checked_in_at: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    """An appointment's slot (set when a booked citizen checks in): see :func:`sort_key`."""

    @property
    def label(self) -> str:
        return format_number(self.prefix, self.number)


@dataclass
class Counter:
    id: str
    site: str
    label: str
    services: list[str] = field(default_factory=list)
    """Services this counter serves, most preferred first."""
    status: CounterStatus = CounterStatus.CLOSED
    pause_reason: str | None = None
    current_ticket_id: int | None = None


def format_number(prefix: str, number: int) -> str:
    """``A`` + 23 → ``A023``: what is printed, shown and spoken."""
    return f"{prefix}{number:03d}"


def local_day(moment: datetime, tz: ZoneInfo = DEFAULT_TZ) -> date:
    """The local calendar day a moment falls on; numbering resets at local midnight."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).date()


def overdue_before(now: datetime, max_wait: timedelta | None) -> datetime | None:
    """Tickets issued at or before this moment have waited past the site's limit (None: no limit)."""
    return None if max_wait is None else now - max_wait


def in_window(ticket: Ticket, now: datetime | None) -> bool:
    """A booked citizen's ticket whose slot is running now (start and end included)."""
    return (now is not None and ticket.window_start is not None and ticket.window_end is not None
            and ticket.window_start <= now <= ticket.window_end)


def sort_key(counter: Counter, ticket: Ticket, overdue: datetime | None = None, now: datetime | None = None) -> tuple:
    """Call order: tickets sent to this counter; then booked citizens inside their slot's window
    (``now`` within ``window_start``..``window_end``; after the window they are walk-ins, by the time
    they checked in); then tickets waiting past the site's limit (``issued_at <= overdue``), longest
    first whatever the counter's preference, so a service that is only a second choice is reached
    too; then service preference, priority, waiting time."""
    targeted = 0 if ticket.target_counter == counter.id else 1
    booked = 0 if in_window(ticket, now) else 1
    late = overdue is not None and ticket.issued_at <= overdue
    if late:
        preference = 0
    else:
        preference = counter.services.index(ticket.service) if ticket.service in counter.services else len(counter.services)
    return (targeted, booked, 0 if late else 1, preference, 0 if ticket.priority else 1, ticket.issued_at,
            ticket.id or 0)


def can_serve(counter: Counter, ticket: Ticket) -> bool:
    if ticket.target_counter is not None:
        return ticket.target_counter == counter.id
    return ticket.service in counter.services


def pick_next(counter: Counter, waiting: Iterable[Ticket], overdue: datetime | None = None,
              now: datetime | None = None) -> Ticket:
    """The ticket this counter should call next, or :class:`QueueEmpty`.

    ``overdue``: from :func:`overdue_before` (now minus the site's ``max_wait``), or None;
    ``now``: the moment of the call, for appointment windows (None: no window counts).
    """
    candidates = [t for t in waiting if t.status == TicketStatus.WAITING and can_serve(counter, t)]
    if not candidates:
        raise QueueEmpty(f"Không còn ai chờ ở quầy {counter.label} / nobody is waiting for counter {counter.label}")
    return min(candidates, key=lambda t: sort_key(counter, t, overdue, now))


def awaiting_check_in(ticket: Ticket) -> bool:
    """A remote ticket whose holder has not shown up yet (kiosk scan or "Tôi đã đến" on the LAN)."""
    return ticket.remote and ticket.checked_in_at is None


def set_aside_absent(ticket: Ticket) -> None:
    """The pick reached a remote ticket that has not checked in: it leaves the line, and the same
    claim calls the next ticket (:func:`server.storage.queue_claims.pick_present`), so the walk-in
    behind it loses nothing."""
    _require(ticket, (TicketStatus.WAITING,), "set aside")
    if not awaiting_check_in(ticket):
        raise InvalidTransition(f"ticket {ticket.label} is present; it is called, not set aside")
    ticket.status = TicketStatus.SET_ASIDE


def check_in(ticket: Ticket, now: datetime) -> bool:
    """The holder of a remote ticket is in the hall. → whether anything changed.

    Before its turn it keeps its place (the place it joined at). After it was set aside it goes
    back to the end of the line: its place in line (``issued_at``) becomes now, so nobody who was
    waiting in the hall is passed by someone who arrived later; the join time stays in its history.
    A walk-in ticket, one already checked in, called or over changes nothing.
    """
    if not ticket.remote or ticket.checked_in_at is not None:
        return False
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.SET_ASIDE):
        return False  # already called (an official chose it), or over: nothing to confirm
    ticket.checked_in_at = now
    if ticket.status == TicketStatus.SET_ASIDE:
        ticket.status = TicketStatus.WAITING
        ticket.issued_at = now
    return True


def pick_present(counter: Counter, waiting: Iterable[Ticket], overdue: datetime | None = None,
                 now: datetime | None = None) -> tuple[Ticket | None, list[Ticket]]:
    """:func:`pick_next`, passing over (and setting aside) every remote ticket that has not checked
    in when its turn comes. → (the ticket to call, or None when only absent ones were left; the
    tickets set aside). The SQL twin is :func:`server.storage.queue_claims.pick_present`."""
    pool = [t for t in waiting if t.status == TicketStatus.WAITING]
    aside: list[Ticket] = []
    while True:
        try:
            ticket = pick_next(counter, pool, overdue, now)
        except QueueEmpty:
            if aside:
                return None, aside
            raise
        if not awaiting_check_in(ticket):
            return ticket, aside
        set_aside_absent(ticket)
        aside.append(ticket)
        pool.remove(ticket)


def _require(ticket: Ticket, allowed: Sequence[TicketStatus], action: str) -> None:
    if ticket.status not in allowed:
        wanted = ", ".join(s.value for s in allowed)
        raise InvalidTransition(
            f"cannot {action} ticket {ticket.label}: it is {ticket.status.value} (needs {wanted})"
        )


def _require_counter_ticket(ticket: Ticket, counter: Counter, action: str) -> None:
    if ticket.counter != counter.id or counter.current_ticket_id != ticket.id:
        raise InvalidTransition(f"cannot {action} ticket {ticket.label}: it is not at counter {counter.label}")


def _release(counter: Counter, ticket: Ticket) -> None:
    if counter.current_ticket_id == ticket.id:
        counter.current_ticket_id = None


def held_ticket(counter: Counter, ticket: Ticket | None) -> Ticket | None:
    """The ticket really at ``counter``: its ``current_ticket_id`` row, if that ticket is called or
    served there. A pointer at a ticket another counter holds (or one long finished) is dropped, so a
    counter left in such a state by an older version can call again instead of being stuck."""
    if ticket is None or ticket.id != counter.current_ticket_id:
        return None
    if ticket.counter != counter.id or ticket.status not in ACTIVE_AT_COUNTER:
        counter.current_ticket_id = None
        return None
    return ticket


def ticket_ref(ticket: Ticket) -> dict:
    """How a refusal names a ticket, so a terminal can take it up again."""
    return {"id": ticket.id, "number": ticket.label, "status": ticket.status.value}


def ensure_can_call(counter: Counter, current: Ticket | None) -> None:
    """Raise unless ``counter`` may call someone now (see :func:`call`)."""
    if counter.status != CounterStatus.OPEN:
        raise CounterNotOpen(f"counter {counter.label} is {counter.status.value}; open it first")
    if current is not None and current.status == TicketStatus.CALLED:
        raise CounterBusy(
            f"counter {counter.label} has called {current.label}: recall, start or mark no-show first",
            details={"ticket": ticket_ref(current)},
        )


def call(counter: Counter, ticket: Ticket, current: Ticket | None, now: datetime) -> Ticket | None:
    """Call ``ticket`` to ``counter``. Returns the previous ticket if it was finished on the way.

    A counter still serving someone finishes them first (one click for an official with forty
    people waiting); a counter whose last call has not shown up yet must recall, start or mark a
    no-show first, so nobody is silently dropped.
    """
    ensure_can_call(counter, current)
    _require(ticket, (TicketStatus.WAITING,), "call")
    if not can_serve(counter, ticket):
        raise InvalidTransition(
            f"counter {counter.label} does not serve {ticket.service}", code="service_not_served"
        )
    finished = None
    if current is not None and current.status == TicketStatus.SERVING:
        finish(counter, current, now)
        finished = current
    ticket.status = TicketStatus.CALLED
    ticket.counter = counter.id
    ticket.target_counter = None
    if ticket.called_at is None:
        ticket.called_at = now  # the first call ends the wait, for wait-time figures
    counter.current_ticket_id = ticket.id
    return finished


def recall(counter: Counter, ticket: Ticket, limit: int) -> bool:
    """Call the same ticket again. Past ``limit`` recalls it becomes a no-show; returns whether to announce."""
    _require(ticket, (TicketStatus.CALLED,), "recall")
    _require_counter_ticket(ticket, counter, "recall")
    if ticket.recall_count >= limit:
        ticket.status = TicketStatus.NO_SHOW
        _release(counter, ticket)
        return False
    ticket.recall_count += 1
    return True


def start(counter: Counter, ticket: Ticket, now: datetime) -> None:
    _require(ticket, (TicketStatus.CALLED,), "start")
    _require_counter_ticket(ticket, counter, "start")
    ticket.status = TicketStatus.SERVING
    ticket.started_at = now


def finish(counter: Counter, ticket: Ticket, now: datetime) -> None:
    _require(ticket, (TicketStatus.SERVING,), "finish")
    _require_counter_ticket(ticket, counter, "finish")
    ticket.status = TicketStatus.DONE
    ticket.finished_at = now
    _release(counter, ticket)


def no_show(counter: Counter, ticket: Ticket) -> None:
    _require(ticket, (TicketStatus.CALLED,), "mark no-show for")
    _require_counter_ticket(ticket, counter, "mark no-show for")
    ticket.status = TicketStatus.NO_SHOW
    _release(counter, ticket)


def park(counter: Counter, ticket: Ticket) -> None:
    """The citizen steps away (to fetch a missing paper); the counter is free meanwhile."""
    _require(ticket, ACTIVE_AT_COUNTER, "park")
    _require_counter_ticket(ticket, counter, "park")
    ticket.status = TicketStatus.PARKED
    ticket.target_counter = counter.id  # they come back to the same official
    _release(counter, ticket)


def resume(ticket: Ticket) -> None:
    """A parked citizen is back: waiting again, with the original issue time (so near the front)."""
    _require(ticket, (TicketStatus.PARKED,), "resume")
    ticket.status = TicketStatus.WAITING
    ticket.counter = None


def transfer(
    counter: Counter | None, ticket: Ticket, service: str, target_counter: str | None = None
) -> None:
    """Re-queue in another service (or for one counter), keeping number and original issue time."""
    _require(ticket, (TicketStatus.WAITING, *ACTIVE_AT_COUNTER, TicketStatus.PARKED), "transfer")
    if counter is not None:
        _release(counter, ticket)
    if ticket.original_service is None:
        ticket.original_service = ticket.service
    ticket.service = service
    ticket.status = TicketStatus.WAITING
    ticket.counter = None
    ticket.target_counter = target_counter
    ticket.transfer_count += 1


def cancel(ticket: Ticket) -> None:
    _require(ticket, (TicketStatus.WAITING, TicketStatus.PARKED, TicketStatus.SET_ASIDE), "cancel")
    ticket.status = TicketStatus.CANCELLED


def open_counter(counter: Counter) -> None:
    counter.status = CounterStatus.OPEN
    counter.pause_reason = None


def pause_counter(counter: Counter, reason: str, current: Ticket | None = None) -> None:
    if not reason or not reason.strip():
        raise InvalidInput("a pause needs a reason", code="reason_required")
    _require_idle(counter, "pause", current)
    if counter.status == CounterStatus.CLOSED:
        raise CounterNotOpen(f"counter {counter.label} is closed; open it first")
    counter.status = CounterStatus.PAUSED
    counter.pause_reason = reason.strip()


def close_counter(counter: Counter, current: Ticket | None = None) -> None:
    _require_idle(counter, "close", current)
    counter.status = CounterStatus.CLOSED
    counter.pause_reason = None


def _require_idle(counter: Counter, action: str, current: Ticket | None = None) -> None:
    """``current``: the ticket at the counter, if the caller loaded it, so the refusal can name it."""
    if counter.current_ticket_id is not None:
        details = None
        if current is not None and current.id == counter.current_ticket_id:
            details = {"ticket": ticket_ref(current)}
        raise CounterBusy(f"cannot {action} counter {counter.label}: a ticket is still at the counter",
                          details=details)


def estimate_wait(ahead: int, recent_service_s: Sequence[float], open_counters: int) -> int:
    """Seconds until a ticket with ``ahead`` people before it is called.

    Median of the service's recent service times (robust to one long case), shared across the
    open counters that serve it; with no counter open we still estimate as if one were.
    """
    per_citizen = statistics.median(recent_service_s[-RECENT_SAMPLES:]) if recent_service_s else DEFAULT_SERVICE_S
    return int(round(ahead * per_citizen / max(open_counters, 1)))
