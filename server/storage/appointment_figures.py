"""What the director sees about appointments and SMS (issue 13 part 5; docs/appointments.md).

Per service and day: booked (cancelled included), arrived, no-show, cancelled, not yet; tickets from
a check-in against all others; "your turn is near" and reminder SMS sent / failed / pending.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from .db import Database
from .tables import appointments, notices, services, tickets


def appointment_figures(db: Database, site: str, first: date, last: date) -> dict[str, Any]:
    """Per service and day: booked, arrived, no-show, cancelled; walk-in vs appointment
    tickets; notices (turn-is-near, reminders) sent / failed."""
    with db.read() as conn:
        rows = conn.execute(select(appointments.c.day, appointments.c.service, appointments.c.status,
                                   func.count()).where(appointments.c.site == site, appointments.c.day >= first,
                                                       appointments.c.day <= last)
                            .group_by(appointments.c.day, appointments.c.service, appointments.c.status)).all()
        booked: dict[tuple, dict[str, int]] = {}
        for day, service, status, count in rows:
            cell = booked.setdefault((day, service), {"booked": 0, "arrived": 0, "no_show": 0, "cancelled": 0,
                                                      "waiting": 0})
            cell["booked"] += count
            cell["waiting" if status == "booked" else status] += count
        is_booked = tickets.c.window_start.is_not(None)
        kinds = conn.execute(select(is_booked.label("booked"), tickets.c.remote, func.count()).where(
            tickets.c.site == site, tickets.c.day >= first, tickets.c.day <= last)
            .group_by(is_booked, tickets.c.remote)).all()
        by_kind = {"appointment": 0, "remote": 0, "walk_in": 0}  # booked / taken from a phone / at the kiosk
        for booked_ticket, remote, count in kinds:
            by_kind["appointment" if booked_ticket else "remote" if remote else "walk_in"] += count
        total = sum(by_kind.values())
        near = dict(conn.execute(select(notices.c.status, func.count()).where(
            notices.c.site == site, notices.c.day >= first, notices.c.day <= last)
            .group_by(notices.c.status)).all())
        reminders = dict(conn.execute(select(appointments.c.reminder, func.count()).where(
            appointments.c.site == site, appointments.c.day >= first,
            appointments.c.day <= last).group_by(appointments.c.reminder)).all())
        names = dict(conn.execute(select(services.c.id, services.c.name_vi).where(services.c.site == site)).all())
    failed = ("failed", "unknown", "dropped")
    totals = {k: sum(c[k] for c in booked.values()) for k in ("booked", "arrived", "no_show", "cancelled")}
    return {
        "site": site, "from": first.isoformat(), "to": last.isoformat(),
        "appointments": [{"day": d.isoformat(), "service": s, "service_name": names.get(s, s),
                          **{k: v for k, v in c.items() if k != "waiting"},
                          "not_yet": c["waiting"]} for (d, s), c in sorted(booked.items())],
        "totals": totals,
        "tickets": {**by_kind, "appointment_pct": round(100 * by_kind["appointment"] / total, 1) if total else None,
                    "remote_pct": round(100 * by_kind["remote"] / total, 1) if total else None},
        "notices": {"turn_near": {"sent": near.get("sent", 0), "failed": sum(near.get(k, 0) for k in failed),
                                  "pending": sum(near.get(k, 0) for k in ("pending", "sending", "handed"))},
                    "reminders": {"sent": reminders.get("sent", 0),
                                  "failed": sum(reminders.get(k, 0) for k in failed),
                                  "pending": sum(reminders.get(k, 0) for k in ("pending", "handed"))}},
    }
