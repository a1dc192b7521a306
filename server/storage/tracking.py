"""What a citizen's phone sees for a token: a ticket's place in the queue, or a dossier's timeline.

Read-only and public, so it shows only what the holder of the paper already knows or may know:
no official's name, no phone number, the applicant's name masked, no internal note. A timeline
entry shows the official's public note masked by ``server.privacy`` (no ID-like digit run, no
part of the applicant's name), or the status's standard sentence. Unknown, malformed and
expired tokens all answer ``None`` — the page cannot tell them apart, so it leaks nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, select

from server import privacy
from server.domain import dossiers as d
from server.domain import queue as q
from server.storage.dossier_store import DossierStore
from server.storage.notice_store import NoticeStore
from server.storage.queue_store import QueueStore

from .tables import counters, dossier_events, dossiers, procedures, services, sites, tickets

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
DOSSIER_TTL = timedelta(days=90)
"""A closed dossier stays visible this long after its last change, then its token expires."""
CLOSED = {d.DossierStatus.RETURNED.value, d.DossierStatus.WITHDRAWN.value, d.DossierStatus.REFUSED.value}


def mask_name(name: str) -> str:
    """"Lò Thị Mai" → "L** T** M**": enough for the holder to recognise, nothing for a finder."""
    words = unicodedata.normalize("NFC", name).split()
    return " ".join(f"{w[0]}**" for w in words)


def _note(status: str, public_note: str | None, names: tuple[str, ...]) -> dict[str, Any]:
    vi, en, by_official = privacy.public_note(status, public_note, names)
    return {"note": vi, "note_en": en, "note_by_official": by_official}


class TrackingStore:
    def __init__(self, queue: QueueStore, dossier_store: DossierStore, notices: NoticeStore | None = None) -> None:
        self.queue = queue
        self.dossiers = dossier_store
        self.notices = notices
        self.db = queue.db

    def lookup(self, token: str, now: datetime | None = None) -> dict[str, Any] | None:
        if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
            return None
        now = now or datetime.now(timezone.utc)
        with self.db.read() as conn:
            row = conn.execute(select(dossiers).where(dossiers.c.token == token)).first()
            if row is not None:
                return self._dossier(conn, row, now)
            row = conn.execute(select(tickets).where(tickets.c.token == token)).first()
            if row is not None:
                return self._ticket(conn, row, now)
        return None

    # ---- dossier --------------------------------------------------------------------------
    def _dossier(self, conn: Connection, row: Any, now: datetime) -> dict[str, Any] | None:
        if row.status in CLOSED and now - row.updated_at > DOSSIER_TTL:
            return None
        profile = self.dossiers.profile(conn, row.site)
        proc = conn.execute(select(procedures.c.name_vi, procedures.c.name_en)
                            .where(procedures.c.code == row.procedure_code)).first()
        events = conn.execute(
            select(dossier_events.c.to_status, dossier_events.c.at, dossier_events.c.public_note)
            .where(dossier_events.c.dossier_id == row.id).order_by(dossier_events.c.id)
        ).all()
        status = d.DossierStatus(row.status)
        names = (row.applicant_name,)
        appointment = self.dossiers.appointment_at(profile, row.promised_date)
        return {
            "kind": "dossier",
            "centre": profile.name,
            "code": row.code,
            "procedure": {"name_vi": proc.name_vi if proc else row.procedure_code,
                          "name_en": (proc.name_en if proc else None) or (proc.name_vi if proc else None)},
            "applicant": mask_name(row.applicant_name),
            "status": status.value, "status_label_vi": status.label_vi, "status_label_en": status.label_en,
            "timeline": [{
                "status": e.to_status, "label_vi": d.DossierStatus(e.to_status).label_vi,
                "label_en": d.DossierStatus(e.to_status).label_en,
                "at": e.at.astimezone(profile.tz).isoformat(timespec="minutes"),
                **_note(e.to_status, e.public_note, names),
            } for e in events],
            "received_at": row.received_at.astimezone(profile.tz).isoformat(timespec="minutes")
            if row.received_at else None,
            "appointment_date": row.promised_date.isoformat() if row.promised_date else None,
            "appointment_at": appointment.isoformat(timespec="minutes") if appointment else None,
            "collect_at": ", ".join(p for p in (profile.result_desk, profile.name, profile.address) if p),
            "ready": status is d.DossierStatus.RESOLVED,
        }

    # ---- ticket ---------------------------------------------------------------------------
    def _ticket(self, conn: Connection, row: Any, now: datetime) -> dict[str, Any] | None:
        site = self.queue.site(conn, row.site)
        if row.day < q.local_day(now, site.tz):
            return None  # a ticket is good for its day only
        ticket, ahead, est = self.queue.position(conn, row)
        svc = conn.execute(select(services.c.name_vi, services.c.name_en)
                           .where(services.c.site == row.site, services.c.id == row.service)).first()
        serving = conn.execute(
            select(counters.c.id, counters.c.label, tickets.c.prefix, tickets.c.number, tickets.c.service)
            .join(tickets, and_(tickets.c.id == counters.c.current_ticket_id))
            .where(counters.c.site == row.site)
            .order_by(counters.c.id)
        ).all()
        my_counter = None
        if ticket.counter and ticket.status in q.ACTIVE_AT_COUNTER:
            my_counter = conn.execute(select(counters.c.label).where(
                counters.c.site == row.site, counters.c.id == ticket.counter)).scalar()
        notify = None
        if self.notices is not None:
            settings = conn.execute(select(sites.c.settings).where(sites.c.id == row.site)).scalar()
            notify = self.notices.tracking_state(conn, ticket, settings)
        return {
            "kind": "ticket",
            "notify": notify,
            "centre": site.name,
            "number": ticket.label,
            "status": ticket.status.value,
            "service": {"id": row.service, "name_vi": svc.name_vi if svc else row.service,
                        "name_en": (svc.name_en if svc else None) or (svc.name_vi if svc else row.service)},
            "issued_at": row.issued_at.astimezone(site.tz).isoformat(timespec="minutes"),
            "ahead": ahead if ticket.status == q.TicketStatus.WAITING else 0,
            "est_wait_s": est,
            "counter": my_counter,
            "now_serving": [{"counter": s.label, "ticket": q.format_number(s.prefix, s.number),
                             "same_service": s.service == row.service} for s in serving],
            # a remote ticket: called only once checked in (kiosk scan or "Tôi đã đến")
            "remote": {"checked_in": ticket.checked_in_at is not None} if ticket.remote else None,
        }
