"""Remote tickets: join a service's queue from a phone, check in at the centre.

Each public method is one transaction. A join takes the site's ``remote`` lock row first
(``site_sequences`` row ``(site, "remote")``, bumped with ``UPDATE``), so on PostgreSQL two phones
joining at once are counted one after the other: the walk-in share and the per-phone limit can
never be overrun by a race. SQLite has one writer anyway.

A phone is identified for its daily limit by a keyed hash (``tickets.phone_key``, HMAC with the
server's secret), never the number; the number itself goes to ``ticket_phones`` only when SMS
notices are on, and leaves with the ticket (``notice_store``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.domain import queue as q
from server.domain import remote as r
from server.domain.errors import InvalidInput, NotFound

from .notice_store import NoticeStore
from .queue_claims import Retry, run_claim
from .queue_rows import _BY_KEY, _ticket_from_row, utcnow
from .queue_store import QueueStore
from .site_settings import notify_ahead
from .tables import services, site_sequences, sites, ticket_phones, tickets

LOCK_NAME = "remote"
_T = tickets.c
# built once with bind parameters (building a statement per join cost more than running it)
_BUMP_LOCK = update(site_sequences).where(
    site_sequences.c.site == bindparam("p_site"), site_sequences.c.name == LOCK_NAME).values(
    value=site_sequences.c.value + 1)
_SERVICE_COUNTS = select(func.count(), func.sum(case((_T.remote, 1), else_=0))).where(
    _T.site == bindparam("p_site"), _T.day == bindparam("p_day"), _T.service == bindparam("p_service"),
    _T.status != q.TicketStatus.CANCELLED.value)
"""Today's tickets of the service that hold a place (cancelled ones do not), and how many are remote."""
_PHONE_COUNT = select(func.count()).select_from(tickets).where(
    _T.site == bindparam("p_site"), _T.day == bindparam("p_day"), _T.remote, _T.phone_key == bindparam("p_key"))
"""Remote tickets this phone took today at the site, whatever became of them."""


def phone_key(secret: bytes, phone: str) -> str:
    return hmac.new(secret, f"remote-phone\x1f{phone}".encode(), hashlib.sha256).hexdigest()


