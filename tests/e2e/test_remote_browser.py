"""A citizen's phone (headless Chromium at 390×844) takes a remote ticket, and the kiosk checks it in.

* Join from the phone with a code received through the modem simulator; the call that makes the
  ticket n-th shows the "turn is near" banner and sends the SMS; when its turn comes before it
  checked in it is set aside while the next walk-in is called; "Tôi đã đến" (the centre's LAN)
  puts it back at the end of the line, and it is called.
* The page's QR, read with zbar from the phone's screenshot, scanned at a real kiosk window (Kivy
  offscreen): "Đã xác nhận có mặt", then the ticket is called.
* Refused on the page, in Vietnamese: joining off, the walk-in share used up, the phone's limit.

Screenshots go to tests/_artifacts/remote/.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from tests.server.test_remote_api import set_remote
from tests.support.live import LiveSite

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "remote"
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def live_site(tmp_path, **settings) -> LiveSite:
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://", "notify_ahead": 1,
                                                     "lan_networks": "127.0.0.1/32", **settings})
    return live.start()


@pytest.fixture
def site(tmp_path):
    live = live_site(tmp_path)
    yield live
    live.stop()


@pytest.fixture
def watched(phone):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.add_init_script(WATCH_CSP)
    return phone


def sms_to(live: LiveSite, number: str, contains: str, timeout: float = 10) -> list[str]:
    modem = live.app.state.notice_sender.notifier.modem
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [s.text for s in modem.sent if s.to == number and contains in s.text]
        if texts:
            return texts
        time.sleep(0.05)
    raise AssertionError(f"no SMS with {contains!r} to {number}: {[s.text for s in modem.sent]}")


def walk_in(live: LiveSite) -> dict:
    with live.client("kiosk") as kiosk:
        return kiosk.post("/api/v1/sites/demo/tickets", json={
            "service": "hotich", "idempotency_key": f"walk-{time.monotonic_ns()}"}).json()


def test_join_on_a_phone_banner_and_sms_set_aside_then_i_am_here(site, watched):
    page, expect = watched, playwright_api.expect
    first, second = walk_in(site), walk_in(site)  # A001, A002 are in the hall
    page.goto(f"{site.base_url}/r/demo")
    expect(page.locator("#join h2")).to_have_text("Lấy số thứ tự từ xa")
    assert page.locator("input[name=service]").count() == 1  # only hotich is open to remote joining
    page.fill("#join-phone", "0912 345 678")
    page.tap("#code-send")
    expect(page.locator("#code-step")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", sms_to(site, "+84912345678", "Ma xac nhan")[0]).group(1)
    page.fill("#join-code", code)
    page.screenshot(path=str(ARTIFACTS / "01-join.png"), full_page=True)
    page.tap("#join-send")
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))
    expect(page.locator("#number")).to_have_text("A003")
    expect(page.locator("#remote h2")).to_have_text("Số lấy từ xa")
    expect(page.locator("#checkin")).to_have_text("Tôi đã đến")
    expect(page.locator("#near")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "02-remote-ticket.png"), full_page=True)
    behind = walk_in(site)  # A004 arrives at the kiosk after the phone joined

    official = site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")

    def call_next() -> dict:
        ticket = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        assert official.post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
        return ticket

    assert call_next()["number"] == first["number"]
    expect(page.locator("#near")).to_be_visible()  # one person (A002) before A003: n = 1
    expect(page.locator("#near .near-title")).to_have_text("Sắp đến lượt bạn!")
    [near_sms] = sms_to(site, "+84912345678", "sap den luot")
    assert near_sms.startswith("So A003: sap den luot.")
    page.screenshot(path=str(ARTIFACTS / "03-turn-is-near.png"), full_page=True)

    assert call_next()["number"] == second["number"]
    called = call_next()
    assert called["number"] == behind["number"] == "A004"  # A003 is not here: set aside, A004 called
    expect(page.locator("#status")).to_have_text(
        "Đã qua lượt vì bạn chưa xác nhận có mặt. Hãy xác nhận để vào lại cuối hàng.")
    expect(page.locator("#near")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "04-set-aside.png"), full_page=True)

    page.tap("#checkin")  # from 127.0.0.1, the centre's LAN in this test
    expect(page.locator("#remote-ok")).to_have_text("✔ Đã xác nhận có mặt")
    expect(page.locator("#checkin")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("Đang chờ đến lượt")
    again = official.post("/api/v1/sites/demo/counters/1/call-next").json()
    assert again["number"] == "A003"
    expect(page.locator("#status")).to_contain_text("Mời bạn đến quầy")
    page.screenshot(path=str(ARTIFACTS / "05-called.png"), full_page=True)
    assert page.evaluate("window.__violations") == []
    official.close()


def test_i_am_here_off_the_lan_is_refused_in_vietnamese(tmp_path, watched):
    live = live_site(tmp_path, lan_networks="10.9.0.0/16", remote_verify_phone=False)
    try:
        with live.client() as web:
            ticket = web.post("/api/v1/sites/demo/remote-tickets", json={
                "service": "hotich", "phone": "0912345678", "idempotency_key": "r-offlan-1"}).json()
        watched.goto(ticket["track_url"])
        watched.tap("#checkin")
        playwright_api.expect(watched.locator("#checkin-error")).to_contain_text(
            "Chỉ xác nhận được khi điện thoại của bạn đang kết nối Wi-Fi của trung tâm")
        playwright_api.expect(watched.locator("#remote-ok")).to_be_hidden()
    finally:
        live.stop()


def run_kiosk_scan(live: LiveSite, text: str) -> dict:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    env.pop("DISPLAY", None)
    result_file = ARTIFACTS / "remote_scan_result.json"
    result_file.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "tests.kiosk.remote_scan_driver", live.base_url, live.tokens["kiosk"],
                           str(ARTIFACTS), text], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result_file.exists(), proc.stderr[-3000:]
    result = json.loads(result_file.read_text("utf-8"))
    assert result["errors"] == [] and result.get("ok"), (result["errors"], proc.stderr[-2000:])
    return result


def test_the_page_qr_scanned_at_a_real_kiosk_window_checks_in_and_the_ticket_is_called(tmp_path, watched):
    live = live_site(tmp_path, lan_networks="", remote_verify_phone=False)
    try:
        page = watched
        page.goto(f"{live.base_url}/r/demo")
        page.fill("#join-phone", "0987 654 321")
        page.tap("#join-send")
        page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))
        playwright_api.expect(page.locator("#remote-qr")).to_be_visible()
        shot = page.locator("#remote-qr").screenshot(path=str(ARTIFACTS / "06-page-qr.png"))
        [symbol] = decode(Image.open(io.BytesIO(shot)))
        scanned = symbol.data.decode()
        assert scanned == page.url  # the QR is the page's own address
        walker = walk_in(live)

        result = run_kiosk_scan(live, scanned)
        assert result["screen"] == "track" and result["notice"] == "track.checked_in"
        assert "Đã xác nhận có mặt. Xin mời chờ gọi số." in result["lines"]
        assert result["track"]["number"] == "A001" and result["track"]["remote"] == {"checked_in": True}
        playwright_api.expect(page.locator("#remote-ok")).to_be_visible()  # the phone sees it too

        with live.client("canbo1") as official:
            official.post("/api/v1/sites/demo/counters/1/open")
            assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == "A001"
        playwright_api.expect(page.locator("#status")).to_contain_text("Mời bạn đến quầy")
        assert walker["number"] == "A002"
    finally:
        live.stop()


def test_refusals_on_the_join_page_are_in_vietnamese(tmp_path, watched):
    live = live_site(tmp_path, remote_verify_phone=False)
    page, expect = watched, playwright_api.expect
    try:
        set_remote(live, {"per_phone_per_day": 1, "services": {"hotich": {"capacity": 4, "walk_in_share": 50}}})
        page.goto(f"{live.base_url}/r/demo")
        expect(page.locator(".service-choice small")).to_contain_text("còn 2 số từ xa")
        page.fill("#join-phone", "0912 000 001")
        page.tap("#join-send")
        page.wait_for_url(re.compile(r"/t/"))

        page.goto(f"{live.base_url}/r/demo")  # the same phone again
        page.fill("#join-phone", "0912 000 001")
        page.tap("#join-send")
        expect(page.locator("#join-error")).to_have_text(
            "Số điện thoại này đã lấy 1 số từ xa hôm nay, tối đa 1 số mỗi ngày.")
        page.screenshot(path=str(ARTIFACTS / "07-phone-limit.png"), full_page=True)

        page.fill("#join-phone", "0912 000 002")
        page.tap("#join-send")
        page.wait_for_url(re.compile(r"/t/"))
        page.goto(f"{live.base_url}/r/demo")
        page.fill("#join-phone", "0912 000 003")
        page.tap("#join-send")
        expect(page.locator("#join-error")).to_have_text(
            "Đã hết số lấy từ xa hôm nay; các chỗ còn lại dành cho người đến trực tiếp. Bạn vẫn có thể đến trung tâm "
            "và lấy số tại ki-ốt.")
        page.screenshot(path=str(ARTIFACTS / "08-share-used.png"), full_page=True)

        set_remote(live, {"services": {}})
        page.goto(f"{live.base_url}/r/demo")
        expect(page.locator("#join-off")).to_have_text(
            "Trung tâm hiện không nhận lấy số từ xa. Vui lòng đến trung tâm và lấy số tại ki-ốt.")
        page.screenshot(path=str(ARTIFACTS / "09-off.png"), full_page=True)
        assert page.evaluate("window.__violations") == []
    finally:
        live.stop()
