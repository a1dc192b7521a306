"""Dossiers: load rows into the domain's ``Dossier``, apply a lifecycle rule, write back.

Every public method is one transaction. The history (who, when, why) is append-only in
``dossier_events``; the derived local-date columns the reports bucket on (``filed_on``,
``resolved_on``, ``closed_on``, ``clock_stopped_on``…) are recomputed from the domain object on
every write, so they cannot drift from the history.
"""

from __future__ import annotations

import secrets
import threading
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from devices.layout import ApologyView, SlipView
from server.domain import dossiers as d
from server.domain import ledger
from server.domain.errors import InvalidInput, NotFound

from . import journal, ledger_store, outbox
from .db import Database
from .site_settings import SiteProfile, build_profile
from .tables import (
    dossier_apologies,
    dossier_events,
    dossiers,
    procedures,
    service_procedures,
    sites,
    tickets,
    users,
)


# Constant statements executed with their values: compiled once and cached, where ``.values(...)``
# builds a new statement (and its cache key) on every call — a large share of an import's time.
_INSERT_EVENT = insert(dossier_events)
_INSERT_DOSSIER = insert(dossiers).returning(dossiers.c.id)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DossierStore:
    """Dossier operations for any site in the database."""

    def __init__(self, db: Database, *, public_url: str) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self._profiles: dict[str, SiteProfile] = {}
        self._lock = threading.Lock()

    # ---- look-ups -------------------------------------------------------------------------
    def profile(self, conn: Connection, site_id: str) -> SiteProfile:
        """The site's name, time zone and working calendar (its own days off applied)."""
        with self._lock:
            found = self._profiles.get(site_id)
        if found is None:
            row = conn.execute(select(sites).where(sites.c.id == site_id)).first()
            if row is None:
                raise NotFound(f"unknown site {site_id!r}", code="unknown_site")
            found = build_profile(row.id, row.name, row.address, row.timezone, row.settings)
            with self._lock:
                self._profiles[site_id] = found
        return found

    def profile_for(self, site_id: str) -> SiteProfile:
        """``profile`` in its own read transaction (free once cached)."""
        with self._lock:
            found = self._profiles.get(site_id)
        if found is not None:
            return found
        with self.db.read() as conn:
            return self.profile(conn, site_id)

    def forget_profiles(self) -> None:
        """Call after a site's settings changed (e.g. new days off)."""
        with self._lock:
            self._profiles.clear()

    def procedure(self, conn: Connection, site: str, code: str) -> dict[str, Any]:
        """The procedure with the site's own legal days when it overrides them."""
        row = conn.execute(select(procedures).where(procedures.c.code == code)).first()
        if row is None:
            raise NotFound(f"unknown procedure {code!r}", code="unknown_procedure")
        override = conn.execute(
            select(service_procedures.c.legal_days).where(
                service_procedures.c.site == site, service_procedures.c.procedure_code == code,
                service_procedures.c.legal_days.is_not(None))
        ).first()
        days = override.legal_days if override else row.legal_days
        return {"code": row.code, "name_vi": row.name_vi, "name_en": row.name_en, "legal_days": days}

    def _row(self, conn: Connection, code: str, *, lock: bool = False) -> Any:
        stmt = select(dossiers).where(dossiers.c.code == code)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"unknown dossier {code!r}", code="unknown_dossier")
        return row

    def _load(self, conn: Connection, row: Any) -> d.Dossier:
        events = conn.execute(
            select(dossier_events).where(dossier_events.c.dossier_id == row.id).order_by(dossier_events.c.id)
        ).all()
        apologies = conn.execute(
            select(dossier_apologies).where(dossier_apologies.c.dossier_id == row.id)
            .order_by(dossier_apologies.c.id)
        ).all()
        history = tuple(
            d.StatusChange(d.DossierStatus(e.from_status) if e.from_status else None, d.DossierStatus(e.to_status),
                           e.actor, e.at, e.note, e.public_note, e.reason, e.paid_online,
                           e.components_digitised, e.result_digitised) for e in events
        )
        slips = tuple(
            d.ApologySlip(row.code, a.due_date, a.new_date, a.issued_at, a.actor, a.reason) for a in apologies
        )
        return d.Dossier(
            code=row.code, procedure_code=row.procedure_code, legal_days=row.legal_days,
            channel=d.Channel(row.channel), status=d.DossierStatus(row.status), submitted_at=row.submitted_at,
            received_at=row.received_at, due_date=row.due_date, resolved_at=row.resolved_at,
            returned_at=row.returned_at, history=history, apologies=slips, cutoff=row_cutoff(row),
        )

    @staticmethod
    def derived(dossier: d.Dossier, cal) -> dict[str, Any]:
        """The columns reports and tracking read, computed from the domain object."""
        last = dossier.history[-1]
        status = dossier.status
        return {
            "status": status.value,
            "submitted_at": dossier.submitted_at,
            "received_at": dossier.received_at,
            "received_on": cal.local_date(dossier.received_at) if dossier.received_at else None,
            "due_date": dossier.due_date,
            "clock_stopped_on": cal.local_date(last.at) if status in d.CLOCK_STOPPING else None,
            "resolved_at": dossier.resolved_at,
            "resolved_on": cal.local_date(dossier.resolved_at) if dossier.resolved_at else None,
            "returned_at": dossier.returned_at,
            "closed_on": cal.local_date(last.at) if status in (d.DossierStatus.WITHDRAWN, d.DossierStatus.REFUSED)
            else None,
            "promised_date": dossier.promised_date,
        }

    @staticmethod
    def _ledger(conn: Connection, dossier_id: int, site: str, dossier: d.Dossier, cal,
                flows_before: list | None = None) -> None:
        """Keep the period ledger (spans and daily flows) in step with the dossier's history."""
        spans, flows = ledger.ledger(dossier, cal)
        channel, procedure = dossier.channel.value, dossier.procedure_code
        ledger_store.replace_spans(conn, dossier_id, site, channel, procedure, spans)
        ledger_store.add_flows(conn, site, channel, procedure, ledger.new_flows(flows_before or [], flows))

    def _write_events(self, conn, dossier_id: int, changes, dossier: d.Dossier, site: str,
                      dues: list | None = None) -> None:
        """History rows, and each in the sync journal: codes, statuses and dates, never the
        applicant's name, phone or the notes (they may name people). ``dues``: the due date right
        after each change when several are written at once (default: the dossier's now). The body
        carries what the province needs to replay the history through the same ledger
        (``legal_days``, ``cutoff``; the opening event also the procedure's name and field, for the
        report's breakdowns)."""
        for i, c in enumerate(changes):
            due = dossier.due_date if dues is None else dues[i]
            conn.execute(_INSERT_EVENT, dict(
                dossier_id=dossier_id, at=c.at, from_status=c.from_status.value if c.from_status else None,
                to_status=c.to_status.value, actor=c.by, note=c.note, public_note=c.public_note, reason=c.reason,
                paid_online=c.paid_online, components_digitised=c.components_digitised,
                result_digitised=c.result_digitised, exported_at=None,
            ))
            body = {
                "code": dossier.code, "procedure": dossier.procedure_code, "channel": dossier.channel.value,
                "from": c.from_status.value if c.from_status else None, "to": c.to_status.value, "actor": c.by,
                "due_date": due.isoformat() if due else None,
                "legal_days": dossier.legal_days,
                "cutoff": dossier.cutoff.strftime("%H:%M") if dossier.cutoff else None,
                # the Decision 766 facts stated with the change (3.6, 4.1, 4.2), when stated
                **{k: v for k, v in (("paid_online", c.paid_online), ("components_digitised", c.components_digitised),
                                     ("result_digitised", c.result_digitised)) if v is not None},
            }
            if c.from_status is None:
                proc = conn.execute(select(procedures.c.name_vi, procedures.c.field_vi)
                                    .where(procedures.c.code == dossier.procedure_code)).first()
                body["procedure_name"] = proc.name_vi if proc else None
                body["field"] = proc.field_vi if proc else None
            journal.record(conn, site, "dossier", body, c.at)

    # ---- intake ---------------------------------------------------------------------------
    def create(self, **kwargs: Any) -> dict[str, Any]:
        """Receive a dossier (see :meth:`receive`); the view only."""
        return self.receive(**kwargs)[0]

    def receive(self, *, site: str | None, procedure_code: str, applicant_name: str, channel: str,
                actor: str, phone: str | None = None, ticket_id: int | None = None,
                external_id: str | None = None, idempotency_key: str | None = None,
                now: datetime | None = None, components_digitised: bool | None = None,
                steps: tuple[tuple[str, datetime], ...] = (), steps_note: str | None = None,
                ) -> tuple[dict[str, Any], bool]:
        """Receive a dossier → (view, created). From a ticket it takes the ticket's tracking token,
        so the QR the citizen already holds follows the dossier (only the first dossier of a
        ticket; a second one gets its own token and slip). The same ``idempotency_key`` at the
        same site returns the first dossier (created False), never a second one.
        ``components_digitised``: the official digitised its components at intake (Decision 766, 4.2;
        for an online dossier it is said on acceptance instead).

        ``steps`` ((status, moment), …, with ``steps_note``): changes a dossier from another system
        has already been through, applied to a *new* dossier in the same transaction — exactly as
        if each were a ``change_status`` of its own, ledger and journal included, in one write. The
        first step the rules refuse stops there: the dossier is kept with the steps before it, and
        the error is raised after the commit (``StepsRefused``), as one change at a time would."""
        for attempt in range(3):
            try:
                view, created, refused = self._receive_once(
                    site, procedure_code, applicant_name, channel, actor, phone, ticket_id, external_id,
                    idempotency_key, now or utcnow(), components_digitised, steps, steps_note)
                if refused is not None:
                    raise StepsRefused(view, refused) from refused
                return view, created
            except IntegrityError:
                # PostgreSQL: a concurrent retry with the same key committed first; read it back.
                if idempotency_key is None or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _receive_once(self, site, procedure_code, applicant_name, channel, actor, phone, ticket_id, external_id,
                      idempotency_key, now, components_digitised=None, steps=(), steps_note=None):
        with self.db.write() as conn:
            token = None
            if ticket_id is not None:
                ticket = conn.execute(select(tickets.c.site, tickets.c.token).where(tickets.c.id == ticket_id)).first()
                if ticket is None or (site is not None and ticket.site != site):
                    raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
                site = ticket.site
                taken = conn.execute(select(dossiers.c.id).where(dossiers.c.token == ticket.token)).first()
                token = None if taken else ticket.token
            if site is None:
                raise InvalidInput("say which site receives the dossier", code="site_required")
            if idempotency_key is not None:
                code = conn.execute(select(dossiers.c.code).where(
                    dossiers.c.site == site, dossiers.c.idempotency_key == idempotency_key)).scalar()
                if code is not None:
                    row = self._row(conn, code)
                    if row.procedure_code != procedure_code or row.ticket_id != ticket_id:
                        raise InvalidInput("idempotency_key was already used for another dossier",
                                           code="idempotency_conflict")
                    return self._view(conn, row, self._load(conn, row), self.profile(conn, site)), False, None
            profile = self.profile(conn, site)
            proc = self.procedure(conn, site, procedure_code)
            local = profile.calendar.to_local(now)
            # Gapless per site and local day of acceptance (one UPDATE … RETURNING, a row lock).
            n = outbox.next_site_sequence(conn, site, f"dossier-{local:%y%m%d}")
            code = profile.code_format.format(local.date(), n)
            cutoff = profile.cutoff_for(proc["code"])
            dossier = d.open_dossier(code, proc["code"], proc["legal_days"], channel, by=actor, at=now,
                                     calendar=profile.calendar, cutoff=cutoff,
                                     components_digitised=components_digitised)
            dues, refused, updated = [dossier.due_date], None, now
            for status, at in steps:
                try:
                    d.change_status(dossier, status, by=actor, at=at, note=steps_note, calendar=profile.calendar)
                except d.DossierError as err:
                    refused = err
                    break
                dues.append(dossier.due_date)
                updated = at
            fields = self.derived(dossier, profile.calendar)
            dossier_id = conn.execute(_INSERT_DOSSIER, dict(
                site=site, code=code, procedure_code=proc["code"], legal_days=proc["legal_days"],
                channel=dossier.channel.value, ticket_id=ticket_id, token=token or secrets.token_urlsafe(16),
                applicant_name=applicant_name, phone=phone, official=actor, filed_on=local.date(),
                external_id=external_id, idempotency_key=idempotency_key, created_at=now, updated_at=updated,
                cutoff=cutoff.strftime("%H:%M") if cutoff else None, **fields,
            )).scalar_one()
            self._write_events(conn, dossier_id, dossier.history, dossier, site, dues)
            self._ledger(conn, dossier_id, site, dossier, profile.calendar)
            return self._view(conn, self._row(conn, code), dossier, profile, proc), True, refused

    # ---- changes --------------------------------------------------------------------------
    def change_status(self, code: str, status: str, *, actor: str, note: str | None = None,
                      now: datetime | None = None, site: str | None = None,
                      public_note: str | None = None, reason: str | None = None,
                      paid_online: bool | None = None, components_digitised: bool | None = None,
                      result_digitised: bool | None = None) -> dict[str, Any]:
        """``note`` stays internal; ``public_note`` is what the tracking page may show (masked);
        ``reason`` is required for a second supplement request (and only kept for one).
        ``paid_online`` (ending the fee step), ``components_digitised`` (accepting) and
        ``result_digitised`` (resolving) are the Decision 766 facts the official states."""
        now = now or utcnow()
        with self.db.write() as conn:
            row = self._row(conn, code, lock=True)
            self._check_site(row, site)
            profile = self.profile(conn, row.site)
            dossier = self._load(conn, row)
            before = ledger.ledger(dossier, profile.calendar)[1]
            change = d.change_status(dossier, status, by=actor, at=now, note=note, calendar=profile.calendar,
                                     public_note=public_note, reason=reason, paid_online=paid_online,
                                     components_digitised=components_digitised, result_digitised=result_digitised)
            self._write_events(conn, row.id, [change], dossier, row.site)
            self._ledger(conn, row.id, row.site, dossier, profile.calendar, before)
            fields = self.derived(dossier, profile.calendar)
            conn.execute(update(dossiers).where(dossiers.c.id == row.id).values(updated_at=now, **fields))
            return self._view(conn, self._row(conn, code), dossier, profile)

    def apologise(self, code: str, new_date: date, reason: str, *, actor: str, now: datetime | None = None,
                  site: str | None = None) -> dict[str, Any]:
        """Record a Mẫu 04 apology; returns the dossier view and the slip."""
        now = now or utcnow()
        with self.db.write() as conn:
            row = self._row(conn, code, lock=True)
            self._check_site(row, site)
            profile = self.profile(conn, row.site)
            dossier = self._load(conn, row)
            before = ledger.ledger(dossier, profile.calendar)[1]
            slip = d.issue_apology(dossier, new_date, by=actor, at=now, reason=reason, calendar=profile.calendar)
            conn.execute(insert(dossier_apologies).values(
                dossier_id=row.id, issued_at=slip.issued_at, due_date=slip.due_date, new_date=slip.new_date,
                actor=slip.by, reason=slip.reason))
            journal.record(conn, row.site, "apology", {  # the reason stays here: it may name people
                "code": row.code, "due_date": slip.due_date.isoformat(), "new_date": slip.new_date.isoformat(),
                "actor": slip.by}, slip.issued_at)
            conn.execute(update(dossiers).where(dossiers.c.id == row.id)
                         .values(promised_date=dossier.promised_date, updated_at=now))
            self._ledger(conn, row.id, row.site, dossier, profile.calendar, before)
            return self._view(conn, self._row(conn, code), dossier, profile)

    @staticmethod
    def _check_site(row: Any, site: str | None) -> None:
        if site is not None and row.site != site:
            raise NotFound(f"unknown dossier {row.code!r}", code="unknown_dossier")

    # ---- reads ----------------------------------------------------------------------------
    def get(self, code: str, *, site: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self._row(conn, code)
            self._check_site(row, site)
            return self._view(conn, row, self._load(conn, row), self.profile(conn, row.site), now=now)

    def _view(self, conn, row, dossier: d.Dossier, profile: SiteProfile, proc=None, now=None) -> dict[str, Any]:
        proc = proc or self.procedure(conn, row.site, row.procedure_code)
        cal = profile.calendar
        today = cal.local_date(now or utcnow())
        due = d.current_due_date(dossier, today=today, calendar=cal)
        timeliness = d.timeliness(dossier, today=today, calendar=cal)
        appointment = self.appointment_at(profile, dossier.promised_date)

        def _iso(value: date | datetime | None) -> str | None:  # every moment in the site's time, with offset
            return _local_iso(value, profile.tz)
        return {
            "code": row.code, "site": row.site, "status": dossier.status.value,
            "status_label_vi": dossier.status.label_vi, "status_label_en": dossier.status.label_en,
            "national_code": dossier.status.national_code,
            "procedure": {"code": proc["code"], "name_vi": proc["name_vi"], "name_en": proc["name_en"]},
            "legal_days": row.legal_days, "channel": row.channel, "applicant_name": row.applicant_name,
            "phone": row.phone, "ticket_id": row.ticket_id, "official": row.official,
            "submitted_at": _iso(dossier.submitted_at), "received_at": _iso(dossier.received_at),
            "due_date": _iso(due), "promised_date": _iso(dossier.promised_date),
            "due_at": _iso(appointment), "resolved_at": _iso(dossier.resolved_at),
            "returned_at": _iso(dossier.returned_at), "timeliness": timeliness.value if timeliness else None,
            "apology_due": d.apology_due(dossier, today=today, calendar=cal),
            "supplement_requests": d.supplement_requests(dossier), "counts_late": d.counts_late(dossier),
            "token": row.token, "track_url": f"{self.public_url}/t/{row.token}",
            "history": [{
                "from": c.from_status.value if c.from_status else None, "to": c.to_status.value,
                "label_vi": c.to_status.label_vi, "label_en": c.to_status.label_en,
                "at": _iso(c.at), "by": c.by, "note": c.note, "public_note": c.public_note, "reason": c.reason,
                **{k: v for k, v in (("paid_online", c.paid_online), ("components_digitised", c.components_digitised),
                                     ("result_digitised", c.result_digitised)) if v is not None},
            } for c in dossier.history],
            "apologies": [{"issued_at": _iso(a.issued_at), "due_date": _iso(a.due_date), "new_date": _iso(a.new_date),
                           "by": a.by, "reason": a.reason} for a in dossier.apologies],
        }

    @staticmethod
    def appointment_at(profile: SiteProfile, day: date | None) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day, profile.appointment_time, tzinfo=profile.tz)

    # ---- slips (devices.layout view data) -------------------------------------------------
    def slip_view(self, code: str) -> SlipView:
        """Mẫu 01: what the counter printer prints after intake (QR = the tracking URL)."""
        with self.db.read() as conn:
            row = self._row(conn, code)
            profile = self.profile(conn, row.site)
            proc = self.procedure(conn, row.site, row.procedure_code)
            official = conn.execute(select(users.c.full_name).where(users.c.username == row.official)).scalar()
        if row.received_at is None:
            raise d.DossierError(f"dossier {code} was not received yet; no slip", code="not_received")
        return SlipView(
            centre=profile.name, dossier_code=row.code, procedure=proc["name_vi"], applicant=row.applicant_name,
            received_at=row.received_at.astimezone(profile.tz),
            appointment_at=self.appointment_at(profile, row.promised_date or row.due_date),
            official=official or row.official or "", track_url=f"{self.public_url}/t/{row.token}",
        )

    def apology_view(self, code: str) -> ApologyView:
        """Mẫu 04 (apology and request to extend) for the last apology recorded."""
        with self.db.read() as conn:
            row = self._row(conn, code)
            profile = self.profile(conn, row.site)
            proc = self.procedure(conn, row.site, row.procedure_code)
            last = conn.execute(
                select(dossier_apologies).where(dossier_apologies.c.dossier_id == row.id)
                .order_by(dossier_apologies.c.id.desc()).limit(1)
            ).first()
            signer = last and conn.execute(select(users.c.full_name).where(users.c.username == last.actor)).scalar()
        if last is None:
            raise NotFound(f"dossier {code} has no apology", code="no_apology")
        return ApologyView(
            centre=profile.name, dossier_code=row.code, procedure=proc["name_vi"], applicant=row.applicant_name,
            original_date=last.due_date, new_date=last.new_date, reason=last.reason, official=signer or last.actor,
            track_url=f"{self.public_url}/t/{row.token}",
            received_at=row.received_at.astimezone(profile.tz) if row.received_at else None,
        )


class StepsRefused(Exception):
    """``receive(steps=…)`` kept the new dossier (``view``) but the rules refused one of its steps
    (``error``, a ``DossierError``, also the ``__cause__``)."""

    def __init__(self, view: dict[str, Any], error: d.DossierError) -> None:
        super().__init__(str(error))
        self.view, self.error = view, error


def row_cutoff(row: Any) -> time | None:
    """The cut-off stored with a dossier row (None: the procedure had none)."""
    value = getattr(row, "cutoff", None)
    return time.fromisoformat(value) if value else None


def _local_iso(value: date | datetime | None, tz) -> str | None:
    """ISO 8601; a moment in the site's time zone with its offset (``2026-11-02T09:00:00+07:00``),
    whether it was just made (POST) or read back from the database, stored as UTC (GET)."""
    if isinstance(value, datetime):
        value = value.astimezone(tz)
    return None if value is None else value.isoformat()
