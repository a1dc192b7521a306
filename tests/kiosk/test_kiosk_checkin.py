"""The kiosk's view-model checks a remote ticket in when its page's QR is scanned (live server)."""

from __future__ import annotations

import pytest

from tests.support.live import LiveSite


@pytest.fixture
def site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"remote_verify_phone": False})
    live.start()
    yield live
    live.stop()


def remote_ticket(site) -> dict:
    with site.client() as web:
        r = web.post("/api/v1/sites/demo/remote-tickets",
                     json={"service": "hotich", "phone": "0912345678", "idempotency_key": "r-kiosk-0001"})
        assert r.status_code == 201, r.text
        return r.json()


def test_scanning_a_remote_ticket_checks_it_in_and_says_so(site, make_vm):
    ticket = remote_ticket(site)
    vm = make_vm()
    vm.scan_text(ticket["track_url"])
    assert vm.state.screen == "track" and vm.state.notice == "track.checked_in"
    assert vm.state.track["remote"] == {"checked_in": True} and vm.state.track["number"] == "A001"
    vm.scan_text(ticket["track_url"])  # again: still "checked in", nothing changes on the server
    assert vm.state.notice == "track.checked_in"


def test_a_set_aside_ticket_scanned_goes_back_in_line_and_a_walk_in_ticket_is_just_shown(site, make_vm):
    ticket = remote_ticket(site)
    vm = make_vm()
    walk = vm.client.issue_ticket({"service": "hotich", "idempotency_key": "k-walk-00001"})[0]
    with site.client("canbo1") as official:
        official.post("/api/v1/sites/demo/counters/1/open")
        assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == walk["number"]
    vm.scan_text(ticket["track_url"])
    assert vm.state.notice == "track.back_in_line" and vm.state.track["status"] == "waiting"
    vm.go_home()
    vm.scan_text(walk["track_url"])
    assert vm.state.screen == "track" and vm.state.notice is None and vm.state.track["status"] == "called"
