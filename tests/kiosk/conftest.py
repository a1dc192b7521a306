"""Kiosk fixtures: a controller on a live site with a sim printer, a fake clock, a flaky proxy."""

from __future__ import annotations

import pytest

from devices.printer import open_printer
from kiosk.client import KioskClient
from kiosk.flow import KioskController
from kiosk.state import Timeouts

KEY = b"test-kiosk-key"
CCCD = "001190012345|012345678|Lò Thị Mai|01021990|Nữ|Bản Phăng, Mường Phăng, Điện Biên|15082021"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Deferred:
    """A ``run`` that keeps jobs until the test runs them: a tap can arrive mid-request."""

    def __init__(self) -> None:
        self.jobs = []

    def __call__(self, job, done) -> None:
        self.jobs.append((job, done))

    def run_all(self) -> None:
        while self.jobs:
            job, done = self.jobs.pop(0)
            done(job())


class Recorder:
    def __init__(self) -> None:
        self.reports = []

    def printer(self, ok: bool, detail: str) -> None:
        self.reports.append((ok, detail))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_vm(site, clock):
    made = []

    def make(printer: str = "sim://", server: str | None = None, timeout: float = 5.0, **kwargs):
        client = KioskClient(server or site.base_url, site.tokens["kiosk"], "demo", timeout=timeout).open()
        kwargs.setdefault("retry_delays", (0.5, 1.0))
        kwargs.setdefault("sleep", lambda _s: None)
        kwargs.setdefault("timeouts", Timeouts(idle=60, ticket=12, ticket_unprinted=45, track=15, help=90))
        vm = KioskController(client, open_printer(printer), id_key=KEY, clock=clock, **kwargs)
        made.append(vm)
        vm.start()
        return vm

    yield make
    for vm in made:
        vm.client.close()


def waiting(site, service: str = "hotich") -> int:
    """Tickets waiting in a service, as the server counts them."""
    with site.client() as http:
        queues = http.get("/api/v1/sites/demo/queues").json()["queues"]
    return next(q["waiting"] for q in queues if q["service"] == service)


def official_list(site) -> list[dict]:
    with site.client("canbo1") as http:
        response = http.get("/api/v1/sites/demo/tickets")
        response.raise_for_status()
        return response.json()["tickets"]


def walk_to_priority(vm, service: str = "hotich", card: str | None = None) -> None:
    vm.choose_service(service)
    if card is not None:
        vm.scan_text(card)
    vm.continue_()
