"""A citizen's phone (headless Chromium at 390×844): leaves a number on the tracking page, is
refused clearly for a landline, then sees the "turn is near" banner when a call makes them n-th —
with no CSP violation (the page's scripts and styles are files, not inline).

Screenshots go to tests/_artifacts/notify/ for a human to look at.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.live import LiveSite

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "notify"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def notify_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://", "notify_ahead": 1})
    live.start()
    yield live
    live.stop()


@pytest.fixture
def phone():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="vi-VN")
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


def test_phone_field_then_turn_is_near_banner_on_a_phone(notify_site, phone):
    expect = playwright_api.expect
    problems = []
    phone.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    with notify_site.client("kiosk") as kiosk:
        issued = [kiosk.post("/api/v1/sites/demo/tickets",
                             json={"service": "hotich", "idempotency_key": f"near-{i}-aaaa"}).json() for i in range(3)]
    mine = issued[2]
    official = notify_site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")

    phone.goto(mine["track_url"])
    expect(phone.locator("#number")).to_have_text("A003")
    expect(phone.locator("#near")).to_be_hidden()
    expect(phone.locator("#sms h2")).to_have_text("Nhắn tin khi sắp đến lượt")
    phone.fill("#sms-phone", "024 3912 3456")  # a landline: refused in Vietnamese, on the page
    phone.tap("#sms-send")
    expect(phone.locator("#sms-error")).to_contain_text("Số điện thoại di động Việt Nam gồm 10 chữ số")
    phone.fill("#sms-phone", "0912 345 678")
    phone.tap("#sms-send")
    expect(phone.locator("#sms-masked")).to_have_text("091* *** 678")
    expect(phone.locator("#sms-error")).to_be_hidden()
    expect(phone.locator("#sms-form")).to_be_hidden()
    phone.screenshot(path=str(ARTIFACTS / "01-phone-left.png"), full_page=True)

    official.post("/api/v1/sites/demo/counters/1/call-next")  # A001 called: A003 has 1 before it
    expect(phone.locator("#near")).to_be_visible()
    expect(phone.locator("#near .near-title")).to_have_text("Sắp đến lượt bạn!")
    assert phone.locator("#near").get_attribute("data-alerted") in ("vibrate", "sound", "vibrate sound", "banner")
    assert phone.title().startswith("🔔 ")
    box = phone.locator("#near").bounding_box()
    assert box["y"] < 200 and box["width"] > 300  # at the top, across the phone's width
    phone.screenshot(path=str(ARTIFACTS / "02-turn-is-near.png"), full_page=True)

    modem = notify_site.app.state.notice_sender.notifier.modem
    deadline = time.monotonic() + 10
    while not modem.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [s.to for s in modem.sent] == ["+84912345678"]
    assert phone.evaluate("window.__violations") == [] and problems == []
