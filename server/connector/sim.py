"""An in-memory one-stop system: records what we push, queues changes for pull, and builds
signed webhook requests exactly as a real system would send them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from .base import StatusUpdate
from .signing import DELIVERY_HEADER, HEADER, sign


class SimOneStop:
    name = "sim"

    def __init__(self, secret: str, *, fail_pushes: int = 0) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self._pending: list[StatusUpdate] = []
        self._dossiers: list[dict[str, Any]] = []  # national records waiting to be pulled
        self.fail_pushes = fail_pushes  # scripted fault: the next N pushes raise

    def push(self, events: list[dict[str, Any]]) -> None:
        if self.fail_pushes > 0:
            self.fail_pushes -= 1
            raise ConnectionError("sim one-stop system: push refused (scripted fault)")
        self.received.extend(events)

    def pull(self) -> list[StatusUpdate]:
        pending, self._pending = self._pending, []
        return pending

    def submit(self, record: dict[str, Any]) -> dict[str, Any]:
        """A dossier filed or updated in the other system (a national record, see
        ``server.connector.national``); queued for ``pull_dossiers``."""
        self._dossiers.append(record)
        return record

    def pull_dossiers(self) -> list[dict[str, Any]]:
        pending, self._dossiers = self._dossiers, []
        return pending

    def change(self, code: str, status: str | int, note: str | None = None, at: datetime | None = None) -> dict:
        """A status change made by an official in the other system; queued for pull."""
        payload = {"delivery_id": str(uuid.uuid4()), "code": code, "status": status,
                   "at": (at or datetime.now(timezone.utc)).isoformat(), "note": note}
        self._pending.append(StatusUpdate.parse(payload))
        return payload

    def webhook(self, payload: dict, *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers of the webhook the system would POST for ``payload``."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, {HEADER: sign(self.secret, body, timestamp), DELIVERY_HEADER: payload["delivery_id"],
                      "Content-Type": "application/json"}
