"""A centre starting mid-year imports its old register (CSV or Excel): a dry run lists every row
it would refuse and why and writes nothing; the import enters the rest, which then count in the
reports like native dossiers; re-running adds nothing. On SQLite and PostgreSQL, and once through
the ``motcua history import`` command."""

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from server.storage import period_report
from server.storage.dossier_store import DossierStore
from server.storage.history_import import import_register
from server.storage.tables import dossier_events, dossiers

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 5, 10, tzinfo=VN)
HEADER = ["STT", "Mã hồ sơ", "Mã thủ tục", "Chủ hồ sơ", "Số điện thoại", "Kênh", "Trạng thái", "Ngày nộp",
          "Ngày tiếp nhận", "Ngày kết thúc xử lý", "Ngày trả kết quả"]
ROWS = [
    [1, "H12-260901-0001", "1.004873", "Lò Thị Mai", "0912345678", "Trực tiếp", "Đã trả kết quả",
     "01/09/2026 08:30", "01/09/2026 08:30", "03/09/2026 15:00", "04/09/2026 09:00"],
    [2, "H12-260901-0002", "1.004873", "Cà Văn Điện", "", "Trực tuyến", "", "31/08/2026 21:10",
     "01/09/2026 07:45", "", ""],  # status from the dates: accepted, still open
    [3, "H12-260902-0003", "1.004222", "Quàng Thị Én", "", "Bưu chính", "2", "02/09/2026", "02/09/2026", "", ""],
    [4, "H12-260903-0004", "1.004873", "Vì Văn Thắng", "", "Trực tuyến", "Không được tiếp nhận",
     "03/09/2026 10:00", "", "03/09/2026 14:00", ""],
    # refused rows
    [5, "H12-260904-0005", "1.004873", "Lường Thị Ngọc", "", "Trực tiếp", "", "04/09/2026 09:00",
     "04/09/2026 09:00", "02/09/2026 09:00", ""],  # ended before it was accepted
    [6, "H12-260905-0006", "1.004873", "Tòng Văn Pâng", "", "Trực tiếp", "", "05/03/2027 09:00", "", "", ""],
    [7, "H12-260906-0007", "9.999999", "Lò Văn Hùng", "", "Trực tiếp", "", "06/09/2026 09:00", "", "", ""],
    [8, "H12-260901-0001", "1.004873", "Lò Thị Mai", "", "Trực tiếp", "", "01/09/2026 08:30", "", "", ""],
    [9, "H12-260907-0009", "1.004873", "", "", "Trực tiếp", "", "07/09/2026 09:00", "", "", ""],
    [10, "H12-260908-0010", "1.004873", "Hà Thị Ly", "", "Trực tiếp", "", "31/09/2026", "", "", ""],
]
REFUSED = [(5, "out_of_order"), (6, "dated_in_future"), (7, "unknown_procedure"), (8, "duplicate"),
           (9, "bad_record"), (10, "bad_date")]


def write_csv(path: Path) -> Path:
    lines = [";".join(HEADER)] + [";".join(str(v) for v in row) for row in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def write_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["SỔ THEO DÕI HỒ SƠ"])
    ws.append(HEADER)
    for row in ROWS:
        # Excel date cells where the export has them
        cells = [datetime.strptime(v, "%d/%m/%Y %H:%M") if isinstance(v, str) and len(v) == 16 and v[2] == "/"
                 else v for v in row]
        ws.append(cells)
    wb.save(path)
    return path


def counts(db):
    with db.read() as conn:
        return (conn.execute(select(func.count()).select_from(dossiers)).scalar(),
                conn.execute(select(func.count()).select_from(dossier_events)).scalar())


