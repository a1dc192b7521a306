"""The kiosk's only way to the server: HTTP, with errors that say whether to retry.

One attempt per call; the retry policy (same idempotency key, back-off, when to send the citizen
to the reception desk) lives in :mod:`kiosk.flow`, where tests can drive it step by step.
"""

from __future__ import annotations

from typing import Any

import httpx


class ServerError(Exception):
    """Base of the kiosk client's errors. ``retryable``: the same request may work later."""

    retryable = False

    def __init__(self, message: str, code: str = "server.error", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class ServerUnreachable(ServerError):
    """No answer (connection refused, timeout, 5xx). Retry with the same idempotency key."""

    retryable = True


class ServerRefused(ServerError):
    """The server answered no (bad token, bad request, unknown site). Retrying will not help."""


class TrackUnavailable(ServerError):
    """The server has no tracking endpoint, or not this token."""


class KioskClient:
    """A thin typed client. ``open()`` creates the connection pool; nothing happens before."""

    def __init__(self, base_url: str, token: str, site: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.site = site
        self.timeout = timeout
        self._http: httpx.Client | None = None

    def open(self) -> KioskClient:
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self.token}"})
        return self

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> KioskClient:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        if self._http is None:
            raise RuntimeError("KioskClient.open() was not called")
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as err:
            raise ServerUnreachable(f"server timed out: {err}", code="server.timeout") from err
        except httpx.TransportError as err:
            raise ServerUnreachable(f"server unreachable: {err}", code="server.unreachable") from err
        if response.status_code >= 500:
            raise ServerUnreachable(f"server error {response.status_code}", code="server.failed",
                                    status=response.status_code)
        return response

    @staticmethod
    def _refused(response: httpx.Response) -> ServerRefused:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        code = error.get("code", "server.refused") if isinstance(error, dict) else "server.refused"
        return ServerRefused(f"server refused ({response.status_code}): {error.get('message', '')}",
                             code=code, status=response.status_code)

    def services(self) -> dict[str, Any]:
        """The kiosk menu: ``{"site": {...}, "services": [{id, prefix, name_vi, name_en, icon, procedures}]}``."""
        response = self._request("GET", f"/api/v1/sites/{self.site}/services")
        if response.status_code != 200:
            raise self._refused(response)
        return response.json()

    def issue_ticket(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """One POST; returns (ticket view, created). ``created`` is False for a replayed key."""
        response = self._request("POST", f"/api/v1/sites/{self.site}/tickets", json=body)
        if response.status_code not in (200, 201):
            raise self._refused(response)
        return response.json(), response.status_code == 201

    def check_in(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """A booked citizen's QR (``{"token"}``) or card (``{"citizen": {"id_hash"}}``) → (ticket, created)."""
        response = self._request("POST", f"/api/v1/sites/{self.site}/appointments/check-in", json=body)
        if response.status_code not in (200, 201):
            raise self._refused(response)
        return response.json(), response.status_code == 201

    def track(self, token: str) -> dict[str, Any]:
        response = self._request("GET", f"/api/v1/track/{token}")
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404:
            refused = self._refused(response)
            raise TrackUnavailable("no tracking for this token", code=refused.code, status=404)
        raise self._refused(response)

    def check_in_remote(self, token: str) -> dict[str, Any]:
        """A scanned ticket QR: the server checks a remote ticket in (a walk-in one is left as it is).
        → ``{number, status, remote, checked_in, changed, back_in_line}``."""
        response = self._request("POST", f"/api/v1/sites/{self.site}/check-in", json={"token": token})
        if response.status_code == 200:
            return response.json()
        if response.status_code in (404, 405):  # no such ticket, or a server without remote tickets
            refused = self._refused(response)
            raise TrackUnavailable("no check-in for this token", code=refused.code, status=response.status_code)
        raise self._refused(response)
