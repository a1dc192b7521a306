"""The centre director's dashboard in headless Chromium at laptop size (1366×768).

Activity is seeded over the HTTP API (tickets called / served / missed by officials, rated;
dossiers received and moved through their statuses), then the director signs in through the
page, reads the figures (they must equal the report JSON for the same period), changes the
period, and downloads both Excel files through the page (read back with openpyxl). A wrong
password and an official's account must get clear Vietnamese messages.

Screenshots go to tests/_artifacts/dashboard/ for a human to look at.
"""

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "dashboard"
ARTIFACTS.mkdir(parents=True, exist_ok=True)
CENTRE = "Trung tâm Phục vụ hành chính công xã Mường Phăng"
MARITAL = "1.004873"  # đăng ký kết hôn, 3 working days




def laptop(browser):
    # The director sits in Vietnam: the page's "today" must be the server's (province) today.
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def seed(site):
    """Six tickets (four served by two officials, one no-show, one still waiting), three ratings;
    five dossiers: resolved, supplement requested, withdrawn, in progress, one online still awaiting.
    The two officials have full names, which the page must show instead of their login names."""
    from sqlalchemy import update

    from server.storage.db import Database
    from server.storage.tables import users

    db = Database(site.settings.database_url).open()
    with db.write() as conn:
        for login, name in (("canbo1", "Lò Văn Một"), ("canbo2", "Quàng Thị Hai")):
            conn.execute(update(users).where(users.c.username == login).values(full_name=name))
    db.close()
    with site.client("kiosk") as kiosk:
        issued = [kiosk.post("/api/v1/sites/demo/tickets",
                             json={"service": svc, "idempotency_key": f"dash-{i}-abcdefgh"}).json()
                  for i, svc in enumerate(["hotich", "chungthuc", "hotich", "hotich", "chungthuc", "hotich"])]
        assert all("id" in t for t in issued), issued
    officials = {n: site.client(f"canbo{n}") for n in (1, 2)}
    try:
        for n, client in officials.items():
            assert client.post(f"/api/v1/sites/demo/counters/{n}/open").status_code == 200
        served = []
        for n in (1, 2, 1, 2):  # each official calls, starts and finishes two tickets
            ticket = officials[n].post(f"/api/v1/sites/demo/counters/{n}/call-next").json()
            assert "id" in ticket, ticket
            assert officials[n].post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
            assert officials[n].post(f"/api/v1/tickets/{ticket['id']}/finish").status_code == 200
            served.append((n, ticket))
        missed = officials[1].post("/api/v1/sites/demo/counters/1/call-next").json()
        r = officials[1].post(f"/api/v1/tickets/{missed['id']}/no-show")
        assert r.status_code == 200, r.text
        with site.client("kiosk") as kiosk:
            for (_, ticket), rating in zip(served, ["very_satisfied", "satisfied", "not_satisfied"]):
                own = next(t["token"] for t in issued if t["id"] == ticket["id"])  # the QR: only it may rate
                r = kiosk.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"rating": rating, "ticket_token": own})
                assert r.status_code == 201, r.text

        canbo = officials[1]

        def dossier(name, channel="direct", ticket_id=None):
            body = {"procedure_code": MARITAL, "applicant_name": name, "channel": channel}
            if ticket_id:
                body["ticket_id"] = ticket_id
            r = canbo.post("/api/v1/dossiers", json=body)
            assert r.status_code == 201, r.text
            return r.json()["code"]

        def move(code, status, note=None):
            r = canbo.post(f"/api/v1/dossiers/{code}/status", json={"status": status, "note": note})
            assert r.status_code == 200, r.text

        resolved = dossier("Lò Văn Hùng", ticket_id=served[0][1]["id"])
        move(resolved, "processing")
        move(resolved, "resolved")
        supplement = dossier("Quàng Thị Én", ticket_id=served[2][1]["id"])
        move(supplement, "supplement_requested", "Thiếu bản sao giấy khai sinh")
        withdrawn = dossier("Cà Văn Điện")
        move(withdrawn, "withdrawn", "Công dân xin rút để bổ sung giấy tờ")
        in_progress = dossier("Lường Thị Ngọc")
        move(in_progress, "processing")
        dossier("Vì Văn Thắng", channel="online")  # submitted online, not yet accepted
    finally:
        for client in officials.values():
            client.close()