def test_dry_run_import_and_rerun(db, tmp_path):
    store = DossierStore(db, public_url="http://qr.test")
    for n, path in enumerate((write_csv(tmp_path / "so-theo-doi.csv"), write_xlsx(tmp_path / "so-theo-doi.xlsx"))):
        dry = import_register(store, "demo", path, dry_run=True, now=NOW)
        assert [(r["row"] - (1 if path.suffix == ".csv" else 2), r["code"]) for r in dry.refused] == REFUSED, \
            dry.refused
        assert all(r["message"] for r in dry.refused)
        if n == 0:
            assert (dry.rows, dry.created) == (10, 4) and counts(db) == (0, 0)
            done = import_register(store, "demo", path, dry_run=False, now=NOW)
            assert (done.created, done.updated, done.unchanged, len(done.refused)) == (4, 0, 0, 6)
            after = counts(db)
        else:  # the same register as Excel: everything is already there
            assert (dry.created, dry.unchanged) == (0, 4)
            again = import_register(store, "demo", path, dry_run=False, now=NOW)
            assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
            assert counts(db) == after

    with db.read() as conn:
        got = {r.external_id: (r.channel, r.status) for r in conn.execute(select(dossiers)).all()}
    assert got == {"H12-260901-0001": ("direct", "returned"), "H12-260901-0002": ("online", "received"),
                   "H12-260902-0003": ("postal", "received"), "H12-260903-0004": ("online", "refused")}
    september = period_report.period_report(db, "demo", date(2026, 9, 1), date(2026, 9, 30), today=date(2026, 12, 5),
                                            calendar_for=lambda s: store.profile_for(s).calendar)["figures"]
    assert (september["received"], september["received_online"], september["received_direct"],
            september["received_postal"], september["resolved"], september["not_accepted"],
            september["open_end"]) == (3, 1, 1, 1, 1, 1, 2)
    august = period_report.period_report(db, "demo", date(2026, 8, 1), date(2026, 8, 31), today=date(2026, 12, 5),
                                         calendar_for=lambda s: store.profile_for(s).calendar)["figures"]
    assert (august["submitted_online"], august["received"], august["awaiting_acceptance"]) == (1, 0, 1)