class RemoteStore:
    def __init__(self, queue: QueueStore, notices: NoticeStore | None, secret: bytes) -> None:
        if not secret:
            raise ValueError("the remote store needs the server's secret to key phone numbers")
        self.queue = queue
        self.db = queue.db
        self.notices = notices
        self.secret = secret

    # ---- what the join page offers ----------------------------------------------------------
    def menu(self, site: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        with self.db.read() as conn:
            info = self.queue.site(conn, site)
            rules = r.parse_rules(conn.execute(select(sites.c.settings).where(sites.c.id == site)).scalar())
            day = q.local_day(now, info.tz)
            rows = conn.execute(select(services.c.id, services.c.prefix, services.c.name_vi, services.c.name_en)
                                .where(services.c.site == site, services.c.active)
                                .order_by(services.c.sort_order)).all()
            out = []
            for row in rows:
                rule = rules.service(row.id) if rules else None
                if rule is None or rule.remote_places == 0:
                    continue
                counts = self._counts(conn, site, row.id, day, None)
                left = max(0, min(rule.remote_places - counts.service_remote, rule.capacity - counts.service_tickets))
                waiting = self.queue._status_counts(conn, site, row.id, day).get("waiting", 0)
                out.append({"id": row.id, "name_vi": row.name_vi, "name_en": row.name_en or row.name_vi,
                            "places_left": left, "waiting": waiting})
            return {"site": {"id": info.id, "name": info.name}, "services": out,
                    "per_phone_per_day": rules.per_phone_per_day if rules else 0}

    # ---- joining --------------------------------------------------------------------------
    def join(self, site: str, service_id: str, phone: str, idempotency_key: str,
             now: datetime | None = None) -> tuple[dict[str, Any], bool]:
        """Take a remote ticket for ``phone`` (already normalised and, where required, verified).
        → (ticket view, created). The same key returns the first ticket."""
        now = now or utcnow()
        for attempt in range(3):
            try:
                return self._join_once(site, service_id, phone, idempotency_key, now)
            except IntegrityError:  # PostgreSQL: the lock row or the key was inserted by a racer
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _join_once(self, site, service_id, phone, key, now):
        pkey = phone_key(self.secret, phone)
        with self.db.write() as conn:
            existing = conn.execute(_BY_KEY, {"p_site": site, "p_key": key}).first()
            if existing is not None:
                if not existing.remote or existing.phone_key != pkey or existing.service != service_id:
                    raise InvalidInput("idempotency_key was already used", code="idempotency_conflict")
                return self.queue._view(conn, _ticket_from_row(existing), token=existing.token), False
            info = self.queue.site(conn, site)
            self.queue._service(conn, site, service_id)  # 404 for an unknown service
            self._lock(conn, site)
            settings = conn.execute(select(sites.c.settings).where(sites.c.id == site)).scalar()
            rules = r.parse_rules(settings)
            day = q.local_day(now, info.tz)
            r.check_join(rules, service_id, self._counts(conn, site, service_id, day, pkey))
            view = self.queue._insert_issued(conn, site, service_id, key, None, None, None, "remote", now,
                                             remote=True, phone_key=pkey)
            if self.queue.notify_ahead is not None:  # SMS on: the number is needed for "turn is near"
                conn.execute(insert(ticket_phones).values(ticket_id=view["id"], site=site, day=day, phone=phone,
                                                          added_at=now))
                # A ticket joining the end of the line moves nobody else; it is near at once only if
                # few are before it. Otherwise the next call decides (every call re-reads the line).
                if view["ahead"] <= notify_ahead(settings, self.queue.notify_ahead):
                    self.queue._queue_moved(conn, site, day, now)
            return view, True

    def _lock(self, conn: Connection, site: str) -> None:
        """Serialise remote joins at one site (a row lock held until commit)."""
        if conn.execute(_BUMP_LOCK, {"p_site": site}).rowcount == 0:
            conn.execute(insert(site_sequences).values(site=site, name=LOCK_NAME, value=1))

    @staticmethod
    def _counts(conn: Connection, site: str, service_id: str, day, pkey: str | None) -> r.DayCounts:
        total, remote = conn.execute(_SERVICE_COUNTS, {"p_site": site, "p_day": day, "p_service": service_id}).one()
        by_phone = 0
        if pkey is not None:
            by_phone = conn.execute(_PHONE_COUNT, {"p_site": site, "p_day": day, "p_key": pkey}).scalar_one()
        return r.DayCounts(total, int(remote or 0), by_phone)

    def forget_phone_keys(self, now: datetime | None = None) -> int:
        """The daily limit needs a phone's hash for its day only: blank it on earlier days' tickets."""
        now = now or utcnow()
        cleared = 0
        with self.db.write() as conn:
            for site, tz in conn.execute(select(sites.c.id, sites.c.timezone)).all():
                today = q.local_day(now, ZoneInfo(tz))
                cleared += conn.execute(update(tickets).where(
                    tickets.c.site == site, tickets.c.day < today, tickets.c.phone_key.is_not(None)).values(
                    phone_key=None)).rowcount
        return cleared

    # ---- checking in ----------------------------------------------------------------------
    def check_in(self, token: str, via: str, *, site: str | None = None, now: datetime | None = None
                 ) -> dict[str, Any]:
        """The holder of ``token``'s ticket is at the centre (``via``: "kiosk" or "lan").

        → ``{"number", "status", "remote", "checked_in", "changed"}``. A walk-in ticket answers
        ``remote: false`` and changes nothing (the kiosk just shows it). ``site``: a kiosk's own
        site; another site's ticket is unknown to it.
        """
        now = now or utcnow()
        return run_claim(lambda: self._check_in_once(token, via, site, now))

    def _check_in_once(self, token, via, site, now):
        with self.db.write() as conn:
            row = conn.execute(select(tickets).where(tickets.c.token == token)).first()
            if row is None or (site is not None and row.site != site):
                raise NotFound("unknown ticket", code="not_found")
            info = self.queue.site(conn, row.site)
            if row.day < q.local_day(now, info.tz):
                raise NotFound("unknown ticket", code="not_found")  # a ticket is good for its day only
            ticket = self.queue._ticket(conn, row.id, lock=not self.db.is_sqlite)
            was = ticket.status
            changed = q.check_in(ticket, now)
            if changed:
                done = conn.execute(update(tickets).where(tickets.c.id == ticket.id, tickets.c.status == was.value)
                                    .values(status=ticket.status.value, checked_in_at=ticket.checked_in_at,
                                            issued_at=ticket.issued_at))
                if done.rowcount != 1:
                    raise Retry()
                self.queue._event(conn, ticket, now, "check_in", ticket.status, None, ticket.service, via,
                                  note="back in line" if was == q.TicketStatus.SET_ASIDE else None)
                self.queue._emit_queue_state(conn, ticket.site, ticket.service, ticket.day, now)
                self.queue._queue_moved(conn, ticket.site, ticket.day, now)
            return {"number": ticket.label, "status": ticket.status.value, "remote": ticket.remote,
                    "checked_in": ticket.checked_in_at is not None, "changed": changed,
                    "back_in_line": changed and was == q.TicketStatus.SET_ASIDE}
