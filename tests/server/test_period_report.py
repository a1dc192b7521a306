"""The official period convention over a history spanning three periods (October, November,
December 2026), on SQLite and PostgreSQL: carried-over dossiers, a supplement and a stop crossing
period ends, an evening online submission accepted the next working day, a stop and a withdrawal
made after a period closed. Each period's report taken at its end equals the same report taken
months later, equals its Excel file, and the periods chain (open at the end of one = carried over
into the next). The figures of each period are written out by hand below."""

import io
import random
from datetime import date, datetime, timedelta, timezone

import openpyxl
from server.domain.period_figures import COUNT_KEYS, DEFINITIONS
from server.storage import period_report, period_xlsx
from server.storage.dossier_store import DossierStore
from server.storage.tables import users

VN = timezone(timedelta(hours=7))
MARITAL = "1.004873"  # Hộ tịch, 3 working days
RESIDENCE = "1.004222"  # Cư trú, 7 working days
PERIODS = [(date(2026, 10, 1), date(2026, 10, 31)), (date(2026, 11, 1), date(2026, 11, 30)),
           (date(2026, 12, 1), date(2026, 12, 31))]
MUCH_LATER = date(2027, 4, 1)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


# name: (channel, procedure, intake moment, official, [(moment, action, argument)])
HISTORY = {
    # received in September, still open on 30/9 (carried over), resolved late (due 1/10) in October
    "A": ("direct", MARITAL, at(9, 28), "canbo1", [(at(10, 6), "resolved", None)]),
    # supplement asked 29/10, brought 4/11: within at October's end; 4 days given back, due 12/11
    "B": ("direct", RESIDENCE, at(10, 28), "canbo1", [
        (at(10, 29, 10), "supplement_requested", "Thiếu giấy xác nhận"), (at(11, 4), "processing", None),
        (at(11, 12), "resolved", None)]),
    # submitted online Friday 30/10 at 20:00, accepted Monday 2/11: November's, not October's
    "C": ("online", MARITAL, at(10, 30, 20), "portal", [(at(11, 2, 8), "received", "canbo2"),
                                                        (at(11, 4), "resolved", None)]),
    # due 23/10, stopped 22/10 until 3/11 (past due at October's end), Mẫu 04 on 3/11, late on 5/11
    "D": ("direct", MARITAL, at(10, 20), "canbo1", [
        (at(10, 22), "paused", "Chờ ý kiến cơ quan cấp trên"), (at(11, 3), "processing", None),
        (at(11, 3, 10), "apology", date(2026, 11, 6)), (at(11, 5), "resolved", None)]),
    # due 4/11; stopped only on 10/11 (October's figures must not move), withdrawn 3/12
    "E": ("direct", RESIDENCE, at(10, 26), "canbo1", [
        (at(11, 10), "paused", "Chờ xác minh"), (at(12, 3), "withdrawn", "Công dân xin rút")]),
    # two supplement requests (1 day back each: due 23/11), resolved 23/11: on time by date
    "F": ("direct", MARITAL, at(11, 16), "canbo1", [
        (at(11, 17), "supplement_requested", "Thiếu ảnh"), (at(11, 18), "processing", None),
        (at(11, 19), "supplement_requested", "Ảnh sai kích thước"), (at(11, 20), "processing", None),
        (at(11, 23), "resolved", None)]),
    # online, refused before acceptance
    "G": ("online", MARITAL, at(11, 27, 10), "portal", [(at(11, 27, 14), "refused", "Nộp nhầm thủ tục")]),
    # by post on November's last day, resolved on its due day 3/12
    "H": ("postal", MARITAL, at(11, 30), "canbo1", [(at(12, 3), "resolved", None)]),
    # refused after acceptance
    "I": ("direct", MARITAL, at(11, 9), "canbo1", [(at(11, 10), "refused", "Không thuộc thẩm quyền")]),
}

