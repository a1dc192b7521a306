"""Reports over a generated month whose true counts are known by construction, on SQLite and
PostgreSQL; the Excel file read back with openpyxl must say the same."""

import io
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from server.storage import ratings, reports, reports_xlsx
from server.storage.dossier_store import DossierStore
from server.storage.queue_store import QueueStore

VN = timezone(timedelta(hours=7))
MARITAL = "1.004873"  # 3 working days
START, END = date(2026, 11, 2), date(2026, 11, 30)  # 24/11 is a holiday (Vietnam Cultural Day)
AS_OF_MOMENT = datetime(2026, 11, 30, 12, 0, tzinfo=VN)


def at(day: int, hour: int = 8, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=VN)


# (channel, filed at, [(status, at, note)], expected bucket, how many)
SCENARIO = [
    ("direct", at(2), [("processing", at(3), None), ("resolved", at(4), None)], "ahead", 3),
    ("direct", at(2), [("resolved", at(5), None)], "on_time", 1),
    ("direct", at(2), [("resolved", at(5), None), ("returned", at(6), None)], "on_time", 1),
    ("direct", at(2), [("processing", at(3), None), ("resolved", at(9), None)], "late", 4),
    ("direct", at(2), [("processing", at(3), None)], "past_due", 2),
    ("direct", at(2), [("paused", at(3), "Chờ ý kiến cơ quan cấp trên")], "paused", 1),
    ("direct", at(2), [("withdrawn", at(3), "Công dân xin rút")], "withdrawn", 2),
    ("direct", at(2), [("refused", at(3), "Không thuộc thẩm quyền")], "refused", 1),
    # supplement still awaited: the clock stands still, so still within…
    ("direct", at(2), [("supplement_requested", at(3), "Thiếu tờ khai")], "within", 2),
    # …unless it was already past due when the supplement was asked for (due 5/11, asked 20/11)
    ("direct", at(2), [("supplement_requested", at(20), "Thiếu tờ khai")], "past_due", 1),
    # supplement asked Tue 3, brought Thu 5: two days given back, due Mon 9, resolved Mon 9
    ("direct", at(2), [("supplement_requested", at(3, 9), "Thiếu ảnh"), ("processing", at(5), None),
                       ("resolved", at(9), None)], "on_time", 1),
    ("direct", at(27), [("processing", at(27, 9), None)], "within", 3),
    ("online", at(10), [], "awaiting", 2),
    ("online", at(10), [("received", at(10, 9), None), ("resolved", at(11), None)], "ahead", 2),
    ("online", at(10), [("refused", at(10, 9), "Hồ sơ không hợp lệ")], "refused", 1),
    ("online", at(10), [("withdrawn", at(10, 9), "Nộp nhầm thủ tục")], "withdrawn", 1),
    ("postal", at(12), [("resolved", at(20), None)], "late", 1),
    # outside the period: never counted
    ("direct", at(30, 8, 10), [("resolved", at(2), None)], None, 2),
]
EXPECTED = Counter()
EXPECTED_CHANNEL = Counter()
for channel, _, _, bucket, n in SCENARIO:
    if bucket:
        EXPECTED[bucket] += n
        EXPECTED_CHANNEL[channel] += n


def generate(db) -> DossierStore:
    store = DossierStore(db, public_url="http://qr.test")
    for i, (channel, filed, steps, _, n) in enumerate(SCENARIO):
        for k in range(n):
            d = store.create(site="demo", procedure_code=MARITAL, applicant_name=f"Người Thứ {chr(65 + i)}{chr(65 + k)}",
                             channel=channel, actor="canbo1", now=filed)
            for status, when, note in steps:
                store.change_status(d["code"], status, note=note, actor="canbo2", now=when)
    return store


