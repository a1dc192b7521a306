"""The privacy rule at the API's edge (see ``server.privacy``): the kiosk's ID key, the check of
a ticket's ``id_hash`` against it, and masking of free text on public routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from server import privacy
from server.auth import Principal

from .deps import require
from .errors import ApiError
from .models import Citizen

router = APIRouter(prefix="/api/v1")
Kiosk = Annotated[Principal, Depends(require("kiosk"))]


def verifier(request: Request) -> privacy.IdHashVerifier:
    return request.app.state.id_hashes


@router.get("/kiosk/id-key")
def kiosk_id_key(request: Request, who: Kiosk):
    """The site's CCCD hashing key, for kiosks only: every kiosk hashes the same number the same
    way, the number itself never leaves the kiosk, and the server can check each hash."""
    key = verifier(request).key
    return {"key": key.decode(), "key_id": verifier(request).key_id, "scheme": "v1"}


def verified_id_hash(request: Request, citizen: Citizen | None) -> str | None:
    """The digest to store for a ticket's ``citizen.id_hash``, or a 422 saying why not."""
    if citizen is None or citizen.id_hash is None:
        return None
    try:
        return verifier(request).verify(citizen.id_hash)
    except privacy.IdHashRefused as err:
        raise ApiError(422, "invalid_id_hash", str(err)) from None


def public_counters(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public counter list: an official's pause reason may hold a number or a name."""
    return [{**r, "pause_reason": privacy.mask_public_text(r.get("pause_reason"))} for r in rows]
