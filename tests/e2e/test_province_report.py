"""The province view between real processes: two centres' generated histories (SQLite), their
journals pushed in signed batches to a province replica (PostgreSQL), then the province's report
over HTTP compared with each centre's own report computed at the site from the same history.

Shown here: per centre the province's figures, breakdowns and Decision 766 equal the site's own
report for the same period (closed periods and one still running); the province totals are the
sums; a replayed batch changes nothing; the ranking and each centre's sync freshness; roles (a
province manager sees all, a centre's manager only theirs, officials and devices refused); the
Excel workbook holds the same numbers.

Tickets too: two days at each centre's counters (issue, remote join and check-in, call, recall,
no-show, start, finish, park, resume, transfer, cancel, ratings) reach the province in the same
batches, and each centre's ticket figures there equal the centre's own ``ticket_report`` field by
field, on the JSON, the page and the Excel.
"""

from __future__ import annotations

import io
import math
import random
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest

from server.domain.period_figures import COUNT_KEYS, DEFINITIONS
from server.storage import migrate, period_report, reports
from server.storage.db import Database
from server.storage.dossier_store import DossierStore
from server.storage.journal import head as journal_head
from server.storage.journal import read as read_journal
from server.storage.province_xlsx import TICKET_HEADS, TICKETS
from server.storage.queue_store import QueueStore
from server.storage.remote_store import RemoteStore
from tests.support import province_history as ph
from tests.support.province import Province, post_batch

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SITES = {"xa-muong-phang": "Trung tâm PVHCC xã Mường Phăng", "xa-ban-lien": "Trung tâm PVHCC xã Bản Liền"}
PASSWORD = "province-view-pw-1"
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "province"