EXPECTED = [
    dict(carried_over=1, received=3, received_online=0, received_direct=3, received_postal=0, to_handle=4,
         resolved=1, resolved_ahead=0, resolved_on_time=0, resolved_late=1, withdrawn=0, refused=0, open_end=3,
         open_within=2, open_past_due=1, open_supplement=1, open_paused=1, late_total=2, awaiting_acceptance=1,
         submitted_online=1, not_accepted=0, supplement_requests=1, apologies=0, on_time_rate=0.0,
         online_rate=0.0),
    dict(carried_over=3, received=4, received_online=1, received_direct=2, received_postal=1, to_handle=7,
         resolved=4, resolved_ahead=1, resolved_on_time=2, resolved_late=1, withdrawn=0, refused=1, open_end=2,
         open_within=1, open_past_due=1, open_supplement=0, open_paused=1, late_total=2, awaiting_acceptance=0,
         submitted_online=1, not_accepted=1, supplement_requests=2, apologies=1, on_time_rate=75.0,
         online_rate=25.0),
    dict(carried_over=2, received=0, received_online=0, received_direct=0, received_postal=0, to_handle=2,
         resolved=1, resolved_ahead=0, resolved_on_time=1, resolved_late=0, withdrawn=1, refused=0, open_end=0,
         open_within=0, open_past_due=0, open_supplement=0, open_paused=0, late_total=0, awaiting_acceptance=0,
         submitted_online=0, not_accepted=0, supplement_requests=0, apologies=0, on_time_rate=100.0,
         online_rate=None),
]


def steps(history: dict) -> list[tuple[datetime, int, str, tuple]]:
    """Every intake and change of ``history``, in time order."""
    out = []
    for name, (channel, procedure, intake, official, changes) in history.items():
        out.append((intake, 0, name, ("intake", channel, procedure, official)))
        for k, (moment, action, argument) in enumerate(changes, 1):
            out.append((moment, k, name, (action, argument)))
    return sorted(out, key=lambda s: (s[0], s[2], s[1]))


def play(store: DossierStore, history: dict, *, until: datetime | None, done: set, codes: dict) -> None:
    for moment, k, name, step in steps(history):
        if (name, k) in done or (until is not None and moment >= until):
            continue
        done.add((name, k))
        if step[0] == "intake":
            _, channel, procedure, official = step
            codes[name] = store.create(site="demo", procedure_code=procedure, applicant_name=f"Người {name}",
                                       channel=channel, actor=official, now=moment)["code"]
        elif step[0] == "apology":
            store.apologise(codes[name], step[1], "Chờ ý kiến cơ quan cấp trên", actor="canbo1", now=moment)
        elif step[0] == "received":
            store.change_status(codes[name], "received", actor=step[1], now=moment)
        else:
            store.change_status(codes[name], step[0], note=step[1], actor="canbo1", now=moment,
                                reason=step[1] if step[0] == "supplement_requested" else None)


def report(db, store, period, today):
    return period_report.period_report(db, "demo", *period, today=today,
                                       calendar_for=lambda s: store.profile_for(s).calendar)


def workbook_figures(report_json) -> dict:
    body = period_xlsx.period_workbook(report_json, "Xã Mường Phăng")
    wb = openpyxl.load_workbook(io.BytesIO(body))
    rows = list(wb[period_xlsx.SUMMARY].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[:3] == ("STT", "Chỉ tiêu", "Số liệu"))
    labels = {d.label: d.key for d in DEFINITIONS}
    found = {labels[r[1]]: r[2] for r in rows[head + 1:] if r[1] in labels}
    by_official = list(wb["Theo cán bộ"].iter_rows(values_only=True))
    return {"summary": found, "official_rows": by_official}


def balanced(f: dict) -> bool:
    return f["carried_over"] + f["received"] == f["to_handle"] == \
        f["resolved"] + f["withdrawn"] + f["refused"] + f["open_end"]


