"""Request bodies. Strict: unknown fields are refused, so a typo is a 422 and not a silent default."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PriorityName = Literal["elderly", "disabled", "pregnant", "infant", "merit"]
Id = Field(min_length=1, max_length=40, pattern=r"^[^+#/\s]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Citizen(Strict):
    """What a ticket may carry about a person: a keyed hash of the CCCD number and a masked name."""

    id_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    name_masked: str | None = Field(default=None, max_length=120)


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
