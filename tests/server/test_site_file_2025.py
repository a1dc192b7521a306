"""The site file's 2025 keys: the dossier code shape and the per-procedure same-day cut-off.

``motcua site load`` refuses a malformed value in one line naming the key; a good file changes
the codes and due dates the counter gets (the real store on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.storage import catalog, migrate
from server.storage.catalog import demo_site_file
from server.storage.db import Database
from server.storage.dossier_store import DossierStore
from tests.support.cli import motcua, one_line_error

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SETTINGS = "[site.settings]\n"


def edited(tmp_path, old: str, new: str):
    text = demo_site_file().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "site.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "says"), [
    ('code = "2.000815"\ncutoff = "15:00"', 'code = "2.000815"\ncutoff = "3pm"',
     "procedure 2.000815: cutoff must be a time of day written HH:MM"),
    ('code = "2.000815"\ncutoff = "15:00"', 'code = "2.000815"\ncutoff = "25:00"', "HH:MM"),
    ('code = "2.000815"\ncutoff = "15:00"', 'code = "2.000815"\ncutoff = 15', "not 15"),
    (SETTINGS, SETTINGS + 'dossier_code = "tt03"\n', "agency_code 'demo' does not fit the tt03 shape"),
    (SETTINGS, SETTINGS + 'dossier_code = "tt09"\n', "dossier_code must be one of site, tt03, tt04"),
    (SETTINGS, SETTINGS + 'dossier_code = "tt04"\nagency_code = "H12.123.45"\n', "dossier_code_series"),
])
def test_site_load_refuses_a_malformed_key_in_one_line(tmp_path, old, new, says):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    line = one_line_error(motcua("site", "load", str(edited(tmp_path, old, new)), env={"MOTCUA_DATABASE_URL": url}))
    assert says in line, line


def test_site_load_takes_the_legal_shape_and_the_cutoffs(db_url, tmp_path):
    path = edited(tmp_path, SETTINGS, SETTINGS + 'dossier_code = "tt04"\nagency_code = "H12.123.45"\n'
                                                 'dossier_code_series = "01"\n')
    db = Database(db_url).open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, path)
        store = DossierStore(db, public_url="http://x")
        late = datetime(2025, 11, 24, 15, 1, tzinfo=HCM)  # Monday, one minute past the 15:00 cut-off
        copy = store.create(site="demo", procedure_code="2.000815", applicant_name="Lò Thị Mai",
                            channel="direct", actor="canbo1", now=late)
        death = store.create(site="demo", procedure_code="1.000656", applicant_name="Lò Văn Páo",
                             channel="direct", actor="canbo1", now=late)
        assert copy["code"] == "H12.123.45-251124-010001"
        assert death["code"] == "H12.123.45-251124-010002"
        assert copy["due_date"] == "2025-11-25"  # chứng thực: after 15:00 -> the next working day
        assert death["due_date"] == "2025-11-24"  # khai tử has no cut-off in the file: same day
        # The cut-off is kept with the dossier: dropping it from the file later changes nothing.
        catalog.load_site(db, edited(tmp_path, 'code = "2.000815"\ncutoff = "15:00"', 'code = "2.000815"'))
        store.forget_profiles()
        store.change_status(copy["code"], "processing", actor="canbo1", now=late.replace(hour=16))
        assert store.get(copy["code"])["due_date"] == "2025-11-25"
    finally:
        db.close()
