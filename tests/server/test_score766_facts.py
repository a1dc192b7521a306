"""Decision 766 sub-indices 3.6 (online payment), 4.1 (digitised results) and 4.2 (digitised
dossiers): the facts an official states with a change, counted on the change's day, on SQLite and
PostgreSQL; then the same facts sent over HTTP to the real server and read back in the report,
its Excel sheet, and a misplaced fact refused with a clear error.

The generated history (``november``): dossiers i = 0…19, two a day from Monday 2/11/2026.

* online when i % 5 == 4 (4, 9, 14, 19), accepted the next day; the others direct.
* components digitised: direct ones unless i % 4 == 0 (not 0, 8, 12, 16) → 12; online ones when
  i % 10 == 4 (4, 14) → 2. All 20 are received in November: 4.2 R = 14 / 20 = 70 %.
* a fee step when i % 3 == 0 (0, 3, 6, 9, 12, 15, 18), ended the day after it began, paid online
  when i is even (0, 6, 12, 18), said "not online" for 3 and 9, not said for 15 → 7 fee steps,
  4 online.
* resolved three days after acceptance unless i % 7 == 6 (6, 13 stay open) → 18 resolved; result
  digitised for odd i (not 13, not resolved; not 1, not said) → 3, 5, 7, 9, 11, 15, 17, 19 = 8:
  4.1 R = 8 / 18 = 44.44 %.

Around it: X (received 28/10 digitised, fee step from 29/10 ended 2/11 paid online, resolved 1/12
with its result digitised) and Y (received 20/10 digitised, resolved 23/10 digitised).

November: 3.6 R = (4 + X) / (7 + X) = 5 / 8 = 62.5 % → ≥ 50: 2 points of 2; 4.1 44.44 % → 44.44 ×
4 / 100 = 1.78; 4.2 70 % → 70 × 4 / 100 = 2.8. October: received X, Y both digitised (4.2: 100),
resolved Y digitised (4.1: 100), no fee step ended (3.6: none). December: X resolved digitised
(4.1: 100), nothing received (4.2: none)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from server.domain import dossiers as d
from server.storage import period_report, period_xlsx
from server.storage.dossier_store import DossierStore

VN = timezone(timedelta(hours=7))
MARITAL = "1.004873"
PERIODS = {"oct": (date(2026, 10, 1), date(2026, 10, 31)), "nov": (date(2026, 11, 1), date(2026, 11, 30)),
           "dec": (date(2026, 12, 1), date(2026, 12, 31))}
MUCH_LATER = date(2027, 4, 1)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


def november() -> dict[str, tuple]:
    """name → (channel, intake moment, components digitised at intake, [(moment, status, facts)])."""
    out = {}
    for i in range(20):
        intake = at(11, 2 + i // 2, 9, i)
        online = i % 5 == 4
        changes = []
        base = intake
        if online:
            base = intake + timedelta(days=1)
            changes.append((base, "received", {"components_digitised": True} if i % 10 == 4 else {}))
        if i % 3 == 0:
            paid = True if i % 2 == 0 else None if i == 15 else False
            changes.append((base + timedelta(days=1, hours=1), "fee_due", {}))
            changes.append((base + timedelta(days=2, hours=1), "processing",
                            {} if paid is None else {"paid_online": paid}))
        if i % 7 != 6:
            changes.append((base + timedelta(days=3, hours=1), "resolved",
                            {} if i == 1 else {"result_digitised": i % 2 == 1}))
        out[f"N{i}"] = ("online" if online else "direct", intake, None if online else i % 4 != 0, changes)
    out["X"] = ("direct", at(10, 28), True, [(at(10, 29), "fee_due", {}),
                                              (at(11, 2, 10), "processing", {"paid_online": True}),
                                              (at(12, 1), "resolved", {"result_digitised": True})])
    out["Y"] = ("direct", at(10, 20), True, [(at(10, 23), "resolved", {"result_digitised": True})])
    return out


def play(store: DossierStore, history: dict, until: datetime | None, done: set, codes: dict) -> None:
    """Every intake and change before ``until`` not yet played, in time order."""
    events = []
    for name, (channel, intake, digitised, changes) in history.items():
        events.append((intake, name, 0, ("intake", channel, digitised)))
        events += [(moment, name, k, (status, facts)) for k, (moment, status, facts) in enumerate(changes, 1)]
    for moment, name, k, step in sorted(events):
        if (name, k) in done or (until is not None and moment >= until):
            continue
        done.add((name, k))
        if step[0] == "intake":
            codes[name] = store.create(site="demo", procedure_code=MARITAL, applicant_name=f"Người {name}",
                                       channel=step[1], actor="canbo1", now=moment,
                                       components_digitised=step[2])["code"]
        else:
            store.change_status(codes[name], step[0], actor="canbo1", now=moment, **step[1])


def score(db, store, period, today) -> dict[str, tuple]:
    got = period_report.period_report(db, "demo", *period, today=today,
                                      calendar_for=lambda s: store.profile_for(s).calendar)
    return {i["code"]: (i["ratio"], i["points"], i["inputs"]) for i in got["decision_766"]["sub_indices"]}, got


def test_online_payment_and_digitisation_by_hand_over_three_periods(db):
    store = DossierStore(db, public_url="http://qr.test")
    history, done, codes = november(), set(), {}
    play(store, history, datetime(2026, 11, 1, tzinfo=VN), done, codes)
    october_then, _ = score(db, store, PERIODS["oct"], date(2026, 11, 1))
    play(store, history, None, done, codes)

    october, _ = score(db, store, PERIODS["oct"], MUCH_LATER)
    assert october == october_then  # a fee step of October's dossier X ended in November: October keeps none
    assert october["3.6"] == (None, None, {"paid_online": 0, "fee_paid": 0})
    assert october["4.1"] == (100.0, 4.0, {"result_digitised": 1, "resolved": 1})
    assert october["4.2"] == (100.0, 4.0, {"digitised": 2, "received": 2})

    nov, report = score(db, store, PERIODS["nov"], MUCH_LATER)
    assert nov["3.6"] == (62.5, 2.0, {"paid_online": 5, "fee_paid": 8})
    assert nov["4.1"] == (44.44, 1.78, {"result_digitised": 8, "resolved": 18})
    assert nov["4.2"] == (70.0, 2.8, {"digitised": 14, "received": 20})
    assert report["figures"]["received"] == 20 and report["figures"]["resolved"] == 18
    assert [i["code"] for i in report["decision_766"]["sub_indices"]] == ["2.1", "3.3", "3.6", "4.1", "4.2", "5.4"]
    assert report["decision_766"]["not_computed"] == []

    # the Excel sheet carries the same R and points as the JSON, with the formula
    sheet = openpyxl.load_workbook(io.BytesIO(period_xlsx.period_workbook(report, "Xã Mường Phăng")))["Chỉ số 766"]
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if r[0] in ("3.6", "4.1", "4.2")}
    assert {code: (r[2], r[5]) for code, r in rows.items()} == {
        "3.6": (62.5, 2.0), "4.1": (44.44, 1.78), "4.2": (70.0, 2.8)}
    assert all(r[6].startswith("R = ") and r[8] for r in rows.values())

    dec, _ = score(db, store, PERIODS["dec"], MUCH_LATER)
    assert dec["4.1"] == (100.0, 4.0, {"result_digitised": 1, "resolved": 1})
    assert dec["4.2"][0] is None and dec["3.6"][0] is None

    # configurable weights move the points, not R
    heavier = period_report.period_report(
        db, "demo", *PERIODS["nov"], today=MUCH_LATER, calendar_for=lambda s: store.profile_for(s).calendar,
        weights_766={"3.6": {"pmax": 3, "threshold": 80}, "4.2": {"pmax": 6, "threshold": 60}})["decision_766"]
    found = {i["code"]: (i["ratio"], i["points"]) for i in heavier["sub_indices"]}
    assert found["3.6"] == (62.5, 2.34) and found["4.2"] == (70.0, 6.0)  # 62.5 × 3 / 80; 70 ≥ 60


def test_a_fact_on_the_wrong_change_is_refused_and_changes_nothing(db):
    store = DossierStore(db, public_url="http://qr.test")
    code = store.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                        actor="canbo1", now=at(11, 2))["code"]
    with pytest.raises(d.FactNotApplicable, match="paid_online"):
        store.change_status(code, "processing", actor="canbo1", now=at(11, 2, 10), paid_online=True)
    with pytest.raises(d.FactNotApplicable, match="result_digitised"):
        store.change_status(code, "fee_due", actor="canbo1", now=at(11, 2, 10), result_digitised=True)
    with pytest.raises(d.FactNotApplicable, match="online dossier"):
        store.create(site="demo", procedure_code=MARITAL, applicant_name="Quàng Văn Nam", channel="online",
                     actor="portal", now=at(11, 2), components_digitised=True)
    assert [h["to"] for h in store.get(code)["history"]] == ["received"]


def test_facts_over_http_reach_the_report_and_a_misplaced_one_is_a_422(site):
    """An official states the facts with the changes the terminal sends; the director's report
    (JSON and Excel) counts them; a fact on the wrong change is refused naming it, nothing kept."""
    with site.client("canbo1") as c:
        r = c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "Lò Thị Mai",
                                             "channel": "direct", "components_digitised": True})
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        plain = c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "Quàng Văn Nam",
                                                 "channel": "direct"}).json()["code"]
        wrong = c.post(f"/api/v1/dossiers/{code}/status", json={"status": "fee_due", "paid_online": True})
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "fact_not_applicable"
        assert "paid_online" in wrong.json()["error"]["message"]
        assert [h["to"] for h in c.get(f"/api/v1/dossiers/{code}").json()["history"]] == ["received"]
        for body in ({"status": "fee_due"}, {"status": "processing", "paid_online": True},
                     {"status": "resolved", "result_digitised": True}):
            assert c.post(f"/api/v1/dossiers/{code}/status", json=body).status_code == 200
        for body in ({"status": "fee_due"}, {"status": "processing", "paid_online": False},
                     {"status": "resolved", "result_digitised": False}):
            assert c.post(f"/api/v1/dossiers/{plain}/status", json=body).status_code == 200
        history = c.get(f"/api/v1/dossiers/{code}").json()["history"]
    assert history[0]["components_digitised"] is True and history[2]["paid_online"] is True
    assert history[3]["result_digitised"] is True
    with site.client("giamdoc") as g:
        report = g.get("/api/v1/sites/demo/reports/dossiers").json()
        xlsx = g.get("/api/v1/sites/demo/reports/dossiers", params={"format": "xlsx"})
    found = {i["code"]: (i["ratio"], i["inputs"]) for i in report["decision_766"]["sub_indices"]}
    assert found["3.6"] == (50.0, {"paid_online": 1, "fee_paid": 2})
    assert found["4.1"] == (50.0, {"result_digitised": 1, "resolved": 2})
    assert found["4.2"] == (50.0, {"digitised": 1, "received": 2})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Chỉ số 766"]
    assert {r[0]: r[2] for r in sheet.iter_rows(values_only=True) if r[0] in found} == {
        k: v[0] for k, v in found.items()}
