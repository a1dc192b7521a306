"""Online and postal dossiers enter from the one-stop system without re-keying: national records
(KenhThucHien, TrangThaiHoSo 1–10, yyyyMMddHHmmss dates) pulled through the simulator, on SQLite
and PostgreSQL. Bad records are refused with a reason and never stop the others; pulling the same
records again adds nothing; the reports count them by their own channel and acceptance date."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from server.connector.base import ConnectorSync
from server.connector.sim import SimOneStop
from server.storage import period_report
from server.storage.dossier_store import DossierStore
from server.storage.tables import dossier_events, dossiers

VN = timezone(timedelta(hours=7))
TODAY = datetime.now(VN).date()
# two whole months back, so that every date below is in the past whatever day the test runs
EARLIER = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month
FIRST = (EARLIER - timedelta(days=1)).replace(day=1)  # the month before


def stamp(day, hour=9, minute=0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute).strftime("%Y%m%d%H%M%S")


def record(ma, channel, status, submitted, accepted=None, ended=None, returned=None, procedure="1.004873"):
    return {"MaHoSo": ma, "MaTTHC": procedure, "ChuHoSo": f"Người {ma}", "SoDienThoai": "0912345678",
            "KenhThucHien": channel, "TrangThaiHoSo": status, "NgayNopHoSo": submitted, "NgayTiepNhan": accepted,
            "NgayHenTra": None, "NgayKetThucXuLy": ended, "NgayTra": returned, "MaDonVi": None}


def test_pulled_dossiers_enter_once_with_their_channel_and_dates(db):
    store = DossierStore(db, public_url="http://qr.test")
    system = SimOneStop("secret-for-tests-0123456789")
    sync = ConnectorSync(store, system)
    last_of_first = EARLIER - timedelta(days=1)
    evening = record("DVC-1", 2, 1, stamp(last_of_first, 20, 15))  # submitted online on the month's last evening
    good = [
        evening,
        record("DVC-2", 3, 2, stamp(FIRST + timedelta(days=9)), stamp(FIRST + timedelta(days=9), 10)),  # by post
        record("DVC-3", 2, 3, stamp(FIRST + timedelta(days=3)), ended=stamp(FIRST + timedelta(days=3), 15)),
    ]
    future = (datetime.now(VN) + timedelta(days=90)).strftime("%Y%m%d%H%M%S")
    bad = [
        record("DVC-4", 2, 1, future),
        record("DVC-5", 2, 2, stamp(FIRST + timedelta(days=5)), stamp(FIRST + timedelta(days=4))),
        record("DVC-6", 2, 1, stamp(FIRST), procedure="9.999999"),
        {**record("DVC-7", 2, 1, "2026-11-10"), "NgayNopHoSo": "2026-11-10"},
        record("DVC-8", 5, 1, stamp(FIRST)),
    ]
    for r in good[:1] + bad[:2] + good[1:] + bad[2:]:
        system.submit(r)
    assert sync.pull_dossiers() == 3
    assert [(r["MaHoSo"], r["code"]) for r in sync.refused] == [
        ("DVC-4", "dated_in_future"), ("DVC-5", "out_of_order"), ("DVC-6", "unknown_procedure"),
        ("DVC-7", "bad_date"), ("DVC-8", "bad_record")]
    assert "NgayTiepNhan" in sync.refused[1]["message"] and "future" in sync.refused[0]["message"]

    # The evening dossier is accepted the next morning, resolved, returned: updates of the same record.
    accepted = {**evening, "TrangThaiHoSo": 2, "NgayTiepNhan": stamp(EARLIER, 8)}
    returned = {**accepted, "TrangThaiHoSo": 10, "NgayKetThucXuLy": stamp(EARLIER + timedelta(days=1), 14),
                "NgayTra": stamp(EARLIER + timedelta(days=2), 10)}
    system.submit(accepted)
    system.submit(returned)
    assert sync.pull_dossiers() == 0
    with db.read() as conn:
        events = conn.execute(select(func.count()).select_from(dossier_events)).scalar()
        rows = {r.external_id: r for r in conn.execute(select(dossiers)).all()}
    assert {k: (r.channel, r.status) for k, r in rows.items()} == {
        "DVC-1": ("online", "returned"), "DVC-2": ("postal", "received"), "DVC-3": ("online", "refused")}
    history = store.get(rows["DVC-1"].code)["history"]
    assert [(h["to"], h["at"][:16]) for h in history] == [
        ("submitted", f"{last_of_first.isoformat()}T20:15"), ("received", f"{EARLIER.isoformat()}T08:00"),
        ("resolved", f"{(EARLIER + timedelta(days=1)).isoformat()}T14:00"),
        ("returned", f"{(EARLIER + timedelta(days=2)).isoformat()}T10:00")]

    # Pulled again, all of it: nothing new.
    for r in [*good, accepted, returned, *bad]:
        system.submit(r)
    assert sync.pull_dossiers() == 0
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(dossier_events)).scalar() == events
        assert conn.execute(select(func.count()).select_from(dossiers)).scalar() == 3

    # Reports: the evening submission is the next month's (accepted then), by its own channel.
    calendar = lambda s: store.profile_for(s).calendar  # noqa: E731
    first = period_report.period_report(db, "demo", FIRST, EARLIER - timedelta(days=1), today=TODAY,
                                        calendar_for=calendar)["figures"]
    second = period_report.period_report(db, "demo", EARLIER, TODAY.replace(day=1) - timedelta(days=1), today=TODAY,
                                         calendar_for=calendar)["figures"]
    assert (first["received_postal"], first["received_online"], first["submitted_online"],
            first["not_accepted"], first["awaiting_acceptance"], first["open_end"]) == (1, 0, 2, 1, 1, 1)
    assert (second["carried_over"], second["received_online"], second["resolved"]) == (1, 1, 1)
