"""The phone form's API on a live site with the simulated modem: clear refusals, masked answers,
the tracking JSON's "near", and the SMS going out in-process."""

from __future__ import annotations

import time

import pytest

from tests.support.live import LiveSite


@pytest.fixture
def notify_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://", "notify_ahead": 1})
    live.start()
    yield live
    live.stop()


def _issue(site, count):
    with site.client("kiosk") as kiosk:
        return [kiosk.post("/api/v1/sites/demo/tickets",
                           json={"service": "hotich", "idempotency_key": f"api-notice-{i:03d}"}).json()
                for i in range(count)]


@pytest.mark.parametrize("phone", ["02439123456", "12345", "0912 345 67a", "+1 650 253 0000"])
def test_a_number_that_is_not_a_vietnamese_mobile_is_a_clear_422(notify_site, phone):
    mine = _issue(notify_site, 1)[0]
    with notify_site.client() as public:
        r = public.post(f"/api/v1/track/{mine['token']}/phone", json={"phone": phone})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_phone"
    assert error["message"].startswith("Số điện thoại di động Việt Nam gồm 10 chữ số")


def test_bad_bodies_and_tokens_are_never_500(notify_site):
    with notify_site.client() as public:
        assert public.post("/api/v1/track/" + "x" * 22 + "/phone", json={"phone": "0912345678"}).status_code == 404
        assert public.post("/api/v1/track/short/phone", json={"phone": "0912345678"}).status_code == 404
        mine = _issue(notify_site, 1)[0]
        for body in ({}, {"phone": 912345678}, {"phone": "0" * 41}, []):
            r = public.post(f"/api/v1/track/{mine['token']}/phone", json=body)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        assert public.delete("/api/v1/track/" + "y" * 22 + "/phone").status_code == 404


def test_attach_near_and_the_sms_goes_out(notify_site):
    first, second, third = _issue(notify_site, 3)
    with notify_site.client() as public:
        r = public.post(f"/api/v1/track/{third['token']}/phone", json={"phone": "0912 345 678"})
        assert r.status_code == 200 and r.json() == {"phone": "091* *** 678", "ahead_n": 1, "notice": None}
        state = public.get(f"/api/v1/track/{third['token']}").json()
        assert state["notify"] == {"phone": "091* *** 678", "ahead_n": 1, "notice": None, "near": False, "sms": True}
        assert "912345678" not in public.get(f"/t/{third['token']}").text
        official = notify_site.client("canbo1")
        official.post("/api/v1/sites/demo/counters/1/open")
        official.post("/api/v1/sites/demo/counters/1/call-next")  # A003 is now 1 behind A002
        modem = notify_site.app.state.notice_sender.notifier.modem
        deadline = time.monotonic() + 10
        while not modem.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(s.to, s.text[:44]) for s in modem.sent] == [("+84912345678", "So A003: sap den luot. Con 1 nguoi truoc ban")]
        state = public.get(f"/api/v1/track/{third['token']}").json()
        assert state["notify"]["near"] is True and state["notify"]["notice"] in ("handed", "sent")
        # the second ticket has no phone: its page shows the banner all the same
        assert public.get(f"/api/v1/track/{second['token']}").json()["notify"]["near"] is True
        r = public.delete(f"/api/v1/track/{third['token']}/phone")
        assert r.status_code == 200 and r.json()["phone"] is None


def test_without_a_modem_the_form_is_refused_and_hidden(site):
    mine = _issue(site, 1)[0]
    with site.client() as public:
        r = public.post(f"/api/v1/track/{mine['token']}/phone", json={"phone": "0912345678"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "notifications_off"
        assert public.get(f"/api/v1/track/{mine['token']}").json()["notify"]["sms"] is False
        assert 'id="sms-form"' not in public.get(f"/t/{mine['token']}").text
