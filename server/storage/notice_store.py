"""Phone numbers on tickets and the durable "your turn is near" notices.

* The phone lives only in ``ticket_phones`` and is deleted in the same transaction that ends the
  ticket (:func:`erase_phone`, called by the queue store), and at the end of its day
  (:meth:`NoticeStore.erase_stale`).
* Whether a ticket is near is decided inside the transaction that moved the queue (a call, a
  no-show, a transfer, a counter opening: :func:`enqueue_near`), with the queue's own sort rules,
  and recorded as a ``notices`` row keyed by (ticket, kind) — inserted once, whoever races.
* Senders claim a row with a conditional update (PostgreSQL: ``FOR UPDATE SKIP LOCKED`` first),
  mark it ``handed`` right before the text goes to the modem, and ``sent`` after ``+CMGS``. A
  ``handed`` row whose sender vanished becomes ``unknown`` and is never sent again; a ``sending``
  one (claimed, text not yet handed over) goes back to ``pending``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.domain import notices as n
from server.domain import queue as q
from server.domain.errors import InvalidInput, InvalidTransition, NotFound

from .db import Database
from .queue_rows import _counter_from_row, _ticket_from_row, utcnow
from .site_settings import max_wait, notify_ahead
from .tables import counters, notices, sites, ticket_phones, tickets

PHONES_PER_NUMBER = 3
"""Live tickets one phone number may follow at a site on one day: a family, not a flood."""


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> None:
    stmt = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(notices).values(**values)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "kind"]))


def erase_phone(conn: Connection, ticket_id: int) -> None:
    """The ticket ended: its phone number goes, in the same transaction."""
    conn.execute(delete(ticket_phones).where(ticket_phones.c.ticket_id == ticket_id))


_SUBSCRIBED = (
    select(tickets)
    .join(ticket_phones, ticket_phones.c.ticket_id == tickets.c.id)
    .outerjoin(notices, and_(notices.c.ticket_id == tickets.c.id, notices.c.kind == n.NEAR))
)


def enqueue_near(conn: Connection, site: str, day: date, now: datetime, default_ahead: int,
                 settings: dict | str | None = None) -> int:
    """Record a "near" notice for every subscribed ticket that is now n-th or closer. → rows added.

    Costs one indexed read when nobody at the site has left a phone number today.
    """
    subscribed = conn.execute(_SUBSCRIBED.where(
        ticket_phones.c.site == site, ticket_phones.c.day == day, tickets.c.status == "waiting",
        notices.c.id.is_(None))).all()
    if not subscribed:
        return 0
    if settings is None:
        settings = conn.execute(select(sites.c.settings).where(sites.c.id == site)).scalar()
    ahead_n = notify_ahead(settings, default_ahead)
    if ahead_n <= 0:
        return 0
    waiting = [_ticket_from_row(r) for r in conn.execute(select(tickets).where(
        tickets.c.site == site, tickets.c.day == day, tickets.c.status == "waiting")).all()]
    site_counters = [_counter_from_row(r) for r in conn.execute(select(counters).where(counters.c.site == site)).all()]
    overdue = q.overdue_before(now, max_wait(settings))
    added = 0
    for ticket, ahead in n.near_tickets([_ticket_from_row(r) for r in subscribed], waiting, site_counters,
                                        overdue, ahead_n, now):
        _insert_ignore(conn, {"ticket_id": ticket.id, "kind": n.NEAR, "site": site, "day": day, "ahead": ahead,
                              "status": "pending", "created_at": now, "next_try_at": now, "attempts": 0})
        added += 1
    return added


@dataclass(frozen=True)
class Claimed:
    id: int
    ticket_id: int
    number: str
    ahead: int
    phone: str | None
    token: str
    centre: str
    attempts: int


class NoticeStore:
    """Phones on tickets (the tracking page's form) and the notices' life for the sender thread."""

    def __init__(self, db: Database, *, default_ahead: int = n.DEFAULT_AHEAD, enabled: bool = True) -> None:
        self.db = db
        self.default_ahead = default_ahead
        self.enabled = enabled
        """False when no channel is configured: the page offers no form and attaching is refused."""

    # ---- the citizen's phone --------------------------------------------------------------
    def _ticket_for_token(self, conn: Connection, token: str, now: datetime):
        row = conn.execute(select(tickets).where(tickets.c.token == token)).first()
        if row is None:
            raise NotFound("unknown ticket", code="not_found")
        tz = ZoneInfo(conn.execute(select(sites.c.timezone).where(sites.c.id == row.site)).scalar_one())
        if row.day < q.local_day(now, tz):
            raise NotFound("unknown ticket", code="not_found")
        return row

    def attach(self, token: str, phone_text: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        if not self.enabled:
            raise InvalidTransition("Trung tâm chưa bật nhắn tin. / This centre does not send SMS notices.",
                                    code="notifications_off")
        phone = n.normalize_phone(phone_text)
        with self.db.write() as conn:
            row = self._ticket_for_token(conn, token, now)
            if row.status not in ("waiting", "parked", "set_aside"):
                raise InvalidTransition("Số của bạn đã được gọi hoặc đã xong; không cần nhắn tin nữa. / "
                                        "Your number was already called or is over.", code="ticket_not_waiting")
            ahead_n = notify_ahead(conn.execute(select(sites.c.settings).where(sites.c.id == row.site)).scalar(),
                                   self.default_ahead)
            if ahead_n <= 0:
                raise InvalidTransition("Trung tâm chưa bật nhắn tin. / This centre does not send SMS notices.",
                                        code="notifications_off")
            others = conn.execute(select(func.count()).select_from(ticket_phones).where(
                ticket_phones.c.site == row.site, ticket_phones.c.day == row.day, ticket_phones.c.phone == phone,
                ticket_phones.c.ticket_id != row.id)).scalar_one()
            if others >= PHONES_PER_NUMBER:
                raise InvalidInput(f"Số điện thoại này đã nhận tin cho {others} số thứ tự hôm nay. / "
                                   f"This phone already follows {others} tickets today.", code="phone_limit")
            conn.execute(delete(ticket_phones).where(ticket_phones.c.ticket_id == row.id))
            conn.execute(ticket_phones.insert().values(ticket_id=row.id, site=row.site, day=row.day, phone=phone,
                                                       added_at=now))
            enqueue_near(conn, row.site, row.day, now, self.default_ahead)
            return self._state(conn, row.id, ahead_n)

    def detach(self, token: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        with self.db.write() as conn:
            row = self._ticket_for_token(conn, token, now)
            erase_phone(conn, row.id)
            return self._state(conn, row.id, 0)

    def _state(self, conn: Connection, ticket_id: int, ahead_n: int) -> dict[str, Any]:
        phone = conn.execute(select(ticket_phones.c.phone).where(ticket_phones.c.ticket_id == ticket_id)).scalar()
        notice = conn.execute(select(notices.c.status).where(
            notices.c.ticket_id == ticket_id, notices.c.kind == n.NEAR)).scalar()
        return {"phone": n.mask_phone(phone) if phone else None, "ahead_n": ahead_n, "notice": notice}

    def tracking_state(self, conn: Connection, ticket: q.Ticket, settings: str | None) -> dict[str, Any]:
        """What the tracking page shows: the masked phone, the site's n, whether the turn is near."""
        ahead_n = notify_ahead(settings, self.default_ahead)
        state = self._state(conn, ticket.id, ahead_n)
        near = False
        if ahead_n > 0 and ticket.status == q.TicketStatus.WAITING:
            waiting = [_ticket_from_row(r) for r in conn.execute(select(tickets).where(
                tickets.c.site == ticket.site, tickets.c.day == ticket.day, tickets.c.status == "waiting")).all()]
            site_counters = [_counter_from_row(r) for r in
                             conn.execute(select(counters).where(counters.c.site == ticket.site)).all()]
            now = utcnow()
            ahead = n.call_order_ahead(ticket, waiting, site_counters, q.overdue_before(now, max_wait(settings)), now)
            near = ahead is not None and ahead <= ahead_n
        return {**state, "near": near or state["notice"] is not None and ticket.status == q.TicketStatus.WAITING,
                "sms": self.enabled and ahead_n > 0}

    # ---- end of day -----------------------------------------------------------------------
    def erase_stale(self, now: datetime | None = None) -> int:
        """Delete phones of tickets from an earlier day, or whose ticket has ended. → rows deleted."""
        now = now or utcnow()
        deleted = 0
        with self.db.write() as conn:
            for site, tz in conn.execute(select(sites.c.id, sites.c.timezone).where(
                    sites.c.id.in_(select(ticket_phones.c.site).distinct()))).all():
                today = q.local_day(now, ZoneInfo(tz))
                deleted += conn.execute(delete(ticket_phones).where(
                    ticket_phones.c.site == site, ticket_phones.c.day < today)).rowcount
            ended = select(tickets.c.id).where(tickets.c.status.in_([s.value for s in q.FINAL]))
            deleted += conn.execute(delete(ticket_phones).where(ticket_phones.c.ticket_id.in_(ended))).rowcount
        return deleted

    def sweep(self, now: datetime | None = None) -> int:
        """Re-read every site with phones today: time alone (the starvation limit) moves the queue."""
        now = now or utcnow()
        added = 0
        with self.db.write() as conn:
            for site, tz in conn.execute(select(sites.c.id, sites.c.timezone).where(
                    sites.c.id.in_(select(ticket_phones.c.site).distinct()))).all():
                added += enqueue_near(conn, site, q.local_day(now, ZoneInfo(tz)), now, self.default_ahead)
        return added

    # ---- the sender's side ----------------------------------------------------------------
    def holders(self) -> list[str]:
        """Senders holding a claimed or handed notice right now."""
        with self.db.read() as conn:
            return list(conn.execute(select(notices.c.sender).where(
                notices.c.status.in_(("sending", "handed"))).distinct()).scalars())

    def recover(self, now: datetime | None = None, *, senders: list[str] | None = None) -> tuple[int, int]:
        """Rows whose sender is gone: claimed-only → pending again; handed → unknown.

        A sender is gone when its lease ran out, or (``senders``) when the caller knows it died: a
        restarted server recognises its own host's dead process ids at once, without waiting for
        the lease. → (back to pending, marked unknown)."""
        now = now or utcnow()
        gone = notices.c.lease_until < now if senders is None else notices.c.sender.in_(senders)
        with self.db.write() as conn:
            back = conn.execute(update(notices).where(notices.c.status == "sending", gone).values(
                status="pending", sender=None, lease_until=None, next_try_at=notices.c.created_at)).rowcount
            lost = conn.execute(update(notices).where(notices.c.status == "handed", gone).values(
                status="unknown", lease_until=None,
                detail="the sender stopped after handing the text to the modem; not sent again")).rowcount
        return back, lost

    def claim(self, sender: str, lease: timedelta, now: datetime | None = None) -> Claimed | None:
        now = now or utcnow()
        with self.db.write() as conn:
            row = conn.execute(
                select(notices.c.id).where(notices.c.status == "pending", notices.c.next_try_at <= now)
                .order_by(notices.c.id).limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            done = conn.execute(update(notices).where(notices.c.id == row.id, notices.c.status == "pending").values(
                status="sending", sender=sender, lease_until=now + lease, attempts=notices.c.attempts + 1))
            if done.rowcount != 1:
                return None
            data = conn.execute(
                select(notices.c.id, notices.c.ticket_id, notices.c.ahead, notices.c.attempts, tickets.c.prefix,
                       tickets.c.number,
                       tickets.c.token, ticket_phones.c.phone, sites.c.name)
                .join(tickets, tickets.c.id == notices.c.ticket_id)
                .join(sites, sites.c.id == notices.c.site)
                .outerjoin(ticket_phones, ticket_phones.c.ticket_id == notices.c.ticket_id)
                .where(notices.c.id == row.id)).one()
            return Claimed(data.id, data.ticket_id, q.format_number(data.prefix, data.number), data.ahead,
                           data.phone, data.token, data.name, data.attempts)

    def _move(self, notice_id: int, holder: str, src: tuple[str, ...], **values: Any) -> bool:
        with self.db.write() as conn:
            return conn.execute(update(notices).where(
                notices.c.id == notice_id, notices.c.sender == holder, notices.c.status.in_(src)
            ).values(**values)).rowcount == 1

    def mark_handed(self, notice_id: int, sender: str, channel: str) -> None:
        """Committed before the text goes out; raises if this sender lost the row meanwhile."""
        if not self._move(notice_id, sender, ("sending",), status="handed", channel=channel):
            raise LeaseLost(f"notice {notice_id} is no longer held by {sender}")

    def mark_sent(self, notice_id: int, sender: str, reference: str, now: datetime | None = None) -> bool:
        return self._move(notice_id, sender, ("handed",), status="sent", reference=reference,
                          sent_at=now or utcnow(), lease_until=None)

    def mark_unknown(self, notice_id: int, sender: str, detail: str) -> bool:
        return self._move(notice_id, sender, ("handed",), status="unknown", detail=detail[:200], lease_until=None)

    def retry_later(self, notice_id: int, sender: str, at: datetime, detail: str) -> bool:
        """Only for a failure that says the message did not go out (``maybe_sent`` false)."""
        return self._move(notice_id, sender, ("sending", "handed"), status="pending", sender=None, lease_until=None,
                          next_try_at=at, detail=detail[:200])

    def give_up(self, notice_id: int, sender: str, status: str, detail: str) -> bool:
        return self._move(notice_id, sender, ("sending", "handed"), status=status, lease_until=None,
                          detail=detail[:200])

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            return dict(conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status)).all())


class LeaseLost(Exception):
    """Another sender took the notice over (this one was too slow): do not hand the text over."""