def api_reports(site, start, end):
    with site.client("giamdoc") as director:
        q = {k: v for k, v in (("from", start), ("to", end)) if v}
        d = director.get("/api/v1/sites/demo/reports/dossiers", params=q)
        t = director.get("/api/v1/sites/demo/reports/tickets", params=q)
        assert d.status_code == 200 and t.status_code == 200, (d.text, t.text)
        return d.json(), t.json()


def expected_figures(d, t):
    """data-k key on the page → the report JSON's number."""
    counts = {f"figures.{k}": v for k, v in d["figures"].items() if not isinstance(v, float) and v is not None}
    return {
        **counts,
        "tickets.issued": t["issued"], "tickets.served": t["served"], "tickets.no_show": t["no_show"],
        "tickets.cancelled": t["cancelled"], "ratings.very_satisfied": t["ratings"]["very_satisfied"],
        "ratings.satisfied": t["ratings"]["satisfied"], "ratings.not_satisfied": t["ratings"]["not_satisfied"],
    }


def pct(v):
    return "—" if v is None else f"{v:g}".replace(".", ",") + "%"


def shown_figures(page):
    """Every number the page shows with a data-k key, as ints ("1.234" → 1234)."""
    pairs = page.locator("[data-k]").evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => [e.dataset.k, e.textContent.trim()])")
    shown = {}
    for key, text in pairs:
        assert re.fullmatch(r"\d{1,3}(\.\d{3})*", text), (key, text)
        shown.setdefault(key, set()).add(int(text.replace(".", "")))
    return shown


def assert_page_matches(page, d, t):
    shown = shown_figures(page)
    for key, value in expected_figures(d, t).items():
        assert shown.get(key) == {value}, (key, shown.get(key), value)
    rates = page.locator("[data-r]").evaluate_all("els => els.map(e => [e.dataset.r, e.textContent.trim()])")
    assert {k for k, _ in rates} == {"figures.on_time_rate", "figures.online_rate"}
    for key, text in rates:
        assert text == pct(d["figures"][key.split(".")[1]]), (key, text)
    # every figure is listed once with its label and definition, the very ones of the JSON (and the Excel)
    labels = page.locator("#dossier-figures .f-label").all_text_contents()
    definitions = page.locator("#dossier-figures .f-def").all_text_contents()
    assert labels == [x["label"] for x in d["definitions"]]
    assert definitions == [x["definition"] for x in d["definitions"]]
    scores = dict(page.locator("[data-score]").evaluate_all("els => els.map(e => [e.dataset.score, e.textContent])"))
    assert scores == {i["code"]: ("—" if i["points"] is None else f"{i['points']:g}".replace(".", ",") +
                                  f" / {i['pmax']:g}") for i in d["decision_766"]["sub_indices"]}


