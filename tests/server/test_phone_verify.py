"""Phone verification by one-time SMS code (issue 13 part 4), against a live server with the
modem simulator: the code arrives by SMS, wrong guesses are counted and lock the code, codes are
stored only hashed, sends are limited per phone, per client address and for the whole centre."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.domain import phone_verify as pv
from server.storage.db import Database
from server.storage.queue_rows import utcnow
from server.storage.tables import phone_codes
from tests.support.live import LiveSite


@pytest.fixture
def sms_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://"})
    live.start()
    yield live
    live.stop()


def _code_for(site: LiveSite, phone: str) -> str:
    modem = site.app.state.notice_sender.notifier.modem
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for sms in reversed(modem.sent):
            if sms.to == phone and "Ma xac nhan" in sms.text:
                return re.search(r"\b(\d{6})\b", sms.text).group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code SMS to {phone}: {[s.text for s in modem.sent]}")


def test_code_by_sms_then_proof(sms_site):
    with sms_site.client() as web:
        r = web.post("/api/v1/phone/verify/start", json={"phone": "0912 345 678", "purpose": "booking"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["phone"] == "091* *** 678" and "0912345678" not in r.text
        code = _code_for(sms_site, "+84912345678")
        sms = sms_site.app.state.notice_sender.notifier.modem.sent[-1].text
        assert sms.startswith(f"Ma xac nhan cua ban: {code}.") and len(sms) <= 160 and sms.isascii()

        db = Database(sms_site.settings.database_url).open()
        try:
            with db.read() as conn:
                row = conn.execute(select(phone_codes)).one()
            assert code not in " ".join(str(v) for v in row)  # only the HMAC is kept
        finally:
            db.close()

        wrong = "000000" if code != "000000" else "111111"
        r = web.post("/api/v1/phone/verify/confirm", json={"verification": body["verification"], "code": wrong})
        assert r.status_code == 422 and r.json()["error"]["code"] == "wrong_code"
        assert r.json()["error"]["message"].startswith("Mã không đúng. Bạn còn 4 lần thử.")

        r = web.post("/api/v1/phone/verify/confirm", json={"verification": body["verification"], "code": code})
        assert r.status_code == 200, r.text
        proof = r.json()["proof"]
        assert sms_site.app.state.phone_verify.phone_for_proof(proof, "booking") == "+84912345678"
        with pytest.raises(Exception) as refused:
            sms_site.app.state.phone_verify.phone_for_proof(proof, "remote")
        assert refused.value.code == "phone_not_verified"

        r = web.post("/api/v1/phone/verify/confirm", json={"verification": body["verification"], "code": code})
        assert r.status_code == 422 and r.json()["error"]["code"] == "code_used"


def test_guessing_locks_the_code(sms_site):
    with sms_site.client() as web:
        v = web.post("/api/v1/phone/verify/start", json={"phone": "0987654321"}).json()["verification"]
        code = _code_for(sms_site, "+84987654321")
        guesses = [f"{(int(code) + k) % 1_000_000:06d}" for k in range(1, 6)]
        answers = [web.post("/api/v1/phone/verify/confirm", json={"verification": v, "code": g}) for g in guesses]
        assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
        assert answers[-1].json()["error"]["code"] == "too_many_guesses"
        assert "Bạn đã nhập sai quá nhiều lần" in answers[-1].json()["error"]["message"]
        r = web.post("/api/v1/phone/verify/confirm", json={"verification": v, "code": code})
        assert r.status_code == 429  # the right code no longer opens a locked verification
        r = web.post("/api/v1/phone/verify/confirm", json={"verification": "made-up", "code": code})
        assert r.status_code == 422 and r.json()["error"]["code"] == "code_expired"


def test_send_limits_per_phone_and_address(sms_site):
    with sms_site.client() as web:
        assert web.post("/api/v1/phone/verify/start", json={"phone": "0912000001"}).status_code == 200
        again = web.post("/api/v1/phone/verify/start", json={"phone": "0912000001"})
        assert again.status_code == 429 and again.json()["error"]["code"] == "code_just_sent"
        assert "Vui lòng chờ" in again.json()["error"]["message"] and int(again.headers["Retry-After"]) > 0
        for i in range(2, pv.SENDS_PER_ADDRESS + 1):
            r = web.post("/api/v1/phone/verify/start", json={"phone": f"09120000{i:02d}"})
            assert r.status_code == 200, r.text
        flood = web.post("/api/v1/phone/verify/start", json={"phone": "0912000099"})
        assert flood.status_code == 429 and flood.json()["error"]["code"] == "too_many_requests"
        assert flood.json()["error"]["message"].startswith("Có quá nhiều yêu cầu gửi mã")
        sent = [s.to for s in sms_site.app.state.notice_sender.notifier.modem.sent]
        assert len(sent) == pv.SENDS_PER_ADDRESS and "+84912000099" not in sent
        bad = web.post("/api/v1/phone/verify/start", json={"phone": "024 3912 3456"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_phone"


def test_per_phone_hourly_limit_and_sweep(sms_site):
    store = sms_site.app.state.phone_verify
    t0 = utcnow()
    for k in range(pv.SENDS_PER_PHONE):
        store.start("0909111222", "booking", f"10.0.0.{k}", now=t0 + timedelta(minutes=2 * k))
    with pytest.raises(pv.RateLimited) as refused:
        store.start("0909111222", "booking", "10.0.0.9", now=t0 + timedelta(minutes=10))
    assert refused.value.code == "too_many_codes"
    store.start("0909111222", "booking", "10.0.0.9", now=t0 + timedelta(minutes=70))  # the hour has passed
    assert store.sweep(now=t0 + timedelta(hours=3)) > 0
    db = Database(sms_site.settings.database_url).open()
    try:
        with db.read() as conn:
            assert conn.execute(select(phone_codes.c.phone).where(phone_codes.c.phone.is_not(None))).all() == []
    finally:
        db.close()


def test_without_sms_verification_is_refused_clearly(tmp_path):
    live = LiveSite(tmp_path).start()
    try:
        with live.client() as web:
            r = web.post("/api/v1/phone/verify/start", json={"phone": "0912345678"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "sms_unavailable"
        assert r.json()["error"]["message"].startswith("Trung tâm chưa bật nhắn tin")
    finally:
        live.stop()


def test_phone_limit_rule():
    pv.check_phone_limit(1, 2)
    with pytest.raises(pv.PhoneLimit) as refused:
        pv.check_phone_limit(2, 2)
    assert refused.value.message.startswith("Số điện thoại này đã có 2 lịch hẹn, tối đa 2.")
