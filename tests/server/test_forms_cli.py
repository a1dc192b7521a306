"""``motcua form print`` and ``motcua form book``: an official's way to print or save a form
without the API, as a child process on a real SQLite database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
from PIL import Image
from pyzbar.pyzbar import decode

from server.storage import catalog, migrate
from server.storage.db import Database
from server.storage.dossier_store import DossierStore
from tests.support.cli import motcua, one_line_error

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_form_print_and_book_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    db = Database(url).open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        store = DossierStore(db, public_url="http://qr.test")
        d = store.create(site="demo", procedure_code="1.004873", applicant_name="Lò Thị Mai", channel="direct",
                         actor="canbo1", now=datetime(2026, 11, 16, 9, tzinfo=VN))
        store.change_status(d["code"], "supplement_requested", note="Thiếu ảnh", actor="canbo1",
                            now=datetime(2026, 11, 17, 9, tzinfo=VN))
    finally:
        db.close()
    env = {"MOTCUA_DATABASE_URL": url, "MOTCUA_PUBLIC_URL": "http://qr.test"}
    png = tmp_path / "mau02.png"
    done = motcua("form", "print", d["code"], "02", "--png", str(png), "--printer", "sim://", env=env)
    assert done.returncode == 0, done.stderr
    assert "printed" in done.stdout
    assert [s.data.decode() for s in decode(Image.open(png))] == [d["track_url"]]

    line = one_line_error(motcua("form", "print", d["code"], "03", "--png", str(tmp_path / "x.png"), env=env))
    assert "Mẫu 03 does not apply" in line
    line = one_line_error(motcua("form", "print", d["code"], "02", env=env))
    assert "--png FILE and/or --printer URL" in line

    book = tmp_path / "so.xlsx"
    done = motcua("form", "book", "demo", "--from", "2026-11-01", "--to", "2026-11-30", "--xlsx", str(book),
                  "--png", str(tmp_path / "so.png"), env=env)
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(book).active
    assert ws["A2"].value.startswith("Mẫu số 07") and ws["B6"].value == d["code"]
    assert Image.open(tmp_path / "so.png").size == (2339, 1654)
    line = one_line_error(motcua("form", "book", "demo", "--from", "1/11/2026", "--to", "2026-11-30",
                                 "--xlsx", str(book), env=env))
    assert "YYYY-MM-DD" in line