def assert_charts_drawn(page):
    charts = page.locator("#dashboard .bars")
    assert charts.count() >= 3
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20, box
    assert page.locator("#dossier-chart .bar-row").count() >= 5
    # every bar label is readable and inside the page (nothing cut off at the right edge)
    sizes = page.evaluate("[...document.querySelectorAll('.bar-label, .bar-value')]"
                          ".map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 12, sizes
    right = page.evaluate("Math.max(...[...document.querySelectorAll('.bar-row')]"
                          ".map(t => t.getBoundingClientRect().right))")
    assert right <= page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def download(page, button):
    with page.expect_download() as info:
        page.locator(button).click()
    dl = info.value
    path = ARTIFACTS / dl.suggested_filename
    dl.save_as(path)
    return dl.suggested_filename, openpyxl.load_workbook(path)


def dmy(iso):
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def check_dossier_workbook(wb, d):
    ws = wb["Tổng hợp"]
    texts = [str(c.value) for row in ws.iter_rows(max_row=12) for c in row if c.value is not None]
    assert any("BÁO CÁO TÌNH HÌNH TIẾP NHẬN VÀ GIẢI QUYẾT HỒ SƠ" in s for s in texts), texts
    assert CENTRE in texts
    assert any(f"từ ngày {dmy(d['from'])} đến ngày {dmy(d['to'])}" in s for s in texts), texts
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[:4] == ["STT", "Chỉ tiêu", "Số liệu", "Định nghĩa"])
    assert [r[1:4] for r in rows[head + 1:]] == [
        [x["label"], d["figures"][x["key"]], x["definition"]] for x in d["definitions"]]
    scores = [[c.value for c in row] for row in wb["Chỉ số 766"].iter_rows()]
    for item in d["decision_766"]["sub_indices"]:
        assert next(r for r in scores if r[0] == item["code"])[2:6] == [
            item["ratio"], item["threshold"], item["pmax"], item["points"]]
    channels = [[c.value for c in row] for row in wb["Theo kênh"].iter_rows()]
    totals = next(r for r in channels if r[1] == "Tổng cộng")
    assert totals[2:] == [d["figures"][x["key"]] for x in d["definitions"]]


def check_ticket_workbook(wb, t):
    ws = wb.active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    texts = [str(v) for r in rows for v in r if v is not None]
    assert "BÁO CÁO LƯỢT PHỤC VỤ VÀ MỨC ĐỘ HÀI LÒNG" in texts and CENTRE in texts
    assert any(f"từ ngày {dmy(t['from'])} đến ngày {dmy(t['to'])}" in s for s in texts)
    label = {r[1]: r[2] for r in rows if isinstance(r[1], str)}
    assert label["Số phiếu đã cấp"] == t["issued"]
    assert label["Số lượt đã phục vụ"] == t["served"]
    assert label["Số lượt vắng mặt"] == t["no_show"]
    assert "Lượt được gọi" in texts and "Chờ — trung vị (phút)" in texts
    rating_total = next(r for r in rows if r[1] == "Tổng cộng" and r[5] == t["ratings"]["total"])
    assert rating_total[2:6] == [t["ratings"]["very_satisfied"], t["ratings"]["satisfied"],
                                 t["ratings"]["not_satisfied"], t["ratings"]["total"]]


