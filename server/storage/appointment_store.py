"""Appointments: plans, availability, bookings, check-in at the kiosk, reminders, the day's end.

* Capacity: ``appointment_slot_counts`` holds each slot's bookings; a booking is one conditional
  ``UPDATE … SET booked = booked + 1 WHERE booked < capacity``, so the last place goes to one
  citizen only, on SQLite (one writer) and on PostgreSQL (the row lock) alike.
* The phone comes from a verification proof (:mod:`server.storage.phone_verify_store`), never from
  the form; it is kept until the appointment is over (checked in, cancelled, or its day ended),
  then blanked; the per-phone limit counts an HMAC of it.
* Check-in issues a ticket through :meth:`QueueStore.issue` with the idempotency key
  ``appt-<id>`` and the slot's window: a second scan (or two kiosks at once) gets the same ticket.
* Reminders: ``pending`` → ``handed`` (committed before the modem gets the text) → ``sent``; a
  crash after the hand-over leaves ``handed`` and the reminder is not sent again (the same way the
  turn-is-near notices err, see server/notify/sender.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.domain import appointments as ap
from server.domain import notices as n
from server.domain import phone_verify as pv
from server.domain import queue as q
from server.domain.errors import InvalidTransition, NotFound

from .db import Database
from .phone_verify_store import phone_for_proof
from .queue_rows import utcnow
from .tables import appointment_plans, appointment_slot_counts, appointments, services, sites, tickets

log = logging.getLogger(__name__)
TOKEN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
NOT_FOUND_VI = "Không tìm thấy lịch hẹn này. / No such appointment."


def _insert_ignore(conn: Connection, table, values: dict[str, Any], keys: list[str]) -> None:
    stmt = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(table).values(**values)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=keys))


class AppointmentStore:
    def __init__(self, db: Database, queue, dossiers, *, secret: bytes, id_key: bytes, public_url: str,
                 notifier=None) -> None:
        self.db = db
        self.queue = queue
        self.dossiers = dossiers  # the site's profile: time zone and working calendar
        self.secret = secret
        self.id_key = id_key
        self.public_url = public_url.rstrip("/")
        self.notifier = notifier
        self._version = 0
        self._catalogue: dict[str, tuple[tuple[int, str], dict[str, Any]]] = {}
        db.on_commit(self._changed)

    def _changed(self) -> None:
        self._version += 1  # any committed write: the next catalogue is read afresh

    # ---- the manager's plan -----------------------------------------------------------------
    def _service_row(self, conn: Connection, site: str, service: str):
        row = conn.execute(select(services).where(services.c.site == site, services.c.id == service)).first()
        if row is None:
            raise NotFound(f"Không có dịch vụ {service!r}. / unknown service {service!r}", code="unknown_service")
        return row

    def set_plan(self, site: str, service: str, data: Any, actor: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
        plan = ap.parse_plan(data)
        now = now or utcnow()
        with self.db.write() as conn:
            self._service_row(conn, site, service)
            body = json.dumps(plan.as_dict(), ensure_ascii=False)
            done = conn.execute(update(appointment_plans).where(
                appointment_plans.c.site == site, appointment_plans.c.service == service).values(
                plan=body, updated_at=now, updated_by=actor)).rowcount
            if not done:
                conn.execute(appointment_plans.insert().values(site=site, service=service, plan=body,
                                                               updated_at=now, updated_by=actor))
        return {"site": site, "service": service, **plan.as_dict()}

    def _plan(self, conn: Connection, site: str, service: str) -> ap.Plan | None:
        raw = conn.execute(select(appointment_plans.c.plan).where(
            appointment_plans.c.site == site, appointment_plans.c.service == service)).scalar()
        return None if raw is None else ap.parse_plan(json.loads(raw))

    def get_plan(self, site: str, service: str) -> dict[str, Any]:
        with self.db.read() as conn:
            self._service_row(conn, site, service)
            plan = self._plan(conn, site, service) or ap.Plan()
        return {"site": site, "service": service, **plan.as_dict()}

    # ---- what a citizen sees ----------------------------------------------------------------
    def catalogue(self, site: str, now: datetime | None = None) -> dict[str, Any]:
        """The booking page's data: the centre and, per bookable service, its days and places left.

        Kept until the next committed write or the next minute (a slot that just passed), so fifty
        phones opening the page cost one read; a booking still checks the place in its own
        transaction."""
        now = now or utcnow()
        data = self.cached_catalogue(site, now)
        if data is None:
            data = self._read_catalogue(site, now)
            self._catalogue[site] = ((self._version, now.strftime("%Y%m%d%H%M")), data)
        return data

    def cached_catalogue(self, site: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The catalogue if still current (no I/O: the page answers without a thread hop), else None."""
        now = now or utcnow()
        cached = self._catalogue.get(site)
        if cached is not None and cached[0] == (self._version, now.strftime("%Y%m%d%H%M")):
            return cached[1]
        return None

    def _read_catalogue(self, site: str, now: datetime) -> dict[str, Any]:
        profile = self.dossiers.profile_for(site)
        with self.db.read() as conn:
            rows = conn.execute(select(services, appointment_plans.c.plan).join(appointment_plans, and_(
                appointment_plans.c.site == services.c.site, appointment_plans.c.service == services.c.id))
                .where(services.c.site == site, services.c.active).order_by(services.c.sort_order)).all()
            out = []
            for row in rows:
                plan = ap.parse_plan(json.loads(row.plan))
                days = self._days(conn, site, row.id, plan, profile, now)
                if days:
                    out.append({"id": row.id, "name_vi": row.name_vi, "name_en": row.name_en, "days": days})
        return {"site": site, "centre": profile.name, "services": out}

    def _days(self, conn, site, service, plan: ap.Plan, profile, now: datetime) -> list[dict[str, Any]]:
        today = now.astimezone(profile.tz).date()
        days = ap.bookable_days(plan, profile.calendar, today)
        if not days:
            return []
        taken = {(r.day, r.start): r.booked for r in conn.execute(select(appointment_slot_counts).where(
            appointment_slot_counts.c.site == site, appointment_slot_counts.c.service == service,
            appointment_slot_counts.c.day.in_(days))).all()}
        out = []
        for day in days:
            slots = []
            for slot in ap.slots_on(plan, profile.calendar, day):
                if slot.capacity == 0 or (day == today and ap.window(day, slot, profile.tz)[1] <= now):
                    continue
                left = max(0, slot.capacity - taken.get((day, slot.key), 0))
                slots.append({"start": slot.key, "end": slot.end_key, "left": left})
            if slots:
                out.append({"day": day.isoformat(), "slots": slots,
                            "label_vi": f"{WEEKDAYS_VI[day.weekday()]}, {day:%d/%m}",
                            "label_en": f"{day:%a %d/%m}"})
        return out

    def _view(self, conn: Connection, row, profile=None) -> dict[str, Any]:
        svc = conn.execute(select(services.c.name_vi, services.c.name_en).where(
            services.c.site == row.site, services.c.id == row.service)).first()
        centre = conn.execute(select(sites.c.name).where(sites.c.id == row.site)).scalar()
        ticket = None
        if row.ticket_id is not None:
            t = conn.execute(select(tickets.c.prefix, tickets.c.number, tickets.c.token).where(
                tickets.c.id == row.ticket_id)).first()
            if t is not None:
                ticket = {"number": q.format_number(t.prefix, t.number), "track_url": f"{self.public_url}/t/{t.token}"}
        end = row.window_end.astimezone((profile or self.dossiers.profile(conn, row.site)).tz)
        return {"token": row.token, "code": ap.confirmation_code(row.token), "site": row.site, "centre": centre,
                "service": {"id": row.service, "name_vi": svc.name_vi if svc else row.service,
                            "name_en": (svc.name_en or svc.name_vi) if svc else row.service},
                "day": row.day.isoformat(), "start": row.start, "end": end.strftime("%H:%M"), "status": row.status,
                "phone": n.mask_phone(row.phone) if row.phone else None, "ticket": ticket,
                "url": f"{self.public_url}/a/{row.token}", "reminder": row.reminder}

    def _by_token(self, conn: Connection, token: str, lock: bool = False):
        if not (8 <= len(token) <= 64) or not set(token) <= TOKEN_CHARS:
            raise NotFound(NOT_FOUND_VI, code="not_found")
        stmt = select(appointments).where(appointments.c.token == token)
        row = conn.execute(stmt.with_for_update() if lock else stmt).first()
        if row is None:
            raise NotFound(NOT_FOUND_VI, code="not_found")
        return row

    def view(self, token: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return self._view(conn, self._by_token(conn, token))

    def mine(self, site: str, proof: str, now: datetime | None = None) -> list[dict[str, Any]]:
        """The verified phone's live appointments at this site (to see and cancel them)."""
        now = now or utcnow()
        with self.db.read() as conn:
            phone = phone_for_proof(conn, self.secret, proof, "booking", now)
            rows = conn.execute(select(appointments).where(
                appointments.c.site == site, appointments.c.phone_key == pv.keyed(self.secret, "phone", phone),
                appointments.c.status == "booked").order_by(appointments.c.window_start)).all()
            return [self._view(conn, r) for r in rows]

    # ---- booking and cancelling -------------------------------------------------------------
    def book(self, site: str, service: str, day: date, start: str, proof: str, cccd: str | None = None,
             now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        profile = self.dossiers.profile_for(site)
        citizen_hash = None
        if cccd:
            digits = "".join(ch for ch in cccd if ch.isdigit())
            if len(digits) != 12:
                raise ap.BookingRefused("Số CCCD gồm 12 chữ số. Bạn có thể để trống. / A CCCD number has 12 digits; "
                                        "you may leave it empty.", code="invalid_cccd")
            citizen_hash = hmac.new(self.id_key, digits.encode("ascii"), hashlib.sha256).hexdigest()
        with self.db.write() as conn:
            phone = phone_for_proof(conn, self.secret, proof, "booking", now)
            phone_key = pv.keyed(self.secret, "phone", phone)
            if conn.dialect.name == "postgresql":  # one booking at a time per phone: the limit holds
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(phone_key[:15], 16)})
            self._service_row(conn, site, service)
            plan = self._plan(conn, site, service)
            if plan is None:
                raise ap.BookingRefused("Dịch vụ này chưa nhận đặt lịch hẹn. / This service takes no appointments.",
                                        code="no_appointments")
            slot = ap.check_bookable(plan, profile.calendar, day, start, now, profile.tz)
            today = now.astimezone(profile.tz).date()
            held = conn.execute(select(func.count()).select_from(appointments).where(
                appointments.c.phone_key == phone_key, appointments.c.site == site,
                appointments.c.status == "booked", appointments.c.day >= today)).scalar_one()
            pv.check_phone_limit(held, plan.per_phone)
            _insert_ignore(conn, appointment_slot_counts, {"site": site, "service": service, "day": day,
                                                           "start": slot.key, "booked": 0},
                           ["site", "service", "day", "start"])
            took = conn.execute(update(appointment_slot_counts).where(
                appointment_slot_counts.c.site == site, appointment_slot_counts.c.service == service,
                appointment_slot_counts.c.day == day, appointment_slot_counts.c.start == slot.key,
                appointment_slot_counts.c.booked < slot.capacity).values(
                booked=appointment_slot_counts.c.booked + 1)).rowcount
            if took != 1:
                raise ap.slot_full()
            start_at, end_at = ap.window(day, slot, profile.tz)
            reminder = "pending" if day > today else "none"
            token = secrets.token_urlsafe(18)
            conn.execute(appointments.insert().values(
                token=token, site=site, service=service, day=day, start=slot.key, window_start=start_at,
                window_end=end_at, phone=phone, phone_key=phone_key, citizen_hash=citizen_hash, status="booked",
                created_at=now, reminder=reminder))
            return self._view(conn, self._by_token(conn, token), profile)

    def cancel(self, token: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        with self.db.write() as conn:
            row = self._by_token(conn, token, lock=True)
            if row.status == "cancelled":
                return self._view(conn, row)
            if row.status != "booked":
                raise InvalidTransition("Lịch hẹn này đã dùng hoặc đã qua, không hủy được nữa. / "
                                        "This appointment was used or is over.", code="appointment_over")
            conn.execute(update(appointments).where(appointments.c.id == row.id, appointments.c.status == "booked")
                         .values(status="cancelled", changed_at=now, phone=None))
            conn.execute(update(appointment_slot_counts).where(
                appointment_slot_counts.c.site == row.site, appointment_slot_counts.c.service == row.service,
                appointment_slot_counts.c.day == row.day, appointment_slot_counts.c.start == row.start,
                appointment_slot_counts.c.booked > 0).values(booked=appointment_slot_counts.c.booked - 1))
            return self._view(conn, self._by_token(conn, token))

    # ---- the kiosk --------------------------------------------------------------------------
    def check_in(self, site: str, token: str | None = None, citizen_digest: str | None = None,
                 actor: str | None = None, now: datetime | None = None) -> tuple[dict[str, Any], bool]:
        """A booked citizen at the kiosk (QR or CCCD) → (ticket view with ``appointment``, created)."""
        now = now or utcnow()
        profile = self.dossiers.profile_for(site)
        today = now.astimezone(profile.tz).date()
        with self.db.read() as conn:
            if token is not None:
                row = self._by_token(conn, token)
            else:
                row = conn.execute(select(appointments).where(
                    appointments.c.site == site, appointments.c.day == today,
                    appointments.c.citizen_hash == citizen_digest,
                    appointments.c.status.in_(("booked", "arrived"))).order_by(appointments.c.window_start)).first()
                if row is None:
                    raise NotFound("Không có lịch hẹn hôm nay cho thẻ này. / No appointment today for this card.",
                                   code="no_appointment")
        if row.site != site:
            raise NotFound(NOT_FOUND_VI, code="not_found")
        if row.status == "cancelled":
            raise InvalidTransition("Lịch hẹn này đã bị hủy. Xin mời lấy số như thường. / This appointment was "
                                    "cancelled; please take a normal ticket.", code="appointment_cancelled")
        if row.day != today:
            raise InvalidTransition(f"Lịch hẹn của bạn vào ngày {row.day:%d/%m/%Y}, không phải hôm nay. / "
                                    f"Your appointment is on {row.day:%d/%m/%Y}, not today.",
                                    code="appointment_not_today")
        ticket, created = self.queue.issue(site, row.service, f"appt-{row.id}", citizen_hash=row.citizen_hash,
                                           actor=actor, now=now, window=(row.window_start, row.window_end))
        with self.db.write() as conn:
            conn.execute(update(appointments).where(appointments.c.id == row.id, appointments.c.status == "booked")
                         .values(status="arrived", ticket_id=ticket["id"], changed_at=now, phone=None))
        when = "early" if now < row.window_start else "late" if now > row.window_end else "in_window"
        ticket["appointment"] = {"code": ap.confirmation_code(row.token), "start": row.start,
                                 "in_window": when == "in_window", "when": when}
        return ticket, created

    # ---- reminders and the day's end --------------------------------------------------------
    def send_due_reminders(self, now: datetime | None = None) -> int:
        """Send every reminder due now (the day before, from 16:00 local). → how many went out."""
        from server.notify.channels import DeliveryError, Notice

        if self.notifier is None:
            return 0
        now = now or utcnow()
        sent = 0
        with self.db.read() as conn:
            due = conn.execute(select(appointments, sites.c.timezone, sites.c.name.label("centre"),
                                      services.c.name_vi).join(sites, sites.c.id == appointments.c.site)
                               .join(services, and_(services.c.site == appointments.c.site,
                                                    services.c.id == appointments.c.service))
                               .where(appointments.c.reminder == "pending", appointments.c.status == "booked",
                                      appointments.c.phone.is_not(None),
                                      appointments.c.day <= (now + timedelta(days=2)).date())).all()
        for row in due:
            if not ap.reminder_due(row.day, now, ZoneInfo(row.timezone)):
                continue
            with self.db.write() as conn:  # committed before the modem gets the text: never twice
                if conn.execute(update(appointments).where(appointments.c.id == row.id,
                                                           appointments.c.reminder == "pending")
                                .values(reminder="handed")).rowcount != 1:
                    continue
            text_ = ap.reminder_text(row.name_vi, row.day, row.start, row.centre, ap.confirmation_code(row.token))
            try:
                ref = self.notifier.send(Notice("", 0, row.centre, None, row.phone, text=text_), lambda: None)
                status, detail = "sent", f"reference {ref}"
                sent += 1
            except DeliveryError as err:
                if err.maybe_sent:
                    status = "unknown"
                else:
                    status = "pending" if err.retryable else "failed"
                detail = f"{err.code}: {err}"
                log.warning("appointment %d: reminder %s (%s)", row.id, status, err.code)
            with self.db.write() as conn:
                conn.execute(update(appointments).where(appointments.c.id == row.id).values(
                    reminder=status, reminder_detail=detail[:200]))
        return sent

    def close_days(self, now: datetime | None = None) -> int:
        """Appointments of past days never checked in become ``no_show``; their numbers are blanked."""
        now = now or utcnow()
        changed = 0
        with self.db.write() as conn:
            for site, tz in conn.execute(select(sites.c.id, sites.c.timezone).where(
                    sites.c.id.in_(select(appointments.c.site).distinct()))).all():
                today = q.local_day(now, ZoneInfo(tz))
                changed += conn.execute(update(appointments).where(
                    appointments.c.site == site, appointments.c.day < today, appointments.c.status == "booked")
                    .values(status="no_show", changed_at=now, phone=None)).rowcount
            changed += conn.execute(update(appointments).where(
                appointments.c.status != "booked", appointments.c.phone.is_not(None)).values(phone=None)).rowcount
            # a reminder still pending once its day came (the server was off the evening before)
            changed += conn.execute(update(appointments).where(
                appointments.c.reminder == "pending", appointments.c.status != "booked").values(
                reminder="failed", reminder_detail="not sent the day before (the server was not running)")).rowcount
        return changed

    def chores(self) -> None:
        self.close_days()
        self.send_due_reminders()

    # ---- what the director sees -------------------------------------------------------------
    def figures(self, site: str, first: date, last: date) -> dict[str, Any]:
        from .appointment_figures import appointment_figures

        return appointment_figures(self.db, site, first, last)
