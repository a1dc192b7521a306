"""Slips name the official by full name (Mẫu 01 and Mẫu 04), not by login."""

from datetime import date, datetime, timedelta, timezone

from server.storage.dossier_store import DossierStore
from server.storage.tables import users

VN = timezone(timedelta(hours=7))


def test_slips_show_the_officials_full_name(db):
    with db.write() as conn:
        conn.execute(users.insert().values(username="canbo1", password_hash="x", role="official", site="demo",
                                           full_name="Lò Thị Mai", active=True))
    store = DossierStore(db, public_url="http://qr.test")
    code = store.create(site="demo", procedure_code="1.004873", applicant_name="Cà Văn Điện", channel="direct",
                        actor="canbo1", now=datetime(2026, 11, 2, 9, tzinfo=VN))["code"]
    assert store.slip_view(code).official == "Lò Thị Mai"
    store.apologise(code, date(2026, 11, 12), "Chờ xác minh", actor="canbo1", now=datetime(2026, 11, 9, 9, tzinfo=VN))
    assert store.apology_view(code).official == "Lò Thị Mai"
