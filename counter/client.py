"""The counter terminal's typed client for the server's HTTP API (``/api/v1``).

Every failure becomes one :class:`ServerError` with the server's stable ``code`` (or ``offline``
when the server cannot be reached), so the view-model only ever maps a code to a sentence.
Nothing is sent at construction; ``close()`` (or the context manager) ends the connection pool.
"""

from __future__ import annotations

from typing import Any

import httpx


class ServerError(Exception):
    """An answer other than 2xx, or no answer. ``code`` is the server's error code."""

    def __init__(self, code: str, message: str, status: int | None = None, details: dict | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status
        self.details = details or {}
        """The error's other fields, e.g. ``ticket`` on a ``counter_busy`` (the ticket at the counter)."""

    @property
    def retry(self) -> bool:
        """Worth trying again unchanged (network, server hiccup), as opposed to a refused action."""
        return self.code == "offline" or (self.status or 0) >= 500


class CounterClient:
    """One official at one counter of one site."""

    def __init__(self, server: str, site: str, counter: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.site, self.counter = site, counter
        self.token: str | None = None
        self.username: str | None = None
        self._http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CounterClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as err:
            raise ServerError("offline", str(err) or type(err).__name__) from err
        if response.is_success:
            return response
        details: dict = {}
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error.get("message", ""))
            details = {k: v for k, v in error.items() if k not in ("code", "message")}
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message = f"http_{response.status_code}", response.text[:200]
        raise ServerError(code, message, response.status_code, details)

    @property
    def _counter_path(self) -> str:
        return f"/api/v1/sites/{self.site}/counters/{self.counter}"

    # ---- session ----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> dict[str, Any]:
        self.token = None
        answer = self._request("POST", "/api/v1/auth/token", data={"username": username, "password": password})
        self.token, self.username = answer["access_token"], username
        return answer

    def logout(self) -> None:
        self.token = self.username = None

    # ---- the counter ------------------------------------------------------------------------
    def open(self) -> dict[str, Any]:
        return self._request("POST", f"{self._counter_path}/open")

    def pause(self, reason: str) -> dict[str, Any]:
        return self._request("POST", f"{self._counter_path}/pause", json={"reason": reason})

    def close_counter(self) -> dict[str, Any]:
        return self._request("POST", f"{self._counter_path}/close")

    def call_next(self) -> dict[str, Any]:
        return self._request("POST", f"{self._counter_path}/call-next")

    def call_ticket(self, number: str) -> dict[str, Any]:
        return self._request("POST", f"{self._counter_path}/call", json={"ticket": number})

    def counters(self) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v1/sites/{self.site}/counters")["counters"]

    def services(self) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v1/sites/{self.site}/services")["services"]

    def waiting(self) -> list[dict[str, Any]]:
        return self._request("GET", f"/api/v1/sites/{self.site}/tickets")["tickets"]

    # ---- a ticket ---------------------------------------------------------------------------
    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/tickets/{ticket_id}")

    def action(self, ticket_id: int, action: str) -> dict[str, Any]:
        """``recall``, ``start``, ``finish``, ``no-show``, ``park``, ``resume`` or ``cancel``."""
        return self._request("POST", f"/api/v1/tickets/{ticket_id}/{action}")

    def transfer(self, ticket_id: int, *, service: str | None = None, counter: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("service", service), ("counter", counter)) if v}
        return self._request("POST", f"/api/v1/tickets/{ticket_id}/transfer", json=body)

    # ---- dossiers ---------------------------------------------------------------------------
    def create_dossier(self, *, procedure_code: str, applicant_name: str, phone: str | None = None,
                       channel: str = "direct", ticket_id: int | None = None,
                       idempotency_key: str | None = None, components_digitised: bool | None = None) -> dict[str, Any]:
        body = {"procedure_code": procedure_code, "applicant_name": applicant_name, "channel": channel}
        body.update({k: v for k, v in (("phone", phone), ("ticket_id", ticket_id),
                                       ("idempotency_key", idempotency_key),
                                       ("components_digitised", components_digitised)) if v is not None})
        return self._request("POST", "/api/v1/dossiers", json=body)

    def dossier(self, code: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/dossiers/{code}")

    def dossier_status(self, code: str, status: str, note: str | None = None, **facts: bool | None) -> dict[str, Any]:
        """``facts``: the Decision 766 facts said with the change (``paid_online``,
        ``components_digitised``, ``result_digitised``); None ones are not sent."""
        body = {"status": status, **({"note": note} if note else {}),
                **{k: v for k, v in facts.items() if v is not None}}
        return self._request("POST", f"/api/v1/dossiers/{code}/status", json=body)

    def apology(self, code: str, new_date: str, reason: str) -> dict[str, Any]:
        return self._request("POST", f"/api/v1/dossiers/{code}/apology", json={"new_date": new_date, "reason": reason})

    def slip_png(self, code: str, form: str = "01", paper: int = 80) -> bytes:
        """The Mẫu 01 (intake) or 04 (apology) slip as the server renders it, PNG bytes."""
        params = {"form": form, "paper": paper}
        return self._send("GET", f"/api/v1/dossiers/{code}/slip.png", params=params).content