def test_dossier_report_counts_every_bucket_exactly(db):
    store = generate(db)
    calendar = lambda site: store.profile_for(site).calendar  # noqa: E731
    report = reports.dossier_report(db, "demo", START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert report["as_of"] == "2026-11-30"
    assert report["received"] == {"total": 29, "online": EXPECTED_CHANNEL["online"],
                                  "direct": EXPECTED_CHANNEL["direct"], "postal": EXPECTED_CHANNEL["postal"]}
    assert report["resolved"] == {"total": 13, "ahead": 5, "on_time": 3, "late": 5}
    assert report["in_progress"] == {"total": 8, "within": 5, "past_due": 3}
    assert (report["paused"], report["withdrawn"], report["refused"], report["awaiting_acceptance"]) == (1, 3, 2, 2)
    assert {b: sum(report["by_channel"][c][b] for c in reports.CHANNELS) for b in reports.BUCKETS} == {
        b: EXPECTED[b] for b in reports.BUCKETS}
    assert report["by_channel"]["online"]["ahead"] == 2 and report["by_channel"]["postal"]["late"] == 1

    # The domain, dossier by dossier, agrees with the SQL bucketing.
    from server.storage.tables import dossiers as table

    with db.read() as conn:
        codes = [r.code for r in conn.execute(table.select().where(table.c.filed_on >= START)).all()]
    judged = Counter(store.get(code, now=AS_OF_MOMENT)["timeliness"] for code in codes)
    for bucket in ("ahead", "on_time", "late"):
        assert judged[bucket] == EXPECTED[bucket]
    assert judged["within"] + judged["past_due"] == EXPECTED["within"] + EXPECTED["past_due"] + EXPECTED["paused"]

    # Province: same figures, one row per site.
    province = reports.dossier_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert province["resolved"] == report["resolved"] and [s["site"] for s in province["sites"]] == ["demo"]

    # Excel, read back.
    sheet = openpyxl.load_workbook(io.BytesIO(reports_xlsx.dossier_workbook(report, "Xã Mường Phăng"))).active
    assert sheet["A1"].value.startswith("BÁO CÁO TÌNH HÌNH TIẾP NHẬN")
    assert sheet["A3"].value == "Kỳ báo cáo: từ ngày 02/11/2026 đến ngày 30/11/2026 (số liệu tính đến ngày 30/11/2026)"
    rows = list(sheet.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "STT")
    subheads = rows[head + 1]
    assert rows[head][2] == "Tổng số hồ sơ tiếp nhận" and subheads[2:6] == ("Tổng", "Trực tuyến", "Trực tiếp", "Bưu chính")
    total_row = next(r for r in rows if r[1] == "Tổng cộng")
    assert total_row[2:] == (29, 6, 22, 1, 13, 5, 3, 5, 8, 5, 3, 1, 3, 2, 2)
    assert rows[head + 2][1] == "Xã Mường Phăng" and rows[head + 2][2:] == total_row[2:]


def test_ticket_report_waits_services_estimate_error_and_ratings(db):
    queue = QueueStore(db, public_url="http://qr.test")
    queue.set_counter("demo", "1", "open", actor="canbo1", now=at(9, 7))
    t1, _ = queue.issue("demo", "hotich", "ticket-one-1", now=at(9))
    t2, _ = queue.issue("demo", "hotich", "ticket-two-2", now=at(9) + timedelta(minutes=1))
    t3, _ = queue.issue("demo", "hotich", "ticket-three-3", now=at(9) + timedelta(minutes=2))
    assert [t1["est_wait_s"], t2["est_wait_s"], t3["est_wait_s"]] == [0, 300, 600]
    m = lambda minutes: at(9) + timedelta(minutes=minutes)  # noqa: E731
    queue.call_next("demo", "1", actor="canbo1", now=m(10))
    queue.ticket_action(t1["id"], "start", actor="canbo1", now=m(11))
    queue.ticket_action(t1["id"], "finish", actor="canbo1", now=m(15))
    queue.call_next("demo", "1", actor="canbo1", now=m(20))
    queue.ticket_action(t2["id"], "no-show", actor="canbo1", now=m(25))
    queue.call_next("demo", "1", actor="canbo1", now=m(30))
    queue.ticket_action(t3["id"], "start", actor="canbo1", now=m(31))
    queue.ticket_action(t3["id"], "finish", actor="canbo1", now=m(40))
    ratings.rate(db, t1["id"], "very_satisfied", actor="display-hall", site="demo")
    ratings.rate(db, t3["id"], "satisfied", actor="display-hall", site="demo")
    with pytest.raises(ratings.AlreadyRated):
        ratings.rate(db, t1["id"], "not_satisfied", actor="display-hall", site="demo")
    with pytest.raises(ratings.NotFinished):
        ratings.rate(db, t2["id"], "satisfied", actor="display-hall", site="demo")

    report = reports.ticket_report(db, "demo", START, END)
    assert (report["issued"], report["served"], report["no_show"]) == (3, 2, 1)
    assert report["overall"] == {"called": 3, "served": 2, "wait_median_s": 1140, "wait_p90_s": 1680,
                                 "service_median_s": 390, "service_p90_s": 540}
    assert report["by_counter"]["1"]["called"] == 3 and report["by_official"]["canbo1"]["served"] == 2
    assert report["estimate"] == {"samples": 3, "mean_abs_error_s": 840.0, "mean_error_s": -840.0}
    assert report["ratings"]["very_satisfied"] == 1 and report["ratings"]["satisfied"] == 1
    assert report["ratings"]["by_official"] == {"canbo1": {"very_satisfied": 1, "satisfied": 1, "not_satisfied": 0}}

    names = {"service": {"hotich": "Hộ tịch"}, "counter": {"1": "Quầy 1"}}
    sheet = openpyxl.load_workbook(io.BytesIO(reports_xlsx.ticket_workbook(report, "Xã Mường Phăng", names))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert ("Số phiếu đã cấp", 3) == (rows[4][1], rows[4][2])
    service_row = next(r for r in rows if r[1] == "Hộ tịch")
    assert service_row[2:8] == (3, 2, 19.0, 28.0, 6.5, 9.0)
    assert next(r for r in rows if r[1] == "canbo1" and r[2] == 1)[2:6] == (1, 1, 0, 2)


# ---- the roll-up kept by the store ----------------------------------------------------------------

def rollup_matches_dossiers(db) -> dict:
    """The roll-up and the report rows, rebuilt from the dossiers table, must equal what the store
    kept in its transactions (zero counts left behind by moves are ignored)."""
    from server.storage.tables import (
        dossier_report_rollup,
        dossier_report_rows,
        dossiers,
    )

    with db.read() as conn:
        rows = conn.execute(dossiers.select()).all()
        kept_rows = {r.dossier_id: r for r in conn.execute(dossier_report_rows.select()).all()}
        kept = {(r.site, r.filed_on, r.channel, r.bucket): r.n
                for r in conn.execute(dossier_report_rollup.select()).all() if r.n}
    expected = Counter()
    for r in rows:
        inputs = {f: getattr(r, f) for f in reports.INPUTS}
        bucket, settles_on, settle_class = reports.settle(r.filed_on, **inputs)
        expected[r.site, r.filed_on, r.channel, bucket] += 1
        mirror = kept_rows.pop(r.id)
        assert (mirror.site, mirror.filed_on, mirror.channel, mirror.bucket, mirror.settles_on, mirror.settle_class) == (
            r.site, r.filed_on, r.channel, bucket, settles_on, settle_class)
        assert {f: getattr(mirror, f) for f in reports.INPUTS} == inputs
    assert not kept_rows and kept == dict(expected)
    return kept


def brute_force(db, store, start: date, end: date, as_of: date) -> Counter:
    """Every dossier judged on its own (waits for a supplement through the domain's due date)."""
    from server.storage.tables import dossiers

    with db.read() as conn:
        rows = conn.execute(dossiers.select().where(dossiers.c.filed_on >= start, dossiers.c.filed_on <= end)).all()
    found = Counter()
    for r in rows:
        bucket = reports.bucket_as_of(*(getattr(r, f) for f in reports.INPUTS), as_of)
        if bucket == reports.STOPPED:
            due = date.fromisoformat(store.get(r.code, now=datetime(as_of.year, as_of.month, as_of.day, 23, 0,
                                                                     tzinfo=VN))["due_date"])
            bucket = "within" if as_of <= due else "past_due"
        found[bucket, r.channel] += 1
    return found


def report_counter(report) -> Counter:
    return Counter({(b, ch): n for ch, per in report["by_channel"].items() for b, n in per.items() if n})


def test_rollup_follows_every_status_change_and_judges_any_day(db):
    store = generate(db)
    calendar = lambda site: store.profile_for(site).calendar  # noqa: E731
    rollup_matches_dossiers(db)
    # More changes after the month: waits answered, late ones resolved, a stop lifted then withdrawn.
    with db.read() as conn:
        from server.storage.tables import dossiers

        open_rows = conn.execute(dossiers.select().where(dossiers.c.status.in_(
            ["supplement_requested", "processing", "paused", "submitted"])).order_by(dossiers.c.id)).all()
    for r in open_rows:
        if r.status == "supplement_requested":
            store.change_status(r.code, "processing", actor="canbo2", now=at(2, 9, 12))
            store.change_status(r.code, "resolved", actor="canbo2", now=at(4, 10, 12))
        elif r.status == "processing":
            store.change_status(r.code, "resolved", actor="canbo2", now=at(1, 10, 12))
        elif r.status == "paused":
            store.change_status(r.code, "processing", actor="canbo2", now=at(1, 9, 12))
            store.change_status(r.code, "withdrawn", note="Không bổ sung", actor="canbo2", now=at(3, 9, 12))
        else:
            store.change_status(r.code, "received", actor="canbo2", now=at(1, 9, 12))
    rollup_matches_dossiers(db)
    # Judged on every day from before the month to after the changes, for the month and the
    # month so far: the roll-up plus the re-judged unsettled rows equal each dossier judged alone.
    day = date(2026, 10, 30)
    while day <= date(2026, 12, 8):
        for end in (END, min(END, day)):
            report = reports.dossier_report(db, "demo", START, end, today=day, calendar_for=calendar)
            as_of = min(end, day)
            assert report_counter(report) == brute_force(db, store, START, end, as_of), (day, end)
        day += timedelta(days=1)
    # November as of its end after December's changes: resolutions and acceptances in December are
    # not counted; the stop lifted in December is judged by the status now (not dated on the row).
    report = reports.dossier_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert report["resolved"] == {"total": 13, "ahead": 5, "on_time": 3, "late": 5}
    assert report["in_progress"] == {"total": 9, "within": 5, "past_due": 4}
    assert (report["paused"], report["withdrawn"], report["refused"], report["awaiting_acceptance"]) == (0, 3, 2, 2)


def test_migration_backfills_the_rollup_from_existing_dossiers(db):
    from alembic import command
    from sqlalchemy import inspect

    from server.storage import migrate

    store = generate(db)
    calendar = lambda site: store.profile_for(site).calendar  # noqa: E731
    before = reports.dossier_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    kept = rollup_matches_dossiers(db)
    cfg = migrate.alembic_config(db)
    with db.engine.connect() as conn:  # back to 0002: the dossiers stay, the roll-up goes
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        conn.commit()
    with db.engine.connect() as conn:
        assert not {"dossier_report_rollup", "dossier_report_rows"} & set(inspect(conn).get_table_names())
    migrate.upgrade(db)
    assert rollup_matches_dossiers(db) == kept
    after = reports.dossier_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert after == before and after["received"]["total"] == 29
