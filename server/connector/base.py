"""The interface every one-stop system adapter implements, and the sync that drives it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from server.domain.dossiers import DossierStatus, external_moment
from server.domain.errors import DomainError
from server.storage import external_intake
from server.storage.dossier_store import DossierStore
from server.storage.tables import connector_deliveries, dossier_events, dossiers, sites

from . import national

log = logging.getLogger(__name__)
_BY_NATIONAL_CODE = {s.national_code: s for s in DossierStatus}


@dataclass(frozen=True)
class StatusUpdate:
    """A status change made in the other system, for a dossier we know by its code."""

    delivery_id: str
    code: str
    status: DossierStatus
    at: datetime
    note: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> "StatusUpdate":
        """From a webhook/pull payload; ``status`` is our name or the national code (2, 4, 9…)."""
        raw = data["status"]
        status = _BY_NATIONAL_CODE[int(raw)] if isinstance(raw, int) or str(raw).isdigit() else DossierStatus(raw)
        at = datetime.fromisoformat(data["at"])
        if at.tzinfo is None:
            raise ValueError("'at' needs a UTC offset")
        note = data.get("note")
        return cls(str(data["delivery_id"])[:80], str(data["code"])[:40], status, at, note)


class OneStopSystem(Protocol):
    name: str
    secret: str  # shared with the system; signs its webhooks

    def push(self, events: list[dict[str, Any]]) -> None:
        """Send our dossier events; raise to have them retried on the next round."""

    def pull(self) -> list[StatusUpdate]:
        """Status changes since the last pull (the system keeps the cursor)."""

    # Optional: ``pull_dossiers() -> list[dict]``, new and updated dossiers as national records
    # (``server.connector.national``), e.g. online applications from the public service portal.


class ConnectorSync:
    """Moves events both ways. Idempotent: a delivery id is applied once, an event pushed until
    the system accepted it."""

    def __init__(self, store: DossierStore, system: OneStopSystem, *, interval_s: float = 30.0,
                 site: str | None = None) -> None:
        self.store = store
        self.site = site  # where pulled dossiers go; None: the site whose agency code is MaDonVi, or the only one
        self.refused: list[dict[str, str]] = []  # the latest records refused (kept short), for operators
        self.db = store.db
        self.system = system
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Push and pull every ``interval_s`` in a background thread. While the system (or the
        internet) is unreachable, events stay unexported and are sent on a later round."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="connector-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sync_once()

    def sync_once(self) -> tuple[int, int]:
        """One round: (events pushed, changes applied). Failures are logged and retried next round."""
        pushed = applied = 0
        try:
            while (n := self.push_pending()) > 0:
                pushed += n
        except Exception:
            log.warning("connector %s: push failed; will retry", self.system.name, exc_info=True)
        try:
            applied = self.pull_once()
        except Exception:
            log.warning("connector %s: pull failed; will retry", self.system.name, exc_info=True)
        return pushed, applied

    def push_pending(self, limit: int = 200) -> int:
        e, d = dossier_events.c, dossiers.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(e.id, e.at, e.from_status, e.to_status, e.note, d.code, d.site, d.procedure_code, d.channel,
                       d.due_date)
                .join(dossiers, dossiers.c.id == e.dossier_id)
                .where(e.exported_at.is_(None), e.actor != f"connector:{self.system.name}")
                .order_by(e.id).limit(limit)
            ).all()
        if not rows:
            return 0
        self.system.push([{
            "event_id": r.id, "code": r.code, "site": r.site, "procedure_code": r.procedure_code,
            "channel": r.channel, "status": r.to_status, "national_code": DossierStatus(r.to_status).national_code,
            "at": r.at.isoformat(), "note": r.note, "due_date": r.due_date.isoformat() if r.due_date else None,
        } for r in rows])
        with self.db.write() as conn:
            conn.execute(update(dossier_events).where(dossier_events.c.id.in_([r.id for r in rows]))
                         .values(exported_at=datetime.now(timezone.utc)))
        return len(rows)

    def apply(self, change: StatusUpdate) -> bool:
        """Apply one incoming change; False when this delivery was applied before. The delivery is
        recorded only once the change succeeded, so a refused change can be sent again."""
        with self.db.read() as conn:
            if conn.execute(select(connector_deliveries.c.id)
                            .where(connector_deliveries.c.delivery_id == change.delivery_id)).first():
                return False
        # dated in the future → refused; dated before the last change or the intake → refused by
        # the domain: a refused change is logged (pull) or answered 422 (webhook), and the
        # official's own next change is never blocked by it
        at = external_moment(change.at, datetime.now(timezone.utc))
        # The portal decided a repeated supplement request already; its note is the reason we keep.
        self.store.change_status(change.code, change.status, actor=f"connector:{self.system.name}",
                                 note=change.note, now=at,
                                 reason=change.note or f"yêu cầu từ {self.system.name}")
        try:
            with self.db.write() as conn:
                conn.execute(insert(connector_deliveries).values(delivery_id=change.delivery_id,
                                                                 received_at=datetime.now(timezone.utc)))
        except IntegrityError:  # the same delivery raced in twice; the second change was refused anyway
            pass
        return True

    def pull_once(self) -> int:
        applied = self.pull_dossiers()
        for change in self.system.pull():
            try:
                applied += self.apply(change)
            except Exception:  # one bad change must not block the others; it is logged
                log.exception("connector: could not apply %s", change)
        return applied

    def pull_dossiers(self) -> int:
        """New and updated dossiers from the system; each bad record is refused with its reason
        (logged, kept in ``refused``) and never stops the others. Returns dossiers created."""
        pull = getattr(self.system, "pull_dossiers", None)
        if pull is None:
            return 0
        created = 0
        for record in pull():
            ref = str(record.get("MaHoSo")) if isinstance(record, dict) else "?"
            try:
                site = self._site_for(record)
                profile = self.store.profile_for(site)
                incoming = national.parse(record, tz=profile.tz, now=datetime.now(timezone.utc))
                _, new, _ = external_intake.intake(self.store, site, incoming,
                                                   actor=f"connector:{self.system.name}")
                created += new
            except (national.BadRecord, DomainError) as err:
                self._refuse(ref, getattr(err, "code", "invalid"), str(err))
            except Exception as err:  # noqa: BLE001 — one bad record must not block the others
                log.exception("connector: could not take dossier %s", ref)
                self._refuse(ref, "error", str(err))
        return created

    def _refuse(self, ref: str, code: str, message: str) -> None:
        log.warning("connector %s: dossier %s refused (%s): %s", self.system.name, ref, code, message)
        self.refused = [*self.refused[-99:], {"MaHoSo": ref, "code": code, "message": message}]

    def _site_for(self, record: Any) -> str:
        if self.site is not None:
            return self.site
        with self.db.read() as conn:
            rows = conn.execute(select(sites.c.id, sites.c.settings)).all()
        unit = record.get("MaDonVi") if isinstance(record, dict) else None
        for row in rows:
            if unit and self.store.profile_for(row.id).agency_code == unit:
                return row.id
        if len(rows) == 1:
            return rows[0].id
        raise national.BadRecord("unknown_unit", f"MaDonVi {unit!r} is not the agency code of any site here")