def test_three_periods_closed_reports_never_change_chain_and_match_excel(db):
    store = DossierStore(db, public_url="http://qr.test")
    with db.write() as conn:
        conn.execute(users.insert().values(username="canbo1", password_hash="x", role="official", site="demo",
                                           full_name="Lò Thị Mai", active=True))
    done, codes = set(), {}
    at_end = []
    for start, end in PERIODS:
        play(store, HISTORY, until=datetime.combine(end + timedelta(days=1), datetime.min.time(), VN),
             done=done, codes=codes)
        at_end.append(report(db, store, (start, end), end + timedelta(days=1)))
    play(store, HISTORY, until=None, done=done, codes=codes)

    for i, (period, then) in enumerate(zip(PERIODS, at_end)):
        assert then["figures"] == EXPECTED[i], (period, then["figures"])
        assert then["closed"] is True and then["as_of"] == period[1].isoformat()
        later = report(db, store, period, MUCH_LATER)
        assert later == then
        assert workbook_figures(later)["summary"] == later["figures"]
        assert balanced(later["figures"])
        for rows in later["breakdowns"].values():
            assert all(balanced(r["figures"]) for r in rows)
            for key in COUNT_KEYS:
                assert sum(r["figures"][key] for r in rows) == later["figures"][key], key
    for earlier, nxt in zip(at_end, at_end[1:]):
        assert earlier["figures"]["open_end"] == nxt["figures"]["carried_over"]

    november = at_end[1]
    assert november["decision_766_inputs"]["resolved_in_time_multi_supplement"] == 1  # F
    fields = {r["label"]: r["figures"] for r in november["breakdowns"]["field"]}
    assert (fields["Cư trú"]["carried_over"], fields["Cư trú"]["resolved_on_time"],
            fields["Cư trú"]["open_past_due"]) == (2, 1, 1)  # B and E
    officials = {r["label"]: r["figures"] for r in november["breakdowns"]["official"]}
    assert set(officials) == {"Lò Thị Mai", "canbo2", "Chưa tiếp nhận"}  # full name where one is known
    assert officials["canbo2"]["received_online"] == 1 and officials["Chưa tiếp nhận"]["not_accepted"] == 1
    channels = {r["key"]: r["figures"] for r in november["breakdowns"]["channel"]}
    assert channels["online"]["received"] == 1 and channels["postal"]["open_within"] == 1
    sheet = workbook_figures(november)["official_rows"]
    assert any(r[1] == "Lò Thị Mai" for r in sheet)


def test_a_generated_history_chains_balances_and_never_changes(db):
    """60 random dossiers over the three periods: same properties, whatever the history."""
    rnd = random.Random(11)
    history = {}
    for n in range(60):
        channel = rnd.choice(["direct", "direct", "online", "postal"])
        moment = at(9, 20) + timedelta(days=rnd.randrange(100), hours=rnd.randrange(12))
        changes, t = [], moment
        if channel == "online":
            t += timedelta(hours=rnd.randrange(2, 60))
            if rnd.random() < 0.15:
                history[f"R{n}"] = (channel, MARITAL, moment, "portal", [(t, "refused", "Không hợp lệ")])
                continue
            changes.append((t, "received", "canbo2"))
        for _ in range(rnd.randrange(3)):
            kind = rnd.choice(["supplement_requested", "paused"])
            t += timedelta(days=rnd.randrange(1, 12), hours=1)
            changes.append((t, kind, "Lý do"))
            t += timedelta(days=rnd.randrange(1, 12), hours=1)
            changes.append((t, "processing", None))
        t += timedelta(days=rnd.randrange(1, 15), hours=1)
        fate = rnd.random()
        if fate < 0.7:
            changes.append((t, "resolved", None))
        elif fate < 0.8:
            changes.append((t, "withdrawn", "Công dân xin rút"))
        history[f"R{n}"] = (channel, rnd.choice([MARITAL, RESIDENCE]), moment, "canbo3", changes)
    store = DossierStore(db, public_url="http://qr.test")
    done, codes, at_end = set(), {}, []
    for start, end in PERIODS:
        play(store, history, until=datetime.combine(end + timedelta(days=1), datetime.min.time(), VN),
             done=done, codes=codes)
        at_end.append(report(db, store, (start, end), end + timedelta(days=1)))
    play(store, history, until=None, done=done, codes=codes)
    for period, then in zip(PERIODS, at_end):
        assert report(db, store, period, MUCH_LATER) == then
        assert balanced(then["figures"]) and workbook_figures(then)["summary"] == then["figures"]
    for earlier, nxt in zip(at_end, at_end[1:]):
        assert earlier["figures"]["open_end"] == nxt["figures"]["carried_over"]
    # A quarter = its three months chained: same carried over, flows summed, same end.
    quarter = report(db, store, (PERIODS[0][0], PERIODS[2][1]), MUCH_LATER)["figures"]
    assert quarter["carried_over"] == at_end[0]["figures"]["carried_over"]
    assert quarter["open_end"] == at_end[2]["figures"]["open_end"]
    for key in ("received", "resolved", "resolved_late", "withdrawn", "not_accepted", "supplement_requests"):
        assert quarter[key] == sum(r["figures"][key] for r in at_end), key
    # The whole year is read from the yearly roll-up rows as they are (one row per key, nothing
    # added up); cut one day short, from months and days added up; December 31 alone, from its
    # daily rows. The year's flows are the two added, its end is December's.
    year = report(db, store, (date(2026, 1, 1), date(2026, 12, 31)), MUCH_LATER)
    short = report(db, store, (date(2026, 1, 1), date(2026, 12, 30)), MUCH_LATER)
    last_day = report(db, store, (date(2026, 12, 31), date(2026, 12, 31)), MUCH_LATER)
    assert year["figures"]["received"] > quarter["received"] / 2 > 0
    for key in ("received", "resolved", "resolved_late", "withdrawn", "not_accepted", "supplement_requests"):
        assert year["figures"][key] == short["figures"][key] + last_day["figures"][key], key
    assert year["figures"]["open_end"] == last_day["figures"]["open_end"] == at_end[2]["figures"]["open_end"]
    def received_by_procedure(r):
        return {row["key"]: row["figures"]["received"] for row in r["breakdowns"]["procedure"]}

    whole, cut, day = (received_by_procedure(r) for r in (year, short, last_day))
    assert whole and whole == {k: cut.get(k, 0) + day.get(k, 0) for k in whole}


