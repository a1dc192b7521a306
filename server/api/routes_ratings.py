"""``POST /api/v1/tickets/{id}/rating``: the citizen's satisfaction, from the display, kiosk or counter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from server.auth import Principal
from server.storage import ratings

from .deps import require
from .models import RatingBody

router = APIRouter(prefix="/api/v1")
Rater = Annotated[Principal, Depends(require("display", "kiosk", "official", "manager"))]


@router.post("/tickets/{ticket_id}/rating", status_code=201)
def rate_ticket(ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: RatingBody, request: Request, who: Rater):
    return ratings.rate(request.app.state.db, ticket_id, body.rating, actor=who.subject, site=who.site)