def test_director_reads_the_month_and_downloads_excel(site, browser):
    expect = playwright_api.expect
    seed(site)
    context, page, errors = laptop(browser)
    page.goto(f"{site.base_url}/dashboard/demo")
    expect(page.locator("#login h2")).to_have_text("Đăng nhập")
    expect(page.locator("#logout")).to_be_hidden()
    shot(page, "01-login")

    page.locator("input[name=username]").fill("giamdoc")
    page.locator("input[name=password]").fill("motcua-test")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    expect(page.locator("#centre")).to_have_text(CENTRE)

    start, end = page.locator("#from").input_value(), page.locator("#to").input_value()
    d, t = api_reports(site, None, None)  # the API's default period is the page's default period
    assert (start, end) == (d["from"], d["to"])
    f = d["figures"]
    assert (f["received"], f["awaiting_acceptance"], f["resolved"], f["withdrawn"]) == (4, 1, 1, 1)
    assert t["issued"] == 6 and t["served"] == 4 and t["no_show"] == 1
    expect(page.locator("#period-text")).to_contain_text(f"{dmy(start)} – {dmy(end)}")
    assert_page_matches(page, d, t)
    assert_charts_drawn(page)
    officials = page.locator("#by-official tbody tr")
    expect(officials).to_have_count(len(t["by_official"]))
    expect(officials.first).to_contain_text("Lò Văn Một")  # full names, not login names
    expect(page.locator("#by-official")).not_to_contain_text("canbo1")
    page.locator("#breakdown").select_option("official")
    expect(page.locator("#dossier-breakdown tbody")).to_contain_text("Lò Văn Một")
    shot(page, "02-month")

    name, wb = download(page, "#xlsx-d")
    assert name == f"bao-cao-ho-so-demo-{start.replace('-', '')}-{end.replace('-', '')}.xlsx"
    check_dossier_workbook(wb, d)
    name, wb = download(page, "#xlsx-t")
    assert name.startswith("bao-cao-luot-phuc-vu-demo-")
    check_ticket_workbook(wb, t)

    # Another period: one with no activity at all (the first month of last year) shows zeros, not blanks.
    year = date.fromisoformat(end).year - 1
    page.locator("#from").fill(f"{year}-01-01")
    page.locator("#to").fill(f"{year}-01-31")
    page.get_by_role("button", name="Xem", exact=True).click()
    expect(page.locator("#period-text")).to_contain_text(f"01/01/{year} – 31/01/{year}")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    d0, t0 = api_reports(site, f"{year}-01-01", f"{year}-01-31")
    assert d0["figures"]["received"] == 0
    assert_page_matches(page, d0, t0)
    expect(page.locator("#by-official")).to_contain_text("Chưa có")
    shot(page, "03-empty-period")
    name, wb = download(page, "#xlsx-d")
    assert name == f"bao-cao-ho-so-demo-{year}0101-{year}0131.xlsx"
    check_dossier_workbook(wb, d0)

    # The "this month" shortcut brings the month back; a reversed period gets a message, not a crash.
    page.get_by_role("button", name="Tháng này", exact=True).click()
    expect(page.locator("#period-text")).to_contain_text(f"{dmy(start)} – {dmy(end)}")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    assert_page_matches(page, d, t)
    page.locator("#from").fill(f"{year}-02-01")
    page.locator("#to").fill(f"{year}-01-01")
    page.get_by_role("button", name="Xem", exact=True).click()
    expect(page.locator("#message")).to_have_text("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    assert_page_matches(page, d, t)  # the last good figures stay
    shot(page, "04-reversed-period")

    # A reload keeps the session; signing out brings the login back.
    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#logout")).to_be_hidden()
    assert errors == []
    context.close()


def test_dashboard_fits_a_phone(site, browser):
    """At 390 px (a common phone) nothing is wider than the screen and chart labels stay readable;
    the figures are still those of the report JSON."""
    expect = playwright_api.expect
    seed(site)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", device_scale_factor=2,
                                  is_mobile=True, has_touch=True, timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site.base_url}/dashboard/demo")
    page.locator("input[name=username]").fill("giamdoc")
    page.locator("input[name=password]").fill("motcua-test")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    d, t = api_reports(site, None, None)
    assert_page_matches(page, d, t)
    assert_charts_drawn(page)
    page.locator("#breakdown").select_option("official")
    for table in ("#by-official", "#dossier-breakdown", "#dossier-figures"):
        width = page.locator(table).bounding_box()["width"]
        assert width <= 390, (table, width)
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('#dashboard *')]"
                           ".map(e => e.getBoundingClientRect().right))")
    assert widest <= 390, widest
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "07-phone-390")
    assert errors == []
    context.close()


def test_wrong_password_and_an_official(site, browser):
    expect = playwright_api.expect
    context, page, errors = laptop(browser)
    page.goto(f"{site.base_url}/dashboard/demo")
    page.locator("input[name=username]").fill("giamdoc")
    page.locator("input[name=password]").fill("sai-mat-khau")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#login-error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    expect(page.locator("#dashboard")).to_be_hidden()
    shot(page, "05-wrong-password")

    page.locator("input[name=username]").fill("canbo1")
    page.locator("input[name=password]").fill("motcua-test")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#login-error")).to_have_text(
        "Tài khoản canbo1 không có quyền xem báo cáo của trung tâm này. "
        "Vui lòng đăng nhập bằng tài khoản lãnh đạo trung tâm.")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#logout")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('motcua-token')") is None
    shot(page, "06-official-not-allowed")
    assert errors == []
    context.close()