def test_decision_766_sub_indices_by_hand(db):
    """November of the history above, with four ratings (one "not satisfied"):
    2.1: resolved in time B, C, F (F asked twice for a supplement: late) + open within H → 3 of
         4 resolved + 2 open → R = 50 → 50 × 10 / 100 = 5.
    3.3: 1 online (C) of 4 received → R = 25 → 25 × 2 / 50 = 1; with a threshold of 20: Pmax 2.
    5.4: overdue D (resolved late) + E (open past due) = 2 of 6 → 33.33; not satisfied 1 of 4 →
         25; R = 100 − 33.33 − 25 = 41.67 → 41.67 × 10 / 90 = 4.63."""
    from server.storage.tables import ticket_ratings

    store = DossierStore(db, public_url="http://qr.test")
    play(store, HISTORY, until=None, done=set(), codes={})
    with db.write() as conn:
        for n, rating in enumerate(["satisfied", "very_satisfied", "satisfied", "not_satisfied"], 1):
            conn.execute(ticket_ratings.insert().values(ticket_id=n, site="demo", day=date(2026, 11, 10 + n),
                                                        rating=rating, rated_at=at(11, 10 + n)))
    weights = {"2.1": {"pmax": 10, "threshold": 100}, "3.3": {"pmax": 2, "threshold": 50},
               "5.4": {"pmax": 10, "threshold": 90}}
    calendar = lambda s: store.profile_for(s).calendar  # noqa: E731
    got = period_report.period_report(db, "demo", *PERIODS[1], today=MUCH_LATER, calendar_for=calendar,
                                      weights_766=weights)["decision_766"]
    found = {i["code"]: (i["ratio"], i["points"]) for i in got["sub_indices"]}
    assert {k: found[k] for k in ("2.1", "3.3", "5.4")} == {"2.1": (50.0, 5.0), "3.3": (25.0, 1.0),
                                                          "5.4": (41.67, 4.63)}
    assert got["not_computed"] == []  # 3.6, 4.1, 4.2: tests/server/test_score766_facts.py
    assert found.keys() >= {"3.6", "4.1", "4.2"}
    assert all(i["formula"].startswith("R = ") and "Điểm = " in i["scoring"] for i in got["sub_indices"])
    easier = period_report.period_report(db, "demo", *PERIODS[1], today=MUCH_LATER, calendar_for=calendar,
                                         weights_766={"3.3": {"pmax": 2, "threshold": 20}})["decision_766"]
    assert next(i for i in easier["sub_indices"] if i["code"] == "3.3")["points"] == 2.0


def test_bad_766_weights_in_site_settings_are_a_clear_error():
    import pytest

    from server.storage.site_settings import SiteSettingsError, build_profile

    with pytest.raises(SiteSettingsError, match=r"settings.score_766.2.1 must be"):
        build_profile("demo", "Xã", None, "Asia/Ho_Chi_Minh", '{"score_766": {"2.1": {"pmax": -1, "threshold": 1}}}')
    assert build_profile("demo", "Xã", None, "Asia/Ho_Chi_Minh",
                         '{"score_766": {"5.4": {"pmax": 5, "threshold": 80}}}').score_766 == {
        "5.4": {"pmax": 5.0, "threshold": 80.0}}
