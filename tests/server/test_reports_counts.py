"""Reports over a generated month whose true counts are known by construction, on SQLite and
PostgreSQL; the Excel file read back with openpyxl must say the same."""

import io
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from server.storage import period_report, period_xlsx, ratings, reports, reports_xlsx
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
def generate(db) -> DossierStore:
    store = DossierStore(db, public_url="http://qr.test")
    for i, (channel, filed, steps, _, n) in enumerate(SCENARIO):
        for k in range(n):
            d = store.create(site="demo", procedure_code=MARITAL, applicant_name=f"Người Thứ {chr(65 + i)}{chr(65 + k)}",
                             channel=channel, actor="canbo1", now=filed)
            for status, when, note in steps:
                store.change_status(d["code"], status, note=note, actor="canbo2", now=when, reason=note)
    return store


def test_november_by_the_period_convention(db):
    """The month as the province counts it: the two dossiers filed in October and resolved on
    2/11 are carried over and resolved in November; online ones count when accepted."""
    store = generate(db)
    calendar = lambda site: store.profile_for(site).calendar  # noqa: E731
    report = period_report.period_report(db, "demo", START, END, today=date(2026, 12, 15), calendar_for=calendar)
    f = report["figures"]
    assert report["as_of"] == "2026-11-30" and report["closed"] is True
    assert (f["carried_over"], f["received"], f["received_online"], f["received_direct"], f["received_postal"],
            f["to_handle"]) == (2, 25, 2, 22, 1, 27)
    assert (f["resolved"], f["resolved_ahead"], f["resolved_on_time"], f["resolved_late"]) == (15, 7, 3, 5)
    assert (f["withdrawn"], f["refused"], f["not_accepted"], f["awaiting_acceptance"]) == (2, 1, 2, 2)
    assert (f["open_end"], f["open_within"], f["open_past_due"], f["open_paused"], f["open_supplement"]) == (
        9, 5, 4, 1, 3)
    assert f["to_handle"] == f["resolved"] + f["withdrawn"] + f["refused"] + f["open_end"]
    assert f["late_total"] == 9 and f["on_time_rate"] == 66.67

    # Province: same figures, one row per site.
    province = period_report.period_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert province["figures"] == f and [s["key"] for s in province["sites"]] == ["demo"]
    sheet = openpyxl.load_workbook(io.BytesIO(period_xlsx.period_workbook(province, "Toàn tỉnh")))["Theo trung tâm"]
    rows = list(sheet.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert rows[head][2] == "Kỳ trước chuyển sang" and rows[head + 1][1] == province["sites"][0]["label"]
    assert list(rows[head + 1][2:]) == list(f.values()) == list(rows[head + 2][2:])


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


def test_migration_builds_the_ledger_from_existing_histories(db):
    """Back to 0004 (the ledger goes, 0003's roll-up comes back), then up again: the ledger is
    rebuilt from the event histories alone and the report is the same."""
    from alembic import command
    from sqlalchemy import inspect

    from server.storage import migrate

    store = generate(db)
    calendar = lambda site: store.profile_for(site).calendar  # noqa: E731
    before = period_report.period_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    cfg = migrate.alembic_config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
        conn.commit()
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert "dossier_spans" not in tables and "dossier_report_rollup" in tables
    migrate.upgrade(db)
    after = period_report.period_report(db, None, START, END, today=date(2026, 12, 15), calendar_for=calendar)
    assert after == before and after["figures"]["to_handle"] == 27
