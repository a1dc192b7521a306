"""``POST /api/v1/tickets/{id}/rating``: the citizen's satisfaction.

Only from the display of the counter that served the ticket (a display token bound to that counter
with ``motcua token issue --role display --counter N``) or with the ticket's own token in the body
(the QR on the slip, from the citizen's phone; no device token needed). A kiosk token, an official
or another counter's screen cannot rate: one kiosk token used to rate any finished ticket by
scanning ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from server.auth import Principal
from server.storage import ratings

from .deps import DbDep, optional_principal, run_write
from .errors import ApiError
from .models import RatingBody

router = APIRouter(prefix="/api/v1")


@router.post("/tickets/{ticket_id}/rating", status_code=201)
async def rate_ticket(ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: RatingBody, db: DbDep,
                      who: Annotated[Principal | None, Depends(optional_principal)]):
    if who is None and body.ticket_token is None:
        raise ApiError(401, "unauthorized", "rate with the ticket's own token (ticket_token) or from the display "
                       "of the counter that served it", {"WWW-Authenticate": "Bearer"})
    proof = ratings.RatingProof(ticket_token=body.ticket_token,
                                counter=who.counter if who is not None and who.role == "display" else None)
    return await run_write(db, ratings.rate, db, ticket_id, body.rating, actor=who.subject if who else "citizen",
                        site=who.site if who else None, proof=proof)
