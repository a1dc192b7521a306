"""A supplement may be asked once: a second request needs a reason and counts late.

Over HTTP (the live site): the second request without ``reason`` is a 422 with the code
``second_supplement_needs_reason`` and changes nothing; with one it is kept in the history.
In the period report (real store, SQLite and PostgreSQL): Decision 766 sub-index 2.1 counts the
dossier late although it was resolved on its due date; the expected values are worked by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.storage import period_report
from server.storage.dossier_store import DossierStore
from tests.server.test_dossier_api import intake

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MARITAL = "1.004873"  # 3 working days


def test_a_second_supplement_request_needs_a_reason(site):
    d = intake(site)
    url = f"/api/v1/dossiers/{d['code']}/status"
    with site.client("canbo1") as c:
        assert c.post(url, json={"status": "supplement_requested", "note": "Thiếu ảnh"}).status_code == 200
        assert c.post(url, json={"status": "processing"}).status_code == 200
        refused = c.post(url, json={"status": "supplement_requested", "note": "Ảnh sai kích thước"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "second_supplement_needs_reason"
        assert "reason" in refused.json()["error"]["message"]
        assert c.get(f"/api/v1/dossiers/{d['code']}").json()["status"] == "processing"  # nothing changed
        blank = c.post(url, json={"status": "supplement_requested", "note": "Ảnh sai", "reason": "   "})
        assert blank.status_code == 422 and blank.json()["error"]["code"] == "second_supplement_needs_reason"
        ok = c.post(url, json={"status": "supplement_requested", "note": "Ảnh sai kích thước",
                               "reason": "Ảnh công dân mang đến lần trước không đúng cỡ 4x6"})
        assert ok.status_code == 200, ok.text
        view = ok.json()
    assert view["supplement_requests"] == 2 and view["counts_late"] is True
    assert view["history"][-1]["reason"] == "Ảnh công dân mang đến lần trước không đúng cỡ 4x6"
    assert view["history"][1]["reason"] is None  # the first request needs none and keeps none


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=VN)


def test_decision_766_2_1_counts_a_second_request_late(db):
    """November 2026, three dossiers of a 3-working-day procedure, all received Monday 16/11:

    P: one supplement (asked Tue 17, brought Wed 18: 1 day back, due Fri 20), resolved Fri 20.
    Q: two supplements (17→18 and 19→20: 2 days back, due Mon 23), resolved Mon 23, on its date.
    R: nothing asked, due Thu 19, resolved Wed 18 (ahead).

    By date all three are in time (ahead 1, on time 2, late 0). Sub-index 2.1 subtracts Q:
    R = (1 + 2 − 1) / 3 × 100 = 66.67; with Pmax 10 and threshold 100: 6.67 points.
    """
    store = DossierStore(db, public_url="http://qr.test")
    codes = {}
    for name in "PQR":
        codes[name] = store.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai",
                                   channel="direct", actor="canbo1", now=at(16))["code"]
    store.change_status(codes["P"], "supplement_requested", note="Thiếu ảnh", actor="canbo1", now=at(17))
    store.change_status(codes["P"], "processing", actor="canbo1", now=at(18))
    store.change_status(codes["P"], "resolved", actor="canbo1", now=at(20))
    store.change_status(codes["Q"], "supplement_requested", note="Thiếu ảnh", actor="canbo1", now=at(17))
    store.change_status(codes["Q"], "processing", actor="canbo1", now=at(18))
    store.change_status(codes["Q"], "supplement_requested", note="Ảnh sai", reason="Ảnh không đúng cỡ",
                        actor="canbo1", now=at(19))
    store.change_status(codes["Q"], "processing", actor="canbo1", now=at(20))
    store.change_status(codes["Q"], "resolved", actor="canbo1", now=at(23))
    store.change_status(codes["R"], "resolved", actor="canbo1", now=at(18))

    q = store.get(codes["Q"], now=at(30))
    assert (q["due_date"], q["timeliness"], q["counts_late"]) == ("2026-11-23", "on_time", True)
    report = period_report.period_report(
        db, "demo", date(2026, 11, 1), date(2026, 11, 30), today=date(2026, 12, 15),
        calendar_for=lambda s: store.profile_for(s).calendar,
        weights_766={"2.1": {"pmax": 10, "threshold": 100}})
    f = report["figures"]
    assert (f["resolved_ahead"], f["resolved_on_time"], f["resolved_late"]) == (1, 2, 0)
    sub = {i["code"]: i for i in report["decision_766"]["sub_indices"]}["2.1"]
    assert sub["inputs"] == {"on_time": 2, "judged": 3}
    assert (sub["ratio"], sub["points"]) == (66.67, 6.67)
