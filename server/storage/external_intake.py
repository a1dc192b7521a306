"""Dossiers that arrive from elsewhere — pulled from the one-stop system, imported from a
centre's old register — entered as if keyed in, each step at its own date.

Idempotent by the other system's code: the first arrival creates the dossier (``idempotency_key``
``ext:<code>``), a later one only moves it on to the status the record has reached (accepted,
resolved, returned, refused, withdrawn). Steps already taken are skipped, so re-pulling or
re-importing adds nothing. Intermediate statuses (processing, fee due…) carry no date in the
national record and are not replayed.
"""

from __future__ import annotations

from typing import Any, Protocol

from server.domain.dossiers import DossierStatus

from .dossier_store import DossierStore, StepsRefused

NOTE = "Theo hệ thống một cửa điện tử"


class Incoming(Protocol):
    external_id: str
    procedure_code: str
    applicant_name: str
    phone: str | None
    channel: str
    status: str
    submitted_at: Any
    accepted_at: Any
    ended_at: Any
    returned_at: Any


def steps(record: Incoming) -> list[tuple[str, Any]]:
    """(status, moment) the dossier must go through after intake, in order."""
    out: list[tuple[str, Any]] = []
    if record.channel == "online" and record.accepted_at is not None:
        out.append(("received", record.accepted_at))
    if record.status in ("refused", "withdrawn"):
        out.append((record.status, record.ended_at))
    elif record.status in ("resolved", "returned"):
        out.append(("resolved", record.ended_at))
        if record.status == "returned":
            out.append(("returned", record.returned_at))
    return out


def intake(store: DossierStore, site: str, record: Incoming, *, actor: str) -> tuple[str, bool, int]:
    """→ (dossier code, created, steps applied). Raises the domain's errors (unknown procedure,
    out of order…) for the caller to report; what was done before stays done.

    A new dossier is opened with all its steps in one transaction (one write instead of one per
    step: what makes an import of a whole register fast); one already held only takes the steps
    it has not been through yet, each as a change of its own."""
    opened_at = record.submitted_at if record.channel == "online" else (record.accepted_at or record.submitted_at)
    todo = steps(record)
    try:
        view, created = store.receive(site=site, procedure_code=record.procedure_code,
                                      applicant_name=record.applicant_name, channel=record.channel, actor=actor,
                                      phone=record.phone, external_id=record.external_id,
                                      idempotency_key=f"ext:{record.external_id}", now=opened_at,
                                      steps=tuple(todo), steps_note=NOTE)
    except StepsRefused as refused:
        raise refused.error from None
    code, status = view["code"], DossierStatus(view["status"])
    if created:
        return code, True, len(view["history"]) - 1
    done = {h["to"] for h in view["history"]}
    applied = 0
    for target, at in todo:
        if target in done or (target == "received" and status is not DossierStatus.SUBMITTED):
            continue
        view = store.change_status(code, target, actor=actor, note=NOTE, now=at, site=site)
        done.add(target)
        status = DossierStatus(view["status"])
        applied += 1
    return code, created, applied
