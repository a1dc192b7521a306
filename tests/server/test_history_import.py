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
