"""A citizen's phone (headless Chromium at 390×844) follows a ticket, then the dossier it became.

Screenshots go to tests/_artifacts/track/ for a human to look at.
"""

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pyzbar.pyzbar import decode

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "track"
ARTIFACTS.mkdir(parents=True, exist_ok=True)




def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_ticket_then_dossier_live_on_a_phone(site, phone):
    expect = playwright_api.expect
    with site.client("kiosk") as kiosk:
        first = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "e2e-1-aaaa"}).json()
        mine = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "e2e-2-bbbb"}).json()
    official = site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")

    phone.goto(mine["track_url"])
    expect(phone.locator("#number")).to_have_text("A002")
    expect(phone.locator("#ahead")).to_have_text("1")
    expect(phone.locator("#serving")).to_contain_text("Chưa có quầy nào gọi số")
    phone.evaluate("window.__sameDocument = 'yes'")
    shot(phone, "01-ticket-waiting")

    assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == first["number"]
    expect(phone.locator("#ahead")).to_have_text("0")
    expect(phone.locator("#serving li")).to_have_text(["Quầy 1A001"])
    official.post(f"/api/v1/tickets/{first['id']}/start")
    official.post(f"/api/v1/tickets/{first['id']}/finish")
    official.post("/api/v1/sites/demo/counters/1/call-next")
    expect(phone.locator("#status")).to_have_text("Mời bạn đến quầy — Quầy 1")
    expect(phone.locator("#serving li.mine")).to_have_text("Quầy 1A002")
    assert phone.evaluate("window.__sameDocument") == "yes"  # updated live, no reload
    shot(phone, "02-ticket-called")

    # Intake at the counter: the same QR now shows the dossier (the page notices and reloads itself).
    dossier = official.post("/api/v1/dossiers", json={
        "ticket_id": mine["id"], "procedure_code": "1.004873", "applicant_name": "Lò Thị Mai", "channel": "direct",
    }).json()
    assert dossier["track_url"] == mine["track_url"]
    expect(phone.locator("#dossier .code")).to_have_text(dossier["code"])
    expect(phone.locator(".applicant")).to_contain_text("L** T** M**")
    expect(phone.locator("#timeline li")).to_have_count(1)
    official.post(f"/api/v1/dossiers/{dossier['code']}/status",
                  json={"status": "supplement_requested", "note": "Hồ sơ gốc để ở phòng Tư pháp",
                        "public_note": "Thiếu bản sao giấy khai sinh"})
    expect(phone.locator("#timeline li")).to_have_count(2)
    expect(phone.locator("#status")).to_have_text("Yêu cầu bổ sung giấy tờ")
    expect(phone.locator("#timeline")).to_contain_text("Thiếu bản sao giấy khai sinh")
    shot(phone, "03-dossier-vi")
    phone.locator("#lang").click()
    expect(phone.locator("#status")).to_have_text("Additional documents needed")
    expect(phone.locator("#lang")).to_have_text("Tiếng Việt")
    shot(phone, "04-dossier-en")

    # The printed Mẫu 01 slip: its QR decodes to the URL that shows this dossier.
    png = official.get(f"/api/v1/dossiers/{dossier['code']}/slip.png").content
    Image.open(io.BytesIO(png)).save(ARTIFACTS / "05-slip-mau01.png")
    urls = [s.data.decode() for s in decode(Image.open(io.BytesIO(png)).convert("L"))]
    assert urls == [dossier["track_url"]]
    phone.goto(urls[0])
    expect(phone.locator("#dossier .code")).to_have_text(dossier["code"])
    official.close()


def test_unknown_token_and_a_burst_on_a_phone(site, phone):
    response = phone.goto(f"{site.base_url}/t/not-a-real-token-at-all")
    assert response.status == 404
    expect = playwright_api.expect
    expect(phone.locator("h1")).to_have_text("Không tìm thấy thông tin")
    shot(phone, "06-unknown-token")
    # The bucket refills 2 tokens/s; with refill on, the burst's last request or the page visit
    # after it could land on a fresh token (it did, once in a few runs). Refill off for the test.
    site.app.state.track_limiter.rate = 1e-9
    with httpx.Client(base_url=site.base_url) as burst:
        codes = [burst.get("/api/v1/track/whatever-token-000000").status_code for _ in range(400)]
    assert codes[0] == 404 and codes[-1] == 429
    assert codes.count(404) == 119 and codes.count(429) == 281  # 120 a minute, one spent on the page
    response = phone.goto(f"{site.base_url}/t/whatever-token-000000?lang=en")
    assert response.status == 429
    expect(phone.locator("h1")).to_have_text("Please wait a moment")
    shot(phone, "07-rate-limited-en")
