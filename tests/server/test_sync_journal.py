"""The sync journal: every durable change journalled in its own transaction, gapless, hash-chained,
without personal data (SQLite and PostgreSQL, including many writers at once)."""

import json
import threading
import uuid
from datetime import datetime

from sqlalchemy import select

from server.storage import journal
from server.storage.dossier_store import DossierStore
from server.storage.queue_store import QueueStore
from server.storage.ratings import rate
from server.storage.tables import sync_journal
from tests.support.province import chain_breaks

NAME = "NGUYỄN VĂN AN"
PHONE = "0912345678"
CITIZEN_HASH = "c" * 64
NOTE = "Ông An, CCCD 001088012345, thiếu giấy khai sinh"


def rows(db, site="demo"):
    with db.read() as conn:
        return conn.execute(select(sync_journal).where(sync_journal.c.site == site).order_by(sync_journal.c.seq)).all()


def what(row) -> str:
    body = json.loads(row.body)
    return body.get("action") or body.get("to") or body.get("rating")


def test_a_ticket_its_call_its_dossier_and_its_rating_are_journalled_in_order_without_personal_data(db):
    queue, dossiers = QueueStore(db, public_url="http://x"), DossierStore(db, public_url="http://x")
    ticket, _ = queue.issue("demo", "hotich", "k1", citizen_hash=CITIZEN_HASH, citizen_name="N*** V** A*",
                            actor="kiosk-1")
    queue.set_counter("demo", "1", "open", actor="canbo1")
    queue.call_next("demo", "1", actor="canbo1")
    queue.ticket_action(ticket["id"], "start", actor="canbo1")
    dossier = dossiers.create(site="demo", procedure_code="1.001193", applicant_name=NAME, phone=PHONE,
                              channel="direct", actor="canbo1", ticket_id=ticket["id"])
    dossiers.change_status(dossier["code"], "supplement_requested", actor="canbo1", note=NOTE, public_note=NOTE)
    queue.ticket_action(ticket["id"], "finish", actor="canbo1")
    rate(db, ticket["id"], "satisfied", actor="kiosk-1", site="demo")

    got = rows(db)
    assert [(r.kind, what(r)) for r in got] == [
        ("ticket", "issue"), ("call", "call"), ("ticket", "start"), ("dossier", "received"),
        ("dossier", "supplement_requested"), ("ticket", "finish"), ("rating", "satisfied")]
    assert chain_breaks(got) == []
    text = " ".join(r.body for r in got)
    for personal in (NAME, "NGUY", PHONE, CITIZEN_HASH, "001088012345", "N*** V** A*", "thiếu giấy"):
        assert personal not in text
    assert dossier["code"] in text  # the dossier is named by its code


def test_a_failed_change_leaves_no_journal_event(db):
    queue = QueueStore(db, public_url="http://x")
    queue.issue("demo", "hotich", "k1")
    try:
        queue.call_next("demo", "1", actor="canbo1")  # the counter is closed: refused
    except Exception:
        pass
    assert [r.seq for r in rows(db)] == [1]


def test_eight_kiosks_at_once_give_one_gapless_chain(db):
    queue = QueueStore(db, public_url="http://x")
    errors = []

    def kiosk():
        try:
            for _ in range(25):
                queue.issue("demo", "hotich", str(uuid.uuid4()))
        except Exception as err:  # pragma: no cover - shown by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = rows(db)
    assert len(got) == 200 and chain_breaks(got) == []
    with db.read() as conn:
        assert journal.head(conn, "demo") == (200, got[-1].hash)


def test_the_lag_counts_what_the_province_has_not_acknowledged(db):
    queue = QueueStore(db, public_url="http://x")
    for i in range(5):
        queue.issue("demo", "hotich", f"k{i}")
    with db.read() as conn:
        before = journal.lag(conn, "demo")
    with db.write() as conn:
        journal.save_state(conn, "demo", acked_seq=3, acked_hash=rows(db)[2].hash)
    with db.read() as conn:
        after = journal.lag(conn, "demo")
    assert (before.pending, after.pending, after.acked_seq) == (5, 2, 3)
    assert after.since is not None and after.since.isoformat(timespec="milliseconds") == \
        datetime.fromisoformat(rows(db)[3].at).isoformat(timespec="milliseconds")


def test_the_doctor_says_how_many_events_the_province_lacks_and_since_when_in_local_time(db):
    from datetime import timezone

    from server.ops.health import BrokerView, SyncView, run_checks

    at = datetime(2026, 12, 5, 1, 12, tzinfo=timezone.utc)  # 08:12 in Hà Nội
    with db.write() as conn:
        for i in range(1240):
            journal.record(conn, "demo", "ticket", {"ticket": i}, at)

    def sync_line(now, url="https://tinh.example.vn"):
        report = run_checks(db, broker=BrokerView(False, False), devices={}, now=now, sync=SyncView("demo", url))
        return next(c for c in report.checks if c.name == "sync")

    late = sync_line(datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc))
    assert late.level == "warn" and late.detail.startswith("chưa đồng bộ: 1.240 sự kiện, từ 08:12 / ")
    assert sync_line(at).level == "ok"  # just written: not yet a worry
    alone = sync_line(at, url=None)
    assert alone.level == "ok" and "no province configured" in alone.detail


def test_pruning_keeps_what_the_province_has_not_acknowledged_and_the_acknowledged_event(tmp_path):
    """Acknowledged events older than the retention go; the rest, and the overlap event, stay."""
    from datetime import datetime, timedelta, timezone

    from server.storage import journal
    from server.storage.db import Database
    from server.storage import migrate
    from server.storage.tables import sync_journal

    db = Database(f"sqlite:///{tmp_path / 'j.sqlite3'}").open()
    try:
        migrate.upgrade(db)
        old = datetime(2026, 1, 1, tzinfo=timezone.utc)
        with db.write() as conn:
            for i in range(10):
                journal.record(conn, "s1", "ticket", {"n": i}, old + timedelta(days=i))
        with db.write() as conn:
            assert journal.prune(conn, "s1", old + timedelta(days=100)) == 0  # nothing acknowledged yet
            journal.save_state(conn, "s1", acked_seq=6)
        with db.write() as conn:
            assert journal.prune(conn, "s1", old + timedelta(days=3)) == 3  # seq 1-3: acknowledged and old
        with db.write() as conn:
            assert journal.prune(conn, "s1", old + timedelta(days=100)) == 2  # seq 4-5; 6 is the overlap
        with db.read() as conn:
            left = [r.seq for r in conn.execute(sync_journal.select().order_by(sync_journal.c.seq))]
            assert left == [6, 7, 8, 9, 10]
            assert journal.head(conn, "s1")[0] == 10 and journal.lag(conn, "s1").pending == 4
        with db.write() as conn:
            assert journal.record(conn, "s1", "ticket", {"n": 10}, old) == 11  # the chain goes on
            assert journal.hash_at(conn, "s1", 10) == conn.execute(
                sync_journal.select().where(sync_journal.c.seq == 11)).first().prev_hash
    finally:
        db.close()
