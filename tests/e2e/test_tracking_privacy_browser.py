"""Whatever an official typed, a citizen's phone (headless Chromium) never shows an ID-like digit
run or the applicant's unmasked name on the real tracking page (issue 9, item 4).

Screenshots go to tests/_artifacts/track/ for a human to look at.
"""

from pathlib import Path

import pytest

from tests.support.leaks import digits_only, id_runs, name_leaks

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "track"
ARTIFACTS.mkdir(parents=True, exist_ok=True)
NAME = "Nguyễn Văn An"
SECRETS = ["001099012345", "0912345678", "123456789"]
INTERNAL = "Nội bộ: thiếu bản sao CCCD 001099012345 của Nguyễn Văn An, ĐT 0912345678"
TYPED = [  # what an official might put in the public note, carelessly or not
    ("supplement_requested", "thiếu bản sao CCCD 001099012345 của Nguyễn Văn An"),
    ("processing", "Đã nhận bổ sung từ ông NGUYEN VAN AN, CMND 123 456 789"),
    ("supplement_requested", "Gọi anh An: 0912.345.678 hoặc +84 912 345 678; CCCD ００１０９９０１２３４５"),
    ("processing", "NguyễnVănAn — số 0\u200b0\u200b1\u200b0\u200b9\u200b9\u200b0\u200b1\u200b2\u200b3\u200b4\u200b5"),
]




def check_page(page):
    shown = page.evaluate("document.body.innerText")
    html = page.content()  # also the JSON state embedded for the script
    notes = page.locator("#timeline .note").all_inner_texts()
    for note in notes + [page.locator(".applicant b").inner_text()]:
        assert id_runs(note) == [] and name_leaks(note, NAME) == [], note
    for text in (shown, html):
        plain = digits_only(text)
        assert not any(s in plain for s in SECRETS), text
        assert "Nguyễn Văn An" not in text and "NGUYEN VAN AN" not in text and "Nội bộ" not in text
    return notes


def test_public_page_never_shows_an_id_or_the_name_whatever_was_typed(site, phone):
    expect = playwright_api.expect
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich",
                                                                "idempotency_key": "e2e-priv-1"}).json()
    official = site.client("canbo1")
    dossier = official.post("/api/v1/dossiers", json={"ticket_id": ticket["id"], "procedure_code": "1.004873",
                                                      "applicant_name": NAME, "channel": "direct"}).json()
    code = dossier["code"]
    # As officials typed it before notes were split (issue 9): the page showed it verbatim.
    official.post(f"/api/v1/dossiers/{code}/status",
                  json={"status": "supplement_requested", "note": "thiếu bản sao CCCD 001099012345 của Nguyễn Văn An"})
    phone.goto(dossier["track_url"])
    expect(phone.locator("#timeline li")).to_have_count(2)
    expect(phone.locator(".applicant")).to_contain_text("N** V** A**")
    assert check_page(phone)[1] == "Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết."

    official.post(f"/api/v1/dossiers/{code}/status", json={"status": "processing"})
    for status, typed in TYPED[:3]:
        r = official.post(f"/api/v1/dossiers/{code}/status",
                          json={"status": status, "note": INTERNAL, "public_note": typed,
                                "reason": INTERNAL})  # a second supplement request must say why
        assert r.status_code == 200, r.text
    # The open page reloads itself on each change (a reload from here could race with its own and abort).
    expect(phone.locator("#timeline li")).to_have_count(6)
    notes = check_page(phone)
    assert notes[3] == "thiếu bản sao CCCD *** của N** V** A**"
    phone.screenshot(path=str(ARTIFACTS / "10-private-notes-masked.png"), full_page=True)

    # A change while the page is open: it reloads itself, and the new note is masked too.
    status, typed = TYPED[3]
    official.post(f"/api/v1/dossiers/{code}/status", json={"status": status, "public_note": typed})
    expect(phone.locator("#timeline li")).to_have_count(7)
    assert check_page(phone)[-1] == "N** V** A** — số ***"
    # An internal note alone: the citizen gets the standard sentence, never the note.
    official.post(f"/api/v1/dossiers/{code}/status", json={"status": "paused", "note": INTERNAL})
    expect(phone.locator("#timeline li")).to_have_count(8)
    expect(phone.locator("#timeline li.last .note")).to_have_text(
        "Hồ sơ tạm dừng xử lý. Vui lòng liên hệ Bộ phận Một cửa để biết lý do.")
    check_page(phone)

    phone.locator("#lang").click()
    expect(phone.locator("#timeline li.last .note")).to_have_text("Processing is stopped. Please ask the one-stop desk why.")
    check_page(phone)
    phone.screenshot(path=str(ARTIFACTS / "11-private-notes-en.png"), full_page=True)
    official.close()
