"""A citizen books on their phone, comes to the centre and is called ahead of walk-ins (issue 13).

Headless Chromium at 390×844 books a slot on /hen/demo: the code arrives through the modem
simulator, the booking page refuses a wrong code in Vietnamese, the confirmation page shows a QR;
the QR is decoded with zbar from the page's screenshot and handed to a real kiosk window (Kivy,
offscreen) as its reader would, which prints a ticket; the counter then calls that ticket before
the three walk-ins who came earlier. A second booking for tomorrow gets its reminder by SMS the
evening before. No CSP violation on any page. Screenshots go to tests/_artifacts/appointments/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from tests.support.appointments import TZ, local_now, open_days, slot_around_now, sms_to
from tests.support.live import LiveSite

playwright_api = pytest.importorskip("playwright.sync_api")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "appointments"
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def booking_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://"})
    live.start()
    yield live
    live.stop()


@pytest.fixture
def citizen(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="vi-VN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _code(site, phone: str, after: int) -> str:
    return re.search(r"\b(\d{6})\b", sms_to(site, phone, "Ma xac nhan", after).text).group(1)


def test_book_on_phone_check_in_at_kiosk_called_ahead_of_walk_ins(booking_site, citizen):
    site, page = booking_site, citizen
    expect = playwright_api.expect
    today = local_now().date()
    tomorrow = today + timedelta(days=1)
    open_days(site, today, tomorrow)
    slot = slot_around_now(3)
    manager = site.client("giamdoc")
    assert manager.put("/api/v1/sites/demo/appointment-plans/hotich", json={
        "slots": [slot], "dates": {tomorrow.isoformat(): [{"start": "09:00", "end": "10:00", "capacity": 2}]},
    }).status_code == 200
    with site.client("kiosk") as kiosk:
        walk_ins = [kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich",
                                                                     "idempotency_key": f"walk-in-{i}-aaaa"}).json()
                    for i in range(3)]
    modem = site.app.state.notice_sender.notifier.modem

    # --- book tomorrow 09:00 first (for the reminder), verifying the phone ---------------------
    page.goto(f"{site.base_url}/hen/demo")
    expect(page.locator("h1.page-title")).to_have_text("Đặt lịch hẹn")
    page.tap("button.svc[data-service=hotich]")
    page.tap(f"button.slot[data-day='{tomorrow.isoformat()}'][data-start='09:00']")
    page.fill("#phone", "0912 345 678")
    sent_before = len(modem.sent)
    page.tap("#send-code")
    expect(page.locator("#masked")).to_have_text("091* *** 678")
    code = _code(site, "+84912345678", sent_before)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.fill("#code", wrong)
    page.tap("#confirm-code")
    expect(page.locator("#error")).to_have_text("Mã không đúng. Bạn còn 4 lần thử.")
    page.fill("#code", code)
    page.tap("#confirm-code")
    expect(page.locator("#verified-phone")).to_have_text("091* *** 678")
    page.screenshot(path=str(ARTIFACTS / "01-booking-form.png"), full_page=True)
    page.tap("#book")
    page.wait_for_url(re.compile(r"/a/[A-Za-z0-9_-]+$"))
    expect(page.locator("#status")).to_have_text("Đã đặt lịch")
    expect(page.locator("#when")).to_have_text("09:00–10:00")

    # --- then today's slot, on the same verification (kept for this tab) -----------------------
    page.goto(f"{site.base_url}/hen/demo")
    expect(page.locator("#verified-phone")).to_have_text("091* *** 678")
    expect(page.locator("#mine-list li")).to_have_count(1)
    page.tap("button.svc[data-service=hotich]")
    page.tap(f"button.slot[data-day='{today.isoformat()}'][data-start='{slot['start']}']")
    page.tap("#book")
    page.wait_for_url(re.compile(r"/a/[A-Za-z0-9_-]+$"))
    expect(page.locator("#when")).to_have_text(f"{slot['start']}–{slot['end']}")
    expect(page.locator("#qr")).to_be_visible()
    page.wait_for_function("document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0")
    shot = ARTIFACTS / "02-confirmation.png"
    page.screenshot(path=str(shot), full_page=True)
    token = page.url.rsplit("/a/", 1)[1]
    decoded = [d.data.decode() for d in decode(Image.open(shot))]
    assert decoded == [f"{site.base_url}/a/{token}"]
    assert page.evaluate("window.__violations") == []

    # --- the reminder for tomorrow, the evening before (today 16:05) ---------------------------
    sent_before = len(modem.sent)
    assert site.app.state.appointments.send_due_reminders(now=datetime.combine(today, time(16, 5), TZ)) == 1
    reminder = sms_to(site, "+84912345678", "Nhac lich hen", sent_before)
    assert f"luc 09:00 ngay {tomorrow:%d/%m/%Y}" in reminder.text

    # --- at the centre: the QR shown to a real kiosk window ------------------------------------
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    env.pop("DISPLAY", None)
    (ARTIFACTS / "checkin.json").unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "tests.kiosk.checkin_driver", site.base_url, site.tokens["kiosk"],
                           "1080", "1920", str(ARTIFACTS), decoded[0]],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    result = json.loads((ARTIFACTS / "checkin.json").read_text("utf-8"))
    assert result["errors"] == [] and result.get("ok"), (result["errors"], proc.stderr[-2000:])
    assert result["shown_number"] == "A004"
    assert f"Bạn có lịch hẹn lúc {slot['start']}: trong khung giờ hẹn, bạn được gọi trước." in result["shown"]
    assert "Số người chờ trước bạn: 0" in result["shown"]  # the three walk-ins come after
    assert result["print_problem"] is None and result["ticket"]["track_url"].encode() in \
        (ARTIFACTS / "checkin-printer.bin").read_bytes()

    page.reload()
    expect(page.locator("#status")).to_have_text("Đã đến, đã lấy số")
    expect(page.locator("#ticket")).to_have_text("A004")

    # --- the counter calls the booked citizen before the three walk-ins ------------------------
    official = site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")
    order = []
    for _ in range(4):
        called = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        order.append(called["number"])
        official.post(f"/api/v1/tickets/{called['id']}/start")
    assert order == ["A004"] + [w["number"] for w in walk_ins]
    assert page.evaluate("window.__violations") == []


def test_director_sees_booked_arrived_no_show_share_and_notices(booking_site, browser):
    """Part 5: the report JSON and the dashboard's "Lịch hẹn và tin nhắn" section."""
    from tests.support.appointments import verify

    site = booking_site
    expect = playwright_api.expect
    today = local_now().date()
    open_days(site, today)
    manager = site.client("giamdoc")
    slot = slot_around_now(4)
    manager.put("/api/v1/sites/demo/appointment-plans/hotich", json={"slots": [slot]})
    web = site.client()
    booked = []
    for phone_text, phone in (("0912 000 001", "+84912000001"), ("0912 000 002", "+84912000002"),
                              ("0912 000 003", "+84912000003")):
        proof = verify(site, web, phone_text, phone)
        r = web.post("/api/v1/sites/demo/appointments", json={
            "service": "hotich", "day": today.isoformat(), "start": slot["start"], "proof": proof})
        assert r.status_code == 201, r.text
        booked.append(r.json()["token"])
    web.post(f"/api/v1/appointments/{booked[2]}/cancel")
    with site.client("kiosk") as kiosk:
        kiosk.post("/api/v1/sites/demo/appointments/check-in", json={"token": booked[0]})
        for i in range(3):
            kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"walk-{i}-dddd"})
    # one citizen joins the line from their phone (docs/remote.md)
    r = web.post("/api/v1/sites/demo/remote-tickets", json={
        "service": "hotich", "idempotency_key": "remote-0001-dddd",
        "proof": verify(site, web, "0912 000 009", "+84912000009", purpose="remote")})
    assert r.status_code == 201, r.text
    whole = manager.get(f"/api/v1/sites/demo/reports/tickets?from={today}&to={today}").json()
    report, remote = whole["appointments"], whole["remote"]
    assert report["totals"] == {"booked": 3, "arrived": 1, "no_show": 0, "cancelled": 1}
    assert report["tickets"] == {"appointment": 1, "remote": 1, "walk_in": 3, "appointment_pct": 20.0,
                                 "remote_pct": 20.0}
    assert remote == {"issued": 1, "checked_in": 0, "set_aside": 0}
    assert report["notices"] == {"turn_near": {"sent": 0, "failed": 0, "pending": 0},
                                 "reminders": {"sent": 0, "failed": 0, "pending": 0}}

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{site.base_url}/dashboard/demo")
    page.locator("input[name=username]").fill("giamdoc")
    page.locator("input[name=password]").fill("motcua-test")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.get_by_role("button", name="Hôm nay", exact=True).click()
    expect(page.locator("#ap-booked")).to_have_text("3")
    expect(page.locator("#ap-arrived")).to_have_text("1")
    expect(page.locator("#ap-cancelled")).to_have_text("1")
    expect(page.locator("#ap-share")).to_have_text("20%")
    expect(page.locator("#ap-kinds")).to_have_text("có hẹn 1 · từ xa 1 · tại kiosk 3")
    expect(page.locator("#ap-by-day tbody tr")).to_have_count(1)
    expect(page.locator("#rm-issued")).to_have_text("1")  # the remote tickets' tile
    expect(page.locator("#rm-sub")).to_have_text("đã có mặt 0 · để sang bên 0")
    expect(page.locator("#ap-by-day tbody td").nth(1)).to_have_text("Hộ tịch")
    page.locator("#appointments").screenshot(path=str(ARTIFACTS / "03-dashboard-appointments.png"))
    assert page.evaluate("window.__violations") == []
    context.close()
