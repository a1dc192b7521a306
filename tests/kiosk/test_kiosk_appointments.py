"""The kiosk's view-model with booked citizens, against a live site with the modem simulator:
a tapped CCCD that booked for today gives the booked ticket (printed, its line on the screen); a
card without an appointment goes on as before; a cancelled appointment's QR is refused in
Vietnamese and the kiosk stays home."""

from __future__ import annotations

import pytest

from devices.printer import open_printer
from kiosk.client import KioskClient
from kiosk.flow import KioskController, appointment_token
from kiosk.present import present
from tests.support.appointments import local_now, open_days, slot_around_now, verify
from tests.support.live import LiveSite

from .conftest import CCCD, KEY

OTHER_CARD = "001190099999|012399999|Vàng A Páo|01021980|Nam|Bản Phăng, Mường Phăng, Điện Biên|15082021"


@pytest.fixture
def booked_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://"})
    live.start()
    open_days(live, local_now().date())
    slot = slot_around_now(4)
    live.client("giamdoc").put("/api/v1/sites/demo/appointment-plans/hotich", json={"slots": [slot]})
    web = live.client()
    proof = verify(live, web, "0912 345 678", "+84912345678")
    body = {"service": "hotich", "day": local_now().date().isoformat(), "start": slot["start"], "proof": proof}
    live.booked = web.post("/api/v1/sites/demo/appointments", json={**body, "cccd": "001190012345"}).json()
    live.cancelled = web.post("/api/v1/sites/demo/appointments", json=body).json()
    web.post(f"/api/v1/appointments/{live.cancelled['token']}/cancel")
    yield live
    live.stop()


@pytest.fixture
def vm(booked_site, clock):
    client = KioskClient(booked_site.base_url, booked_site.tokens["kiosk"], "demo").open()
    controller = KioskController(client, open_printer("sim://"), id_key=KEY, clock=clock, retry_delays=())
    controller.start()
    yield controller
    client.close()


def test_card_of_a_booked_citizen_gives_the_booked_ticket(booked_site, vm):
    vm.scan_text(OTHER_CARD)  # no appointment: greeted, the usual flow goes on
    assert vm.state.screen == "home" and vm.state.greeting == "Vàng A Páo"
    vm.go_home()
    vm.scan_text(CCCD)  # Lò Thị Mai booked with this CCCD
    assert vm.state.screen == "ticket"
    ticket = vm.state.ticket
    assert ticket["number"] == "A001" and ticket["appointment"]["start"] == booked_site.booked["start"]
    shown = present(vm)
    assert f"Bạn có lịch hẹn lúc {booked_site.booked['start']}" in shown.texts["rules"]
    assert ticket["track_url"].encode() in vm.printer.backend.output
    with booked_site.client() as web:
        assert web.get(f"/api/v1/appointments/{booked_site.booked['token']}").json()["status"] == "arrived"


def test_cancelled_appointment_qr_is_refused_and_the_kiosk_stays_home(booked_site, vm):
    assert appointment_token(booked_site.cancelled["url"]) == booked_site.cancelled["token"]
    vm.scan_text(booked_site.cancelled["url"])
    assert vm.state.screen == "home" and vm.state.notice == "appointment.appointment_cancelled"
    assert present(vm).notice == "Lịch hẹn này đã hủy. Xin mời lấy số như thường."
    vm.scan_text(booked_site.base_url + "/a/NotARealToken123")
    assert vm.state.notice == "appointment.not_found"
