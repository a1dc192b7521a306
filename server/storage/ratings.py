"""Satisfaction ratings: one per finished ticket, tied to its dossier (if any) and its official."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from server.domain.errors import DomainError, NotFound

from . import journal
from .db import Database
from .tables import dossiers, ticket_ratings, tickets

RATINGS = ("very_satisfied", "satisfied", "not_satisfied")
LABELS_VI = {"very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng", "not_satisfied": "Không hài lòng"}


class AlreadyRated(DomainError):
    code = "already_rated"


class NotFinished(DomainError):
    code = "ticket_not_finished"


class NotYourTicket(DomainError):
    code = "rating_not_allowed"
    kind = "forbidden"


@dataclass(frozen=True)
class RatingProof:
    """Who may rate a ticket: whoever holds its own token (the QR on the slip), or the display of
    the counter that served it. Anything else (a kiosk scanning ids, another counter's screen) may not."""

    ticket_token: str | None = None
    counter: str | None = None  # the rating display's own counter

    def admits(self, ticket_token: str, served_at: str | None) -> bool:
        if self.ticket_token and secrets.compare_digest(self.ticket_token.encode(), ticket_token.encode()):
            return True
        return self.counter is not None and served_at is not None and self.counter == served_at


def rate(db: Database, ticket_id: int, rating: str, *, actor: str, site: str | None,
         now: datetime | None = None, proof: RatingProof | None = None) -> dict[str, Any]:
    """Record the citizen's rating. ``site`` (the device's or official's) must match the ticket's;
    with a ``proof`` (every HTTP request has one) it must admit the ticket."""
    if rating not in RATINGS:
        raise DomainError(f"rating must be one of {', '.join(RATINGS)}", code="invalid_rating")
    now = now or datetime.now(timezone.utc)
    try:
        with db.write() as conn:
            t = conn.execute(select(tickets.c.id, tickets.c.site, tickets.c.day, tickets.c.status, tickets.c.official,
                                    tickets.c.service, tickets.c.token, tickets.c.counter)
                             .where(tickets.c.id == ticket_id)).first()
            if t is None or (site is not None and t.site != site):
                raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
            if proof is not None and not proof.admits(t.token, t.counter):
                raise NotYourTicket(f"ticket {ticket_id} may be rated only with its own QR code or on the display "
                                    "of the counter that served it")
            if t.status != "done":
                raise NotFinished(f"ticket {ticket_id} is not finished ({t.status}); rate after the service")
            if conn.execute(select(ticket_ratings.c.id).where(ticket_ratings.c.ticket_id == ticket_id)).first():
                raise AlreadyRated(f"ticket {ticket_id} was already rated")
            dossier_id = conn.execute(select(dossiers.c.id).where(dossiers.c.ticket_id == ticket_id)
                                      .order_by(dossiers.c.id).limit(1)).scalar()
            values = dict(ticket_id=ticket_id, site=t.site, day=t.day, rating=rating, dossier_id=dossier_id,
                          official=t.official, service=t.service, rated_at=now, actor=actor)
            conn.execute(insert(ticket_ratings).values(**values))
            dossier_code = conn.execute(select(dossiers.c.code).where(dossiers.c.id == dossier_id)).scalar() \
                if dossier_id is not None else None
            journal.record(conn, t.site, "rating", {
                "ticket": ticket_id, "day": t.day.isoformat(), "rating": rating, "dossier": dossier_code,
                "official": t.official, "service": t.service, "actor": actor}, now)
    except IntegrityError:  # a concurrent rating of the same ticket committed first
        raise AlreadyRated(f"ticket {ticket_id} was already rated") from None
    return {**{k: v for k, v in values.items() if k not in ("day", "rated_at")}, "rated_at": now.isoformat(),
            "label_vi": LABELS_VI[rating]}
