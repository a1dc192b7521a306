"""Remote tickets over HTTP against a live server: joining (verified phone, walk-in share, phone
limit, off), checking in (kiosk scan, "Tôi đã đến" from the LAN, behind a proxy), and the call
that sets an absent remote ticket aside and calls the next walk-in in the same press."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo
import time
import uuid

import pytest
from sqlalchemy import select, update

from server.storage.db import Database
from server.storage.tables import sites, ticket_events, ticket_phones, tickets
from tests.support.live import LiveSite

PHONE = "0912 345 678"


def start(tmp_path, **settings) -> LiveSite:
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://", "notify_ahead": 1, **settings})
    return live.start()


@pytest.fixture
def site(tmp_path):
    live = start(tmp_path, remote_verify_phone=False, lan_networks="127.0.0.1/32")
    yield live
    live.stop()


def set_remote(live: LiveSite, remote: dict | None) -> None:
    db = Database(live.settings.database_url).open()
    try:
        with db.write() as conn:
            settings = json.loads(conn.execute(select(sites.c.settings).where(sites.c.id == "demo")).scalar())
            settings.pop("remote", None)
            if remote is not None:
                settings["remote"] = remote
            conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    finally:
        db.close()


def rows(live: LiveSite, stmt):
    db = Database(live.settings.database_url).open()
    try:
        with db.read() as conn:
            return conn.execute(stmt).all()
    finally:
        db.close()


def join(web, phone=PHONE, service="hotich", **extra):
    return web.post("/api/v1/sites/demo/remote-tickets",
                    json={"service": service, "phone": phone, "idempotency_key": f"r-{uuid.uuid4()}", **extra})


def walk_in(live: LiveSite) -> dict:
    with live.client("kiosk") as kiosk:
        r = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"w-{uuid.uuid4()}"})
        assert r.status_code == 201, r.text
        return r.json()


def error(r):
    return r.json()["error"]


def test_refused_clearly_when_off_share_used_or_phone_limit_reached_walk_ins_never(site):
    with site.client() as web:
        off = join(web, service="chungthuc")  # the demo opens only hotich to remote joining
        assert off.status_code == 409 and error(off)["code"] == "remote_off"
        assert error(off)["message"].startswith("Lĩnh vực này hiện không nhận lấy số từ xa.")
        assert [s["id"] for s in web.get("/api/v1/sites/demo/remote").json()["services"]] == ["hotich"]

        set_remote(site, {"per_phone_per_day": 2, "services": {"hotich": {"capacity": 6, "walk_in_share": 50}}})
        first = join(web, "0912000001")
        assert first.status_code == 201 and first.json()["number"] == "A001" and first.json()["remote"] == {
            "checked_in": False}
        again = web.post("/api/v1/sites/demo/remote-tickets", json={  # the same key: the same ticket
            "service": "hotich", "phone": "0912000001", "idempotency_key": "r-same-key-1"})
        replay = web.post("/api/v1/sites/demo/remote-tickets", json={
            "service": "hotich", "phone": "0912000001", "idempotency_key": "r-same-key-1"})
        assert again.status_code == 201 and replay.status_code == 200 and replay.json()["id"] == again.json()["id"]
        limit = join(web, "0912000001")
        assert limit.status_code == 409 and error(limit)["code"] == "phone_daily_limit"
        assert error(limit)["message"].startswith("Số điện thoại này đã lấy 2 số từ xa hôm nay, tối đa 2 số mỗi ngày.")
        third = join(web, "0912000002")
        assert third.status_code == 201  # 3 remote places: half of 6
        share = join(web, "0912000003")
        assert share.status_code == 409 and error(share)["code"] == "remote_share_full"
        assert "các chỗ còn lại dành cho người đến trực tiếp" in error(share)["message"]
        assert web.get("/api/v1/sites/demo/remote").json()["services"][0]["places_left"] == 0
        for _ in range(4):  # walk-ins are never refused, even past the capacity
            walk_in(site)
        set_remote(site, {"services": {"hotich": {"capacity": 7, "walk_in_share": 0}}})
        full = join(web, "0912000004")
        assert full.status_code == 409 and error(full)["code"] == "remote_day_full"
        set_remote(site, None)
        assert error(join(web, "0912000005"))["code"] == "remote_off"
        bad = join(web, "024 3912 3456")
        assert bad.status_code == 422 and error(bad)["code"] == "invalid_phone"
        page = web.get("/r/demo")
        assert page.status_code == 200 and "Trung tâm hiện không nhận lấy số từ xa" in page.text
    # the number is kept only in ticket_phones (SMS on), the daily limit counts a keyed hash
    phone_keys = {r.phone_key for r in rows(site, select(tickets.c.phone_key).where(tickets.c.remote))}
    assert len(phone_keys) == 2 and all(len(k) == 64 and "912" not in k for k in phone_keys)
    assert {r.phone for r in rows(site, select(ticket_phones.c.phone))} == {"+84912000001", "+84912000002"}


def test_absent_remote_ticket_set_aside_next_walk_in_called_then_kiosk_check_in(site):
    with site.client() as web:
        remote = join(web).json()
    walker = walk_in(site)
    official = site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")
    called = official.post("/api/v1/sites/demo/counters/1/call-next")
    assert called.status_code == 200 and called.json()["number"] == walker["number"] == "A002"
    with site.client() as web:
        state = web.get(f"/api/v1/track/{remote['token']}").json()
        assert state["status"] == "set_aside" and state["remote"] == {"checked_in": False}
    assert [r.action for r in rows(site, select(ticket_events.c.action).where(
        ticket_events.c.ticket_id == remote["id"]).order_by(ticket_events.c.id))] == ["issue", "set_aside"]
    official.post(f"/api/v1/tickets/{walker['id']}/start")
    empty = official.post("/api/v1/sites/demo/counters/1/call-next")
    assert empty.status_code == 409 and error(empty)["code"] == "queue_empty"

    anonymous = site.client().post("/api/v1/sites/demo/check-in", json={"token": remote["token"]})
    assert anonymous.status_code == 401
    with site.client("kiosk") as kiosk:
        checked = kiosk.post("/api/v1/sites/demo/check-in", json={"token": remote["token"]})
        assert checked.status_code == 200
        assert checked.json() == {"number": "A001", "status": "waiting", "remote": True, "checked_in": True,
                                  "changed": True, "back_in_line": True}
        twice = kiosk.post("/api/v1/sites/demo/check-in", json={"token": remote["token"]}).json()
        assert twice["changed"] is False and twice["checked_in"] is True
        walk = kiosk.post("/api/v1/sites/demo/check-in", json={"token": walker["token"]}).json()
        assert walk["remote"] is False and walk["changed"] is False
        unknown = kiosk.post("/api/v1/sites/demo/check-in", json={"token": "x" * 22})
        assert unknown.status_code == 404
    called = official.post("/api/v1/sites/demo/counters/1/call-next")
    assert called.status_code == 200 and called.json()["number"] == "A001"
    official.close()
    with site.client() as web:
        absent = join(web, "0912000009").json()  # a second one that never comes
    with site.client("canbo2") as other:
        other.post("/api/v1/sites/demo/counters/2/open")
        assert error(other.post("/api/v1/sites/demo/counters/2/call-next"))["code"] == "queue_empty"
    assert absent["number"] == "A003"
    day = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    with site.client("giamdoc") as manager:
        report = manager.get(f"/api/v1/sites/demo/reports/tickets?from={day}&to={day}").json()
    assert report["remote"] == {"issued": 2, "checked_in": 1, "set_aside": 1}


def test_remote_ticket_checked_in_before_its_turn_keeps_its_place(site):
    with site.client() as web:
        remote = join(web).json()
        walker = walk_in(site)
        r = web.post(f"/api/v1/track/{remote['token']}/check-in")  # "Tôi đã đến" from 127.0.0.1: the LAN here
        assert r.status_code == 200 and r.json()["back_in_line"] is False
    with site.client("canbo1") as official:
        official.post("/api/v1/sites/demo/counters/1/open")
        assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == "A001"
    assert walker["number"] == "A002"


def test_i_am_here_only_from_the_lan_and_behind_a_proxy_only_its_forwarded_client(tmp_path):
    live = start(tmp_path, remote_verify_phone=False, lan_networks="10.1.0.0/16", trusted_proxies="127.0.0.1")
    try:
        with live.client() as web:
            remote = join(web).json()
            url = f"/api/v1/track/{remote['token']}/check-in"
            bare = web.post(url)  # from the proxy itself, nobody forwarded: the real client is unknown
            assert bare.status_code == 403 and error(bare)["code"] == "not_on_site"
            assert error(bare)["message"].startswith("Chỉ xác nhận được khi điện thoại của bạn đang kết nối Wi-Fi")
            outside = web.post(url, headers={"X-Forwarded-For": "113.160.1.2"})
            assert outside.status_code == 403
            inside = web.post(url, headers={"X-Forwarded-For": "10.1.4.20"})
            assert inside.status_code == 200 and inside.json()["checked_in"] is True
            assert web.post("/api/v1/track/not-a-token/check-in").status_code == 404
    finally:
        live.stop()


def test_without_lan_ranges_i_am_here_is_refused_and_an_untrusted_forward_is_ignored(tmp_path):
    live = start(tmp_path, remote_verify_phone=False, lan_networks="10.1.0.0/16")
    try:
        with live.client() as web:
            remote = join(web).json()
            forged = web.post(f"/api/v1/track/{remote['token']}/check-in", headers={"X-Forwarded-For": "10.1.4.20"})
            assert forged.status_code == 403  # 127.0.0.1 is no trusted proxy: the header is not believed
    finally:
        live.stop()


def _code_for(live: LiveSite, phone: str) -> str:
    modem = live.app.state.notice_sender.notifier.modem
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for sms in reversed(modem.sent):
            if sms.to == phone and "Ma xac nhan" in sms.text:
                return re.search(r"\b(\d{6})\b", sms.text).group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code SMS to {phone}")


def test_a_verified_phone_is_required_by_default(tmp_path):
    live = start(tmp_path)
    try:
        with live.client() as web:
            assert web.get("/api/v1/sites/demo/remote").json()["verify"] is True
            bare = join(web)
            assert bare.status_code == 403 and error(bare)["code"] == "phone_not_verified"
            started = web.post("/api/v1/phone/verify/start", json={"phone": PHONE, "purpose": "remote"}).json()
            proof = web.post("/api/v1/phone/verify/confirm", json={
                "verification": started["verification"], "code": _code_for(live, "+84912345678")}).json()["proof"]
            r = web.post("/api/v1/sites/demo/remote-tickets", json={
                "service": "hotich", "proof": proof, "idempotency_key": "r-verified-1"})
            assert r.status_code == 201, r.text
            limit = web.post("/api/v1/sites/demo/remote-tickets", json={
                "service": "hotich", "proof": proof, "idempotency_key": "r-verified-2"})
            assert limit.status_code == 409 and error(limit)["code"] == "phone_daily_limit"
        assert [r.phone for r in rows(live, select(ticket_phones.c.phone))] == ["+84912345678"]
    finally:
        live.stop()


def test_no_sms_channel_means_no_verified_remote_tickets(tmp_path):
    live = LiveSite(tmp_path).start()  # no modem: phones cannot be verified
    try:
        with live.client() as web:
            r = web.post("/api/v1/sites/demo/remote-tickets", json={
                "service": "hotich", "proof": "x" * 30, "idempotency_key": "r-nosms-1"})
            assert r.status_code == 409 and error(r)["code"] == "remote_needs_sms"
            assert web.get("/api/v1/sites/demo/remote").json()["services"] == []
            assert "Trung tâm hiện không nhận lấy số từ xa" in web.get("/r/demo").text
            assert error(r)["message"].startswith("Trung tâm chưa bật nhắn tin")
    finally:
        live.stop()


def test_the_phone_hash_is_forgotten_after_its_day(site):
    from datetime import timedelta

    from server.storage.queue_rows import utcnow

    with site.client() as web:
        assert join(web).status_code == 201
    remote = site.app.state.remote
    assert remote.forget_phone_keys() == 0  # today's is still needed for the daily limit
    assert remote.forget_phone_keys(utcnow() + timedelta(days=1)) == 1
    assert [r.phone_key for r in rows(site, select(tickets.c.phone_key))] == [None]
