"""Simulated citizens and officials that drive a running server over HTTP (the demo's traffic).

It uses only the public API, exactly like a kiosk and counter terminals would.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid

import httpx

log = logging.getLogger(__name__)

NAMES = ["Lò Thị Mai", "Hồ Chừ Dung", "Nguyễn Văn An", "Quàng Văn Sơn", "Vàng A Páo", "Lường Thị Hoa",
         "Cà Văn Định", "Giàng Thị Dua", "Trần Thị Hương", "Mùa A Chang"]


class TrafficSimulator:
    def __init__(self, base_url: str, site: str, kiosk_token: str, official_tokens: dict[str, str],
                 *, seed: int | None = None, pace: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.site = site
        self.kiosk_token = kiosk_token
        self.official_tokens = official_tokens  # counter id → token
        self.random = random.Random(seed)
        self.pace = pace
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.issued = 0
        self.called = 0
        self.dossiers = 0
        self.last_track_url: str | None = None
        self._procedures: dict[str, list[str]] = {}

    def start(self) -> None:
        self._open_dossiers: list[str] = []
        self._threads = [threading.Thread(target=self._citizens, name="sim-citizens", daemon=True)]
        if self.official_tokens:
            self._threads.append(threading.Thread(target=self._back_office, name="sim-back-office", daemon=True))
        for counter in self.official_tokens:
            self._threads.append(threading.Thread(target=self._official, args=(counter,), daemon=True,
                                                  name=f"sim-counter-{counter}"))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def _sleep(self, low: float, high: float) -> bool:
        return self._stop.wait(self.random.uniform(low, high) * self.pace)

    def _citizens(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {self.kiosk_token}"}) as client:
            menu = client.get(f"/api/v1/sites/{self.site}/services").json()["services"]
            services = [s["id"] for s in menu]
            self._procedures = {s["id"]: [p["code"] for p in s["procedures"]] for s in menu}
            priorities = [None] * 8 + ["elderly", "pregnant", "disabled", "infant", "merit"]
            while not self._sleep(1.5, 4.0):
                body = {"service": self.random.choice(services), "idempotency_key": str(uuid.uuid4()),
                        "priority": self.random.choice(priorities)}
                try:
                    r = client.post(f"/api/v1/sites/{self.site}/tickets", json=body)
                    if r.status_code == 201:
                        self.issued += 1
                        self.last_track_url = r.json()["track_url"]
                except httpx.HTTPError as err:
                    log.warning("simulated kiosk: %s", err)

    def _back_office(self) -> None:
        """Dossiers move on: processing, sometimes a supplement, then result ready and returned."""
        token = next(iter(self.official_tokens.values()))
        steps = {"received": ["processing"], "processing": ["resolved", "resolved", "supplement_requested"],
                 "supplement_requested": ["processing"], "resolved": ["returned"]}
        notes = {"supplement_requested": "Thiếu bản sao giấy tờ tùy thân"}
        with httpx.Client(base_url=self.base_url, timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
            while not self._sleep(3, 8):
                if not self._open_dossiers:
                    continue
                code = self.random.choice(self._open_dossiers)
                try:
                    current = client.get(f"/api/v1/dossiers/{code}").json().get("status")
                    nxt = self.random.choice(steps.get(current, [None]))
                    if nxt is None:
                        self._open_dossiers.remove(code)
                        continue
                    # a repeated supplement request must say why (the rules allow one)
                    client.post(f"/api/v1/dossiers/{code}/status", json={
                        "status": nxt, "note": notes.get(nxt),
                        "reason": "Giấy tờ bổ sung lần trước chưa hợp lệ" if nxt == "supplement_requested" else None})
                except (httpx.HTTPError, ValueError) as err:
                    log.warning("simulated back office: %s", err)

    def _official(self, counter: str) -> None:
        token = self.official_tokens[counter]
        base = f"/api/v1/sites/{self.site}/counters/{counter}"
        with httpx.Client(base_url=self.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            try:
                client.post(f"{base}/open")
            except httpx.HTTPError:
                return
            while not self._stop.is_set():
                try:
                    r = client.post(f"{base}/call-next")
                    if r.status_code != 200:
                        self._sleep(2, 5)
                        continue
                    self.called += 1
                    ticket = r.json()
                    if self._sleep(2, 5):
                        return
                    if self.random.random() < 0.1:
                        client.post(f"/api/v1/tickets/{ticket['id']}/recall")
                        if self._sleep(3, 5):
                            return
                    if self.random.random() < 0.05:
                        client.post(f"/api/v1/tickets/{ticket['id']}/no-show")
                        continue
                    client.post(f"/api/v1/tickets/{ticket['id']}/start")
                    procedures = self._procedures.get(ticket["service"])
                    if procedures and self.random.random() < 0.7:  # most visits leave a dossier
                        r = client.post("/api/v1/dossiers", json={
                            "ticket_id": ticket["id"], "procedure_code": self.random.choice(procedures),
                            "applicant_name": self.random.choice(NAMES), "channel": "direct"})
                        if r.status_code == 201:
                            self.dossiers += 1
                            self._open_dossiers.append(r.json()["code"])
                    if self._sleep(8, 25):
                        return
                    client.post(f"/api/v1/tickets/{ticket['id']}/finish")
                except httpx.HTTPError as err:
                    log.warning("simulated counter %s: %s", counter, err)
                    self._sleep(2, 4)