def test_history_import_command(tmp_path):
    from server.storage import catalog, migrate
    from server.storage.db import Database

    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    db = Database(url).open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    db.close()
    register = write_csv(tmp_path / "so.csv")
    env = {"MOTCUA_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "motcua", "history", "import", str(register), "--site", "demo"]
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 1, dry.stderr
    assert "dòng 6: H12-260904-0005: out_of_order: NgayKetThucXuLy" in dry.stdout
    assert "10 rows: 4 would be created, 0 would be updated, 0 already there, 6 refused (dry run" in dry.stdout
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert "4 were created" in run.stdout, run.stdout + run.stderr
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert "0 were created, 0 were updated, 4 already there, 6 refused" in rerun.stdout


def test_one_write_per_new_dossier_leaves_what_one_change_at_a_time_left(tmp_path):
    """A new dossier from another system is entered with all its steps in one transaction (the
    import's speed); the database it leaves — dossier row, history, ledger spans and roll-up, sync
    journal — is the one a change at a time left, and a step the rules refuse keeps the dossier
    with the steps before it, as before."""
    from server.connector import national
    from server.domain.dossiers import OutOfOrder
    from server.storage import catalog, external_intake, migrate
    from server.storage.db import Database
    from server.storage.tables import dossier_flow_rollup, dossier_spans, sync_journal

    records = [
        {"MaHoSo": "X-1", "MaTTHC": "1.004873", "ChuHoSo": "Lò Thị Mai", "KenhThucHien": 2, "TrangThaiHoSo": 10,
         "NgayNopHoSo": "20260904201000", "NgayTiepNhan": "20260907080000", "NgayKetThucXuLy": "20260909150000",
         "NgayTra": "20260910090000"},
        {"MaHoSo": "X-2", "MaTTHC": "1.004222", "ChuHoSo": "Cà Văn Điện", "KenhThucHien": 1, "TrangThaiHoSo": 9,
         "NgayNopHoSo": "20260901083000", "NgayTiepNhan": "20260901083000", "NgayKetThucXuLy": "20260925100000"},
        {"MaHoSo": "X-3", "MaTTHC": "1.004873", "ChuHoSo": "Quàng Thị Én", "KenhThucHien": 2, "TrangThaiHoSo": 3,
         "NgayNopHoSo": "20260903100000", "NgayKetThucXuLy": "20260903140000"},
        {"MaHoSo": "X-4", "MaTTHC": "1.004873", "ChuHoSo": "Vì Văn Thắng", "KenhThucHien": 3, "TrangThaiHoSo": 7,
         "NgayNopHoSo": "20260902090000", "NgayTiepNhan": "20260902090000", "NgayKetThucXuLy": "20260905090000"},
    ]

    def stepwise(store, site, record, *, actor):  # what intake did before: one transaction per step
        opened = record.submitted_at if record.channel == "online" else (record.accepted_at or record.submitted_at)
        view, _ = store.receive(site=site, procedure_code=record.procedure_code, applicant_name=record.applicant_name,
                                channel=record.channel, actor=actor, phone=record.phone,
                                external_id=record.external_id, idempotency_key=f"ext:{record.external_id}",
                                now=opened)
        for target, moment in external_intake.steps(record):
            store.change_status(view["code"], target, actor=actor, note=external_intake.NOTE, now=moment, site=site)

    def state(enter) -> dict:
        db = Database(f"sqlite:///{tmp_path / (enter.__name__ + '.sqlite3')}").open()
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        store = DossierStore(db, public_url="http://qr.test")
        tz = store.profile_for("demo").tz
        for record in records:
            enter(store, "demo", national.parse(record, tz=tz, now=NOW), actor="import")
        with db.read() as conn:
            got = {
                "dossiers": [r[2:] for r in conn.execute(select(dossiers).order_by(dossiers.c.id)).all()],
                "events": conn.execute(select(dossier_events).order_by(dossier_events.c.id)).all(),
                "spans": conn.execute(select(dossier_spans).order_by(dossier_spans.c.id)).all(),
                "rollup": sorted(conn.execute(select(dossier_flow_rollup)).all()),
                # (the site's profile, journalled when it is loaded, carries the load time)
                "journal": [(r.seq, r.kind, r.at if r.kind != "site" else None, r.body) for r in
                            conn.execute(select(sync_journal).order_by(sync_journal.c.seq)).all()],
            }
        db.close()
        return got

    one_write = state(external_intake.intake)
    one_change_at_a_time = state(stepwise)
    for table in one_write:
        if table == "dossiers":  # every column but the random token
            token = list(dossiers.c.keys()).index("token") - 2
            strip = lambda rows: [r[:token] + r[token + 1:] for r in rows]  # noqa: E731
            assert strip(one_write[table]) == strip(one_change_at_a_time[table])
        else:
            assert one_write[table] == one_change_at_a_time[table], table
    assert len(one_write["events"]) == 4 + 2 + 2 + 2 and one_write["rollup"]

    # a refused step: the dossier stays, with the steps before it, and the error names the step
    db = Database(f"sqlite:///{tmp_path / 'refused.sqlite3'}").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    store = DossierStore(db, public_url="http://qr.test")
    tz = store.profile_for("demo").tz
    late = national.parse(records[0], tz=tz, now=NOW)
    bad = late.__class__(**{**{f: getattr(late, f) for f in late.__dataclass_fields__},
                            "external_id": "X-9", "ended_at": late.accepted_at - timedelta(hours=1),
                            "returned_at": None, "status": "resolved"})
    try:
        external_intake.intake(store, "demo", bad, actor="import")
    except OutOfOrder:
        pass
    else:
        raise AssertionError("a resolution dated before the acceptance must be refused")
    with db.read() as conn:
        kept = conn.execute(select(dossiers.c.status, dossiers.c.code).where(dossiers.c.external_id == "X-9")).one()
    assert kept.status == "received"
    assert [h["to"] for h in store.get(kept.code)["history"]] == ["submitted", "received"]
    db.close()