@pytest.fixture(scope="module")
def world(postgres_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("provview")
    site_db = Database(f"sqlite:///{tmp / 'sites.sqlite3'}", sqlite_synchronous="NORMAL").open()
    migrate.upgrade(site_db)
    ph.load_sites(site_db, tmp, SITES)
    store = DossierStore(site_db, public_url="http://qr.test")
    now = datetime.now(ph.VN)
    first = datetime.combine(ph.today_vn().replace(day=1) - timedelta(days=95), datetime.min.time(), ph.VN)
    for i, site in enumerate(SITES):
        history = ph.histories(random.Random(40 + i), 110, first + timedelta(hours=8), 100)
        assert ph.play(store, site, history, now) > 300
    queue = QueueStore(site_db, public_url="http://qr.test")
    remote = RemoteStore(queue, None, b"province-ticket-test-secret-0123")
    made: dict[str, int] = {}
    for i, site in enumerate(SITES):
        for k, day in enumerate(ticket_days()):
            start = datetime.combine(day, time(7, 30), ph.VN)
            got = ph.ticket_day(queue, remote, site, start, random.Random(70 + 2 * i + k))
            for action, n in got.items():
                made[action] = made.get(action, 0) + n
    assert {"issue", "remote", "check_in", "call", "recall", "no-show", "start", "finish", "call-next", "park", "resume",
            "transfer", "cancel", "rating"} <= set(made), made
    province = Province(postgres_server.create_database(f"prov_{uuid.uuid4().hex[:10]}"), tmp / "province").prepare()
    keys = {site: province.register(site) for site in SITES}
    province.register("xa-chua-dong-bo")  # registered, never synced
    for name, role, site in (("tinh", "manager", None), ("ql-mp", "manager", "xa-muong-phang"),
                             ("canbo-mp", "official", "xa-muong-phang")):
        province.cli("user", "add", name, "--role", role, "--password", PASSWORD, *(["--site", site] if site else []))
    province.start(1)
    base = province.replicas[0].base_url
    for site, key in keys.items():
        ph.push(site_db, base, site, key, batch=97)
    yield {"db": site_db, "store": store, "province": province, "base": base, "keys": keys}
    province.stop()
    site_db.close()


def token(base: str, name: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]


def get(base: str, path: str, who: str, **params) -> httpx.Response:
    """``GET path``; the province report with its ticket section (``tickets=true``) unless told otherwise."""
    if path == "/api/v1/province/report":
        params.setdefault("tickets", "true")
    return httpx.get(base + path, params=params, headers={"Authorization": f"Bearer {token(base, who)}"}, timeout=60)


def site_report(world, site: str, start: date, end: date) -> dict:
    store = world["store"]
    return period_report.period_report(world["db"], site, start, end, today=ph.today_vn(),
                                       calendar_for=lambda s: store.profile_for(s).calendar,
                                       weights_766=store.profile_for(site).score_766)


def keyed(report: dict) -> dict:
    """What must agree: figures, every breakdown by its key, Decision 766 (labels of officials
    differ: the province does not hold the centre's staff names)."""
    return {"figures": report["figures"], "decision_766_inputs": report["decision_766_inputs"],
            "breakdowns": {k: {r["key"]: r["figures"] for r in rows} for k, rows in report["breakdowns"].items()},
            "decision_766": [(i["code"], i["ratio"], i["points"]) for i in report["decision_766"]["sub_indices"]]}


def ticket_days() -> tuple[date, date]:
    """Two days of last month with tickets: one inside ``periods()[4]``, one after it."""
    last = (ph.today_vn().replace(day=1) - timedelta(days=1)).replace(day=1)
    return last + timedelta(days=12), last + timedelta(days=25)


def periods() -> list[tuple[date, date]]:
    today = ph.today_vn()
    this = today.replace(day=1)
    last = (this - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    return [(before, last - timedelta(days=1)), (last, this - timedelta(days=1)), (before, today),
            (this, today), (last + timedelta(days=9), last + timedelta(days=20))]


def test_each_centre_at_the_province_equals_its_own_report_and_totals_are_sums(world):
    base = world["base"]
    stated = {"received_digitised": 0, "resolved_result_digitised": 0}
    for start, end in periods():
        whole = get(base, "/api/v1/province/report", "tinh", **{"from": start.isoformat(), "to": end.isoformat()})
        assert whole.status_code == 200, whole.text
        body = whole.json()
        centres = {c["key"]: c for c in body["centres"]}
        assert set(centres) == set(SITES) | {"xa-chua-dong-bo"}
        for site in SITES:
            own = site_report(world, site, start, end)
            assert own["figures"]["to_handle"] > 0
            for name in stated:  # the 766 facts stated at the counter travel too (4.1, 4.2)
                stated[name] += own["decision_766_inputs"][name]
            assert centres[site]["figures"] == own["figures"], (site, start, end)
            drilled = get(base, f"/api/v1/sites/{site}/reports/dossiers", "tinh",
                          **{"from": start.isoformat(), "to": end.isoformat()}).json()
            assert keyed(drilled) == keyed(own), (site, start, end)
            assert drilled["name"] == SITES[site]
        assert all(v == 0 for k, v in centres["xa-chua-dong-bo"]["figures"].items() if k in COUNT_KEYS)
        for key in COUNT_KEYS:
            assert body["figures"][key] == sum(c["figures"][key] for c in body["centres"]), key
    assert all(stated.values()), stated  # so their equality above means something


def without_names(tickets: dict) -> dict:
    """A ticket report less ``official_names`` (the province does not hold the centre's staff names)."""
    return {k: v for k, v in tickets.items() if k != "official_names"}


def province_ticket_rows(world) -> dict[str, tuple[int, int]]:
    """Per centre: the province's ticket rows and how many distinct site ticket ids they stand for."""
    from sqlalchemy import func, select

    from server.storage.tables import tickets

    with world["province"].engine.connect() as conn:
        rows = conn.execute(select(tickets.c.site, func.count(), func.count(tickets.c.idempotency_key.distinct()))
                            .group_by(tickets.c.site)).all()
    return {site: (n, distinct) for site, n, distinct in rows}


def test_each_centres_tickets_at_the_province_equal_its_own_ticket_report(world):
    base, seen = world["base"], {"served": 0, "no_show": 0, "cancelled": 0, "set_aside": 0, "ratings": 0,
                                 "samples": 0, "checked_in": 0}
    for start, end in periods():
        body = get(base, "/api/v1/province/report", "tinh", **{"from": start.isoformat(), "to": end.isoformat()}).json()
        centres = {c["key"]: c for c in body["centres"]}
        for site in SITES:
            own = reports.ticket_report(world["db"], site, start, end)
            assert without_names(centres[site]["tickets"]) == without_names(own), (site, start, end)
            for k in ("served", "no_show", "cancelled"):
                seen[k] += own[k]
            seen["set_aside"] += own["remote"]["set_aside"]
            seen["checked_in"] += own["remote"]["checked_in"]
            seen["ratings"] += own["ratings"]["total"]
            seen["samples"] += own["estimate"]["samples"]
        # the province as a whole: the site database holds exactly these two centres' tickets
        assert without_names(body["tickets"]) == without_names(reports.ticket_report(world["db"], None, start, end))
        assert all(c["tickets"]["issued"] == 0 for c in body["centres"] if c["key"] not in SITES)
    assert all(seen.values()), seen  # so the equalities above compared something
    with world["db"].read() as conn:
        from sqlalchemy import func, select

        from server.storage.tables import tickets

        at_sites = dict(conn.execute(select(tickets.c.site, func.count()).group_by(tickets.c.site)).all())
    # one row per ticket, however many events and batches it took
    assert province_ticket_rows(world) == {site: (n, n) for site, n in at_sites.items()}


def test_a_replayed_batch_changes_no_figure(world):
    base, site = world["base"], "xa-ban-lien"
    start, end = periods()[2]
    before = get(base, "/api/v1/province/report", "tinh", **{"from": start.isoformat(), "to": end.isoformat()}).json()
    rows_before = province_ticket_rows(world)
    with world["db"].read() as conn:
        events = [e.as_dict() for e in read_journal(conn, site, 1, 100_000)]
        seq, hash_ = journal_head(conn, site)
    for e in events:
        e.pop("site")
    assert sum(e["kind"] in ("ticket", "call") for e in events) > 200
    for first in range(0, len(events), 150):  # the whole journal again, dossiers and tickets
        r = post_batch(base, site, world["keys"][site], events[first:first + 150],
                       site_head={"seq": seq, "hash": hash_})
        assert r.status_code == 200 and r.json()["added"] == 0
    after = get(base, "/api/v1/province/report", "tinh", **{"from": start.isoformat(), "to": end.isoformat()}).json()
    assert [c["figures"] for c in after["centres"]] == [c["figures"] for c in before["centres"]]
    assert [c["tickets"] for c in after["centres"]] == [c["tickets"] for c in before["centres"]]
    assert after["tickets"] == before["tickets"] and province_ticket_rows(world) == rows_before
    assert [c["sync"]["unprojected"] for c in after["centres"]] == [c["sync"]["unprojected"] for c in before["centres"]]


def test_ranking_and_sync_freshness(world):
    base = world["base"]
    start, end = periods()[2]
    body = get(base, "/api/v1/province/report", "tinh", rank_by="resolved",
               **{"from": start.isoformat(), "to": end.isoformat()}).json()
    values = [c["figures"]["resolved"] for c in body["centres"]]
    assert values == sorted(values, reverse=True) and body["centres"][0]["rank"] == 1
    assert body["centres"][-1]["key"] == "xa-chua-dong-bo"
    late = get(base, "/api/v1/province/report", "tinh", rank_by="late_total",
               **{"from": start.isoformat(), "to": end.isoformat()}).json()
    assert [c["figures"]["late_total"] for c in late["centres"]] == sorted(c["figures"]["late_total"]
                                                                       for c in late["centres"])
    with world["db"].read() as conn:
        heads = {s: len(read_journal(conn, s, 1, 100000)) for s in SITES}
    for c in body["centres"]:
        if c["key"] in SITES:
            assert c["sync"]["held_seq"] == heads[c["key"]] and c["sync"]["pending"] == 0
            assert c["sync"]["synced_at"] is not None and c["sync"]["age_s"] >= 0
            assert c["drill"] == f"/dashboard/{c['key']}?from={start.isoformat()}&to={end.isoformat()}"
        else:
            assert c["sync"]["synced_at"] is None and c["sync"]["held_seq"] == 0
    r = get(base, "/api/v1/province/report", "tinh", rank_by="nonsense")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_rank_by"


def test_roles(world):
    base = world["base"]
    mine = get(base, "/api/v1/province/report", "ql-mp")
    assert mine.status_code == 200
    assert [c["key"] for c in mine.json()["centres"]] == ["xa-muong-phang"]
    start, end = periods()[1]
    own = site_report(world, "xa-muong-phang", start, end)
    got = get(base, "/api/v1/province/report", "ql-mp", **{"from": start.isoformat(), "to": end.isoformat()}).json()
    assert got["figures"] == own["figures"] and got["centres"][0]["figures"] == own["figures"]
    own_tickets = without_names(reports.ticket_report(world["db"], "xa-muong-phang", start, end))
    assert own_tickets["issued"] > 0 and [c["key"] for c in got["centres"]] == ["xa-muong-phang"]
    assert without_names(got["tickets"]) == own_tickets == without_names(got["centres"][0]["tickets"])
    for path, params in (("/api/v1/province/report", {"site": "xa-ban-lien"}),
                         ("/api/v1/sites/xa-ban-lien/reports/dossiers", {})):
        r = get(base, path, "ql-mp", **params)
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_site", path
    assert get(base, "/api/v1/sites/xa-muong-phang/reports/dossiers", "ql-mp").status_code == 200
    r = get(base, "/api/v1/province/report", "canbo-mp")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert httpx.get(base + "/api/v1/province/report").status_code == 401
    from server.auth import AuthStore

    province_db = Database(world["province"].database_url).open()
    try:
        device_token = AuthStore(province_db).device_token("kiosk-x", "kiosk", "xa-muong-phang")
    finally:
        province_db.close()
    r = httpx.get(base + "/api/v1/province/report", headers={"Authorization": f"Bearer {device_token}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text


def test_excel_holds_the_same_numbers(world):
    base = world["base"]
    start, end = periods()[1]
    q = {"from": start.isoformat(), "to": end.isoformat()}
    body = get(base, "/api/v1/province/report", "tinh", **q).json()
    r = get(base, "/api/v1/province/report", "tinh", format="xlsx", **q)
    bare = get(base, "/api/v1/province/report", "tinh", tickets="false", **q).json()
    assert "tickets" in body and "tickets" not in bare and all("tickets" not in c for c in bare["centres"])
    assert [c["figures"] for c in bare["centres"]] == [c["figures"] for c in body["centres"]]
    bare_xlsx = openpyxl.load_workbook(io.BytesIO(get(base, "/api/v1/province/report", "tinh", format="xlsx",
                                                      tickets="false", **q).content))
    assert "Lượt phục vụ theo trung tâm" not in bare_xlsx.sheetnames
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "Xếp hạng trung tâm"
    rows = list(wb["Xếp hạng trung tâm"].iter_rows(values_only=True))
    head = next(i for i, row in enumerate(rows) if row[:2] == ("Hạng", "Trung tâm"))
    labels = {d.label: d.key for d in DEFINITIONS}
    cols = {labels[h]: i for i, h in enumerate(rows[head]) if h in labels}
    got = [(row[0], row[1], {k: row[i] for k, i in cols.items()}) for row in rows[head + 1:] if row[1]]
    assert got == [(c["rank"], c["label"], c["figures"]) for c in body["centres"]]
    summary = {row[1]: row[2] for row in wb["Tổng hợp"].iter_rows(values_only=True) if row[1] in labels}
    assert {labels[k]: v for k, v in summary.items()} == body["figures"]
    # the ticket sheet: each centre's ticket report and the province's, times in minutes
    sheet = list(wb[TICKETS].iter_rows(values_only=True))
    head = next(i for i, row in enumerate(sheet) if row[:2] == ("Hạng", "Trung tâm"))
    assert list(sheet[head][2:]) == TICKET_HEADS

    def expected(t):
        o, r = t["overall"], t["ratings"]
        minutes = [None if o[k] is None else round(o[k] / 60, 1)
                   for k in ("wait_median_s", "wait_p90_s", "service_median_s", "service_p90_s")]
        error = t["estimate"]["mean_abs_error_s"]
        return [t["issued"], t["served"], t["no_show"], t["cancelled"], t["remote"]["issued"], *minutes,
                None if error is None else round(error / 60, 1),
                r["very_satisfied"], r["satisfied"], r["not_satisfied"]]

    got_t = [(row[1], list(row[2:])) for row in sheet[head + 1:] if row[1]]
    assert got_t == [(c["label"], expected(c["tickets"])) for c in body["centres"]] + [
        ("Toàn tỉnh", expected(body["tickets"]))]
    assert body["tickets"]["issued"] > 0 and body["tickets"]["overall"]["wait_median_s"] is not None


# ---- in Chromium ------------------------------------------------------------------------------

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def shown(text: str):
    """A figure as the page prints it (vi-VN: 1.234, 93,75%, 4,5 phút; — for none) → the JSON value
    (minutes as a float)."""
    text = text.strip()
    if text == "—":
        return None
    if text.endswith(" phút"):
        return float(text[:-5].replace(".", "").replace(",", "."))
    if text.endswith("%"):
        return float(text[:-1].replace(".", "").replace(",", "."))
    return int(text.replace(".", ""))


def pick(obj: dict, path: str):
    for part in path.split("."):
        obj = obj[part]
    return obj


def as_shown(value, path: str):
    """A JSON ticket figure as the page shows it: seconds as minutes to one decimal (rounded half up,
    as the page's Math.round), counts as they are."""
    if value is None or not path.endswith("_s"):
        return value
    return math.floor(value / 6 + 0.5) / 10


def page_of(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.add_init_script(WATCH)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


def sign_in(page, base, name):
    expect = pytest.importorskip("playwright.sync_api").expect
    page.goto(f"{base}/province")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")


def test_province_dashboard_in_chromium(world, browser, tmp_path):
    expect = pytest.importorskip("playwright.sync_api").expect
    base = world["base"]
    context, page, problems = page_of(browser, tmp_path)
    sign_in(page, base, "tinh")
    start, end = periods()[1]  # last month
    page.locator("[data-preset=last-month]").click()
    expect(page.locator("#from")).to_have_value(start.isoformat())
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    d = get(base, "/api/v1/province/report", "tinh", **{"from": start.isoformat(), "to": end.isoformat()}).json()
    # the ticket section comes in a second request, after the dossier figures are drawn
    expect(page.locator("#tickets")).to_have_attribute("data-state", "ready")

    # tiles and the totals row: the JSON's province figures
    for el in page.locator("[data-k]").all():
        assert shown(el.inner_text()) == d["figures"][el.get_attribute("data-k")]
    # one row per centre, in rank order, every figure as in the JSON
    rows = page.locator("#centres tbody tr")
    assert [r.get_attribute("data-centre") for r in rows.all()] == [c["key"] for c in d["centres"]]
    for row, c in zip(rows.all(), d["centres"]):
        assert shown(row.locator("td.rank").inner_text()) == c["rank"]
        assert row.locator("a.drill").inner_text() == c["label"]
        for cell in row.locator("td[data-c]").all():
            key = cell.get_attribute("data-c").split(".", 1)[1]
            assert shown(cell.inner_text()) == c["figures"][key], (c["key"], key)
        sync = row.locator("td.sync")
        if c["sync"]["synced_at"]:
            assert sync.get_attribute("data-sync") == c["sync"]["synced_at"]
            assert sync.get_attribute("data-pending") == "0"
            assert "trước" in sync.inner_text() or "vừa xong" in sync.inner_text()
        else:
            assert sync.inner_text() == "chưa đồng bộ" and "stale" in sync.get_attribute("class")
    for cell in page.locator("#centres tfoot td[data-c]").all():
        assert shown(cell.inner_text()) == d["figures"][cell.get_attribute("data-c").split(".", 1)[1]]
    # the ticket table: one row per centre and the province's, every cell as in the JSON
    tickets = {c["key"]: c["tickets"] for c in d["centres"]} | {"total": d["tickets"]}
    cells = page.locator("#ticket-centres td[data-t]").all()
    assert len(cells) == 10 * len(tickets)
    for cell in cells:
        key, path = cell.get_attribute("data-t").split(":", 1)
        assert shown(cell.inner_text()) == as_shown(pick(tickets[key], path), path), (key, path)
    assert shown(page.locator("#ticket-centres td[data-t='total:issued']").inner_text()) == d["tickets"]["issued"] > 0
    for site in SITES:  # a table per centre, by service
        table = page.locator(f"#ticket-services table[data-services={site}]")
        services = [r.get_attribute("data-service") for r in table.locator("tbody tr").all()]
        assert services == list(tickets[site]["by_service"]) and services
        for row in table.locator("tbody tr").all():
            figures = tickets[site]["by_service"][row.get_attribute("data-service")]
            for cell in row.locator("td[data-s]").all():
                name = cell.get_attribute("data-s")
                assert shown(cell.inner_text()) == as_shown(figures[name], name), (site, name)
    # bars sized through the CSSOM (no style="" in the markup): the first centre's is the longest
    widths = page.evaluate("[...document.querySelectorAll('#centres .bar-fill')].map(b => b.style.width)")
    assert widths[0] and all(w.endswith("%") for w in widths)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "province.png"), full_page=True)

    # re-rank by "late in total": fewest first
    page.locator("#rank-by").select_option("late_total")
    expect(page.locator("#rank-label")).to_have_text("Tổng số quá hạn")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    late = get(base, "/api/v1/province/report", "tinh", rank_by="late_total",
               **{"from": start.isoformat(), "to": end.isoformat()}).json()
    expect(page.locator("#centres tbody tr").first).to_have_attribute("data-centre", late["centres"][0]["key"])

    # the Excel: same numbers as the page and the JSON
    with page.expect_download() as info:
        page.locator("#xlsx").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    wb = openpyxl.load_workbook(path)
    rows_x = list(wb["Xếp hạng trung tâm"].iter_rows(values_only=True))
    head = next(i for i, row in enumerate(rows_x) if row[:2] == ("Hạng", "Trung tâm"))
    labels = {dd.label: dd.key for dd in DEFINITIONS}
    cols = {labels[h]: i for i, h in enumerate(rows_x[head]) if h in labels}
    assert [(r[1], {k: r[i] for k, i in cols.items()}) for r in rows_x[head + 1:] if r[1]] == \
        [(c["label"], c["figures"]) for c in late["centres"]]

    # drill down to one centre: its own dashboard at the province, the same period, its own figures
    site = "xa-ban-lien"
    page.locator(f"#centres tr[data-centre={site}] a.drill").click()
    expect(page).to_have_url(f"{base}/dashboard/{site}?from={start.isoformat()}&to={end.isoformat()}")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    expect(page.locator("#centre")).to_have_text(SITES[site])
    assert page.locator("#tickets").count() == 0
    own = site_report(world, site, start, end)
    for el in page.locator("#dossiers [data-k^='figures.']").all():
        assert shown(el.inner_text()) == own["figures"][el.get_attribute("data-k").split(".", 1)[1]]
    for el in page.locator("#dossiers [data-r^='figures.']").all():
        assert shown(el.inner_text()) == own["figures"][el.get_attribute("data-r").split(".", 1)[1]]
    assert page.evaluate("window.__violations") == [] and problems == []
    context.close()


def test_a_centre_manager_sees_only_their_centre_in_chromium(world, browser, tmp_path):
    expect = pytest.importorskip("playwright.sync_api").expect
    context, page, problems = page_of(browser, tmp_path)
    sign_in(page, world["base"], "ql-mp")
    expect(page.locator("#scope")).to_have_text(SITES["xa-muong-phang"])
    assert [r.get_attribute("data-centre") for r in page.locator("#centres tbody tr").all()] == ["xa-muong-phang"]
    page.goto(f"{world['base']}/dashboard/xa-ban-lien")  # another centre: refused, in Vietnamese
    expect(page.locator("#login-error")).to_contain_text("không có quyền xem báo cáo")
    assert page.evaluate("window.__violations") == [] and problems == []
    context.close()


def test_events_the_province_cannot_replay_are_counted_not_guessed(world):
    """A change to a dossier opened before the journal began, and an opening event journalled by an
    older motcua (no legal days): taken (the chain is fine), left out of the figures, counted."""
    from server.storage.journal import GENESIS, canonical, event_hash

    base, province = world["base"], world["province"]
    key = province.register("xa-cu")
    bodies = [{"code": "CU-1", "procedure": "1.004873", "channel": "direct", "from": "processing",
               "to": "resolved", "actor": "canbo1", "due_date": "2026-11-03"},
              {"code": "CU-2", "procedure": "1.004873", "channel": "direct", "from": None, "to": "received",
               "actor": "canbo1", "due_date": "2026-11-05"}]
    bodies.append({"ticket": 7, "day": "2026-11-02", "rating": "not_satisfied", "dossier": None,
                   "official": "canbo1", "service": "hotich", "actor": "display-1"})  # a rating: counted
    # ticket events journalled by an older motcua (no times, estimate or remote flag in the body): the
    # moments of the events themselves give what can be counted; a change to a ticket issued before the
    # journal began cannot be replayed
    old = {"day": "2025-03-04", "label": "A001", "priority": None, "service": "hotich"}
    tickets_old = [("ticket", "01:00:00", {**old, "ticket": 7, "action": "issue", "status": "waiting", "counter": None,
                                           "actor": "kiosk-1"}),
                   ("call", "01:04:30", {**old, "ticket": 7, "action": "call", "status": "called", "counter": "2",
                                         "actor": "canbo2"}),
                   ("call", "01:05:00", {**old, "ticket": 7, "action": "recall", "status": "called", "counter": "2",
                                         "actor": "canbo2"}),
                   ("ticket", "01:06:00", {**old, "ticket": 7, "action": "start", "status": "serving", "counter": "2",
                                           "actor": "canbo2"}),
                   ("ticket", "01:16:00", {**old, "ticket": 7, "action": "finish", "status": "done", "counter": "2",
                                           "actor": "canbo2"}),
                   ("ticket", "01:20:00", {**old, "ticket": 3, "label": "A000", "action": "finish", "status": "done",
                                           "counter": "1", "actor": "canbo1"})]
    events, prev = [], GENESIS
    dated = [("rating" if "rating" in b else "dossier", "2026-11-02T02:00:00.000+00:00", b) for b in bodies] + [
        (kind, f"2025-03-04T{clock}.000+00:00", b) for kind, clock, b in tickets_old]
    for seq, (kind, at, body) in enumerate(dated, 1):
        text, event_id = canonical(body), f"xa-cu-{seq}-{uuid.uuid4().hex[:8]}"
        h = event_hash("xa-cu", seq, event_id, kind, at, prev, text)
        events.append({"seq": seq, "event_id": event_id, "kind": kind, "at": at, "body": text,
                       "prev_hash": prev, "hash": h})
        prev = h
    r = post_batch(base, "xa-cu", key, events)
    assert r.status_code == 200 and r.json()["added"] == 9, r.text
    body = get(base, "/api/v1/province/report", "tinh", **{"from": "2026-11-01", "to": "2026-11-30"}).json()
    cu = next(c for c in body["centres"] if c["key"] == "xa-cu")
    assert cu["sync"]["unprojected"] == 3 and cu["sync"]["held_seq"] == 9
    assert all(v in (0, None) for v in cu["figures"].values())
    old_day = get(base, "/api/v1/province/report", "tinh", site="xa-cu", **{"from": "2025-03-04", "to": "2025-03-04"})
    t = old_day.json()["tickets"]
    assert (t["issued"], t["served"], t["by_status"]) == (1, 1, {"done": 1})
    assert t["overall"] == {"called": 1, "served": 1, "wait_median_s": 270, "wait_p90_s": 270,
                            "service_median_s": 600, "service_p90_s": 600}
    assert list(t["by_counter"]) == ["2"] and list(t["by_official"]) == ["canbo2"]
    assert t["estimate"]["samples"] == 0 and t["remote"]["issued"] == 0  # not in an old body: not guessed
    from sqlalchemy import select

    from server.storage.tables import ticket_ratings

    with province.engine.connect() as conn:
        rated = conn.execute(select(ticket_ratings).where(ticket_ratings.c.site == "xa-cu")).all()
    assert [(r.rating, r.day.isoformat(), r.official, r.ticket_id < 0) for r in rated] == [
        ("not_satisfied", "2026-11-02", "canbo1", True)]
