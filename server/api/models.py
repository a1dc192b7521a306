"""Request bodies. Strict: unknown fields are refused, so a typo is a 422 and not a silent default."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from server import privacy

NO_NUL = r"^[^\x00]*$"
"""Text a database can hold: PostgreSQL refuses a NUL character outright (that was a 500 there,
and a silent miss in SQLite), so every path segment and body string refuses it with a 422."""
PathKey = Path(min_length=1, max_length=40, pattern=NO_NUL)
"""A site or counter id in the path."""
PriorityName = Literal["elderly", "disabled", "pregnant", "infant", "merit"]
Id = Field(min_length=1, max_length=40, pattern=r"^[^+#/\s]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not hold a NUL character")
        return value


class Citizen(Strict):
    """What a ticket may carry about a person: a keyed hash of the CCCD number and a masked name.
    Both are checked here for shape; the route checks the hash's key (``server.privacy``)."""

    id_hash: str | None = Field(default=None, max_length=100)
    name_masked: str | None = Field(default=None, max_length=120)

    @field_validator("id_hash")
    @classmethod
    def _keyed(cls, value: str | None) -> str | None:
        return None if value is None else privacy.check_id_hash_shape(value)

    @field_validator("name_masked")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        return None if value is None else privacy.check_masked_name(value)


class TicketCreate(Strict):
    service: str = Id
    priority: PriorityName | None = None
    idempotency_key: str = Field(min_length=8, max_length=100)
    citizen: Citizen | None = None


class PauseBody(Strict):
    reason: str = Field(min_length=1, max_length=200)


class CallBody(Strict):
    ticket: str = Field(min_length=1, max_length=20)


class TransferBody(Strict):
    service: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[^+#/\s]+$")
    counter: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[^+#/\s]+$")


# -- dossiers, ratings ---------------------------------------------------------------------------
_DIGIT_RUN = re.compile(r"\d")


class DossierCreate(Strict):
    """Intake at the counter. The applicant's name is kept (it goes on the slip); an ID number is
    never asked for, and a name holding digits is refused so a CCCD cannot be pasted in."""

    ticket_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    procedure_code: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z.\-]+$")
    applicant_name: str = Field(min_length=1, max_length=120)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 .]{7,18}$")
    channel: Literal["direct", "online", "postal"] = "direct"
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=100)
    """Sent again with a retry (timeout, double Enter): the first dossier comes back, not a second."""
    components_digitised: bool | None = None
    """The official scanned the dossier's components at intake (Decision 766, 4.2). An online
    dossier says it when accepted (``/status`` to ``received``)."""

    @field_validator("applicant_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the applicant's name is empty")
        if _DIGIT_RUN.search(value):
            raise ValueError("a name holds no digits (never type an ID number here)")
        return value


class DossierStatusBody(Strict):
    """``note`` is internal (officials only); ``public_note`` is what the citizen's tracking page
    shows, masked by the server (without one, the page shows the status's standard sentence)."""

    status: str = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=500)
    public_note: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=500)
    """Why a supplement is asked a second time (required then: 422 second_supplement_needs_reason)."""
    paid_online: bool | None = None
    """Ending the fee step (``fee_due`` → ``processing``/``resolved``): was it paid online? (766, 3.6)"""
    components_digitised: bool | None = None
    """Accepting (→ ``received``): were the components digitised? (766, 4.2)"""
    result_digitised: bool | None = None
    """Resolving (→ ``resolved``): was the result digitised? (766, 4.1). Elsewhere: 422 fact_not_applicable."""


class ApologyBody(Strict):
    new_date: date
    reason: str = Field(min_length=1, max_length=500)


RatingName = Literal["very_satisfied", "satisfied", "not_satisfied"]


class RatingBody(Strict):
    rating: RatingName
    ticket_token: str | None = Field(default=None, min_length=1, max_length=100)
    """The ticket's own token (its QR): the citizen rating from a phone, without a device token."""
