"""Dossier storage on real SQLite and PostgreSQL: intake, history, calendar overrides, apologies."""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from server.domain.dossiers import InvalidTransition, NoteRequired
from server.domain.errors import NotFound
from server.storage.dossier_store import DossierStore
from server.storage.queue_store import QueueStore
from server.storage.tables import dossier_events, site_sequences, sites

VN = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 9, 8, 0, tzinfo=VN)  # Monday, no holiday that week (24/11 is one)
MARITAL = "1.004873"  # Xác nhận tình trạng hôn nhân: 3 working days


def stores(db):
    return QueueStore(db, public_url="http://qr.test"), DossierStore(db, public_url="http://qr.test")


def test_intake_from_a_ticket_takes_its_token_and_numbers_per_day(db):
    queue, dossiers = stores(db)
    ticket, _ = queue.issue("demo", "hotich", "ticket-key-1", now=MONDAY)
    first = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                            actor="canbo1", ticket_id=ticket["id"], phone="0912 345 678", now=MONDAY)
    second = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                             actor="canbo1", ticket_id=ticket["id"], now=MONDAY + timedelta(minutes=5))
    next_day = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Quàng Văn Nam",
                               channel="postal", actor="canbo2", now=MONDAY + timedelta(days=1))
    assert [first["code"], second["code"], next_day["code"]] == [
        "demo-261109-0001", "demo-261109-0002", "demo-261110-0001"]
    assert first["token"] == ticket["token"] and first["track_url"] == ticket["track_url"]
    assert second["token"] != ticket["token"] and len(second["token"]) >= 22
    assert first["ticket_id"] == ticket["id"] and first["phone"] == "0912 345 678"
    assert first["received_at"] == "2026-11-09T08:00:00+07:00"
    assert first["due_date"] == "2026-11-12" and first["due_at"] == "2026-11-12T16:00:00+07:00"
    with db.read() as conn:
        seqs = dict(conn.execute(select(site_sequences.c.name, site_sequences.c.value)
                                 .where(site_sequences.c.name.like("dossier-%"))).all())
    assert seqs == {"dossier-261109": 2, "dossier-261110": 1}


def test_history_keeps_who_when_why_and_refuses_what_the_domain_refuses(db):
    _, dossiers = stores(db)
    d = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                        actor="canbo1", now=MONDAY)
    code = d["code"]
    dossiers.change_status(code, "supplement_requested", actor="canbo2", note="Thiếu giấy khai sinh",
                           now=MONDAY + timedelta(hours=1))
    # Thursday: the supplement arrives; Tue, Wed, Thu given back → due Thu 12 + 3 = Tue 17
    dossiers.change_status(code, "processing", actor="canbo2", now=MONDAY + timedelta(days=3))
    with pytest.raises(NoteRequired):
        dossiers.change_status(code, "refused", actor="canbo2", now=MONDAY + timedelta(days=3))
    with pytest.raises(InvalidTransition):
        dossiers.change_status(code, "returned", actor="canbo2", now=MONDAY + timedelta(days=3))
    view = dossiers.change_status(code, "resolved", actor="canbo3", now=MONDAY + timedelta(days=7))
    assert view["due_date"] == "2026-11-17" and view["timeliness"] == "ahead"
    assert [(h["from"], h["to"], h["by"], h["note"]) for h in view["history"]] == [
        (None, "received", "canbo1", None),
        ("received", "supplement_requested", "canbo2", "Thiếu giấy khai sinh"),
        ("supplement_requested", "processing", "canbo2", None),
        ("processing", "resolved", "canbo3", None),
    ]
    assert view["history"][1]["label_vi"] == "Yêu cầu bổ sung giấy tờ"
    with db.read() as conn:  # refused changes wrote nothing
        assert len(conn.execute(select(dossier_events)).all()) == 4
    with pytest.raises(NotFound):
        dossiers.get(code, site="another-site")


def test_site_days_off_from_settings_move_the_due_date(db):
    _, dossiers = stores(db)
    with db.write() as conn:
        conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(
            {"calendar": {"extra_days_off": ["2026-11-10", "2026-11-11"]}, "agency_code": "H12.34"})))
    dossiers.forget_profiles()
    d = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                        actor="canbo1", now=MONDAY)
    assert d["code"].startswith("H12.34-261109-") and d["due_date"] == "2026-11-16"  # Thu, Fri, Mon


def test_late_dossier_gets_an_apology_with_a_new_date(db):
    _, dossiers = stores(db)
    d = dossiers.create(site="demo", procedure_code=MARITAL, applicant_name="Lò Thị Mai", channel="direct",
                        actor="canbo1", now=MONDAY)
    from server.domain.dossiers import ApologyNotDue

    with pytest.raises(ApologyNotDue):
        dossiers.apologise(d["code"], date(2026, 11, 18), "Chờ xác minh", actor="canbo1", now=MONDAY)
    later = MONDAY + timedelta(days=4)  # Friday 13, due was Thursday 12
    view = dossiers.apologise(d["code"], date(2026, 11, 18), "Chờ kết quả xác minh từ xã khác",
                              actor="canbo1", now=later)
    assert view["due_date"] == "2026-11-12" and view["promised_date"] == "2026-11-18"
    assert view["apologies"][0]["reason"] == "Chờ kết quả xác minh từ xã khác"
    slip = dossiers.apology_view(d["code"])
    assert (slip.original_date, slip.new_date, slip.applicant) == (date(2026, 11, 12), date(2026, 11, 18), "Lò Thị Mai")
    assert slip.track_url == d["track_url"]


def test_concurrent_retries_with_one_key_give_one_dossier(db):
    """Eight retries racing with one key (SQLite and PostgreSQL): one dossier, no gap in codes."""
    import threading

    from server.storage.dossier_store import DossierStore

    store = DossierStore(db, public_url="http://127.0.0.1:1")
    barrier, codes, created = threading.Barrier(8), [], []

    def worker():
        barrier.wait()
        view, was_created = store.receive(site="demo", procedure_code="1.004873", applicant_name="Lò Thị Mai",
                                          channel="direct", actor="canbo1", idempotency_key="race-key-0001")
        codes.append(view["code"])
        created.append(was_created)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(codes)) == 1 and created.count(True) == 1
    assert codes[0].endswith("-0001")
