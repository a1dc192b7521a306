"""Abuse of the booking path, against a live server with the modem simulator: bulk bookings from
one phone, guessing codes, a booking flood from one client. Each is refused with a Vietnamese
sentence, and walk-in tickets at the kiosk keep coming out, numbered without a gap."""

from __future__ import annotations

import pytest

from server.domain import phone_verify as pv
from tests.support.appointments import local_now, open_days, slot_around_now, verify
from tests.support.live import LiveSite


@pytest.fixture
def site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://", "rate_limit_per_minute": 30})
    live.start()
    open_days(live, local_now().date())
    assert live.client("giamdoc").put("/api/v1/sites/demo/appointment-plans/hotich", json={
        "slots": [slot_around_now(50)], "per_phone": 2}).status_code == 200
    yield live
    live.stop()


def _walk_in(kiosk, i: int) -> str:
    r = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"walk-{i:03d}-aaaa"})
    assert r.status_code == 201, r.text
    return r.json()["number"]


def test_bulk_bookings_guessing_and_a_flood_are_refused_walk_ins_unaffected(site):
    kiosk = site.client("kiosk")
    numbers = [_walk_in(kiosk, 0)]
    web = site.client()
    body = {"service": "hotich", "day": local_now().date().isoformat(), "start": slot_around_now(50)["start"]}

    # bulk bookings from one phone: the third is refused
    proof = verify(site, web, "0912 345 678", "+84912345678")
    answers = [web.post("/api/v1/sites/demo/appointments", json={**body, "proof": proof}) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 409, 409, 409]
    assert answers[2].json()["error"]["message"].startswith("Số điện thoại này đã có 2 lịch hẹn, tối đa 2.")
    numbers.append(_walk_in(kiosk, 1))

    # guessing: five wrong codes lock the code; asking again at once is refused; the sends are capped
    v = web.post("/api/v1/phone/verify/start", json={"phone": "0987 654 321"}).json()["verification"]
    guesses = [web.post("/api/v1/phone/verify/confirm", json={"verification": v, "code": f"{n:06d}"})
               for n in range(100000, 100006)]
    assert [g.status_code for g in guesses][-1] == 429
    assert guesses[-1].json()["error"]["message"].startswith("Bạn đã nhập sai quá nhiều lần")
    again = web.post("/api/v1/phone/verify/start", json={"phone": "0987 654 321"})
    assert again.status_code == 429 and again.json()["error"]["message"].startswith("Mã vừa được gửi.")
    numbers.append(_walk_in(kiosk, 2))

    # a flood of bookings from one client: the per-client limit answers 429 in Vietnamese
    flood = [web.post("/api/v1/sites/demo/appointments", json={**body, "proof": f"forged-proof-{n}"})
             for n in range(40)]
    codes = [f.status_code for f in flood]
    assert set(codes) == {403, 429} and codes[-1] == 429
    limited = next(f for f in flood if f.status_code == 429)
    assert limited.json()["error"]["message"].startswith("Bạn gửi quá nhiều yêu cầu.")
    assert int(limited.headers["Retry-After"]) >= 1
    forged = next(f for f in flood if f.status_code == 403)
    assert forged.json()["error"]["message"].startswith("Phiên xác nhận số điện thoại đã hết hạn.")
    for i in range(3, 13):
        numbers.append(_walk_in(kiosk, i))
    assert numbers == [f"A{n:03d}" for n in range(1, 14)]  # walk-ins: every one issued, no gap

    # and nothing the flood sent reached anyone: only the two codes asked for went out
    sent = site.app.state.notice_sender.notifier.modem.sent
    assert [s.to for s in sent] == ["+84912345678", "+84987654321"]
    assert pv.SENDS_PER_PHONE == 3  # the hourly cap the docs state
