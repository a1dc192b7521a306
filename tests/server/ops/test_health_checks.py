"""The doctor's clock, lag and migration checks against a real SQLite database, at chosen moments."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text

from server.ops.health import BrokerView, DeviceView, run_checks
from server.storage import catalog, migrate
from server.storage.db import Database
from server.storage.queue_store import QueueStore
from server.storage.tables import outbox

NO_BROKER = BrokerView(False, False)


def site_db(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    return db


def by_name(report):
    return {c.name: c for c in report.checks}


def test_clock_lost_its_time_and_clock_gone_back(tmp_path):
    db = site_db(tmp_path)
    try:
        QueueStore(db, public_url="http://x").issue("demo", "hotich", idempotency_key="clock-check-1")
        with db.read() as conn:
            newest = conn.execute(select(func.max(outbox.c.created_at))).scalar()
        dead_battery = by_name(run_checks(db, broker=NO_BROKER, devices={}, now=datetime(2000, 1, 1, tzinfo=timezone.utc)))
        assert dead_battery["clock"].level == "fail" and "timedatectl" in dead_battery["clock"].action
        went_back = by_name(run_checks(db, broker=NO_BROKER, devices={}, now=newest - timedelta(hours=1)))
        assert went_back["clock"].level == "warn" and "60 min behind" in went_back["clock"].detail
        fine = by_name(run_checks(db, broker=NO_BROKER, devices={}, now=newest + timedelta(seconds=5)))
        assert fine["clock"].level == "ok"
    finally:
        db.close()


def test_publisher_lag_and_a_schema_behind(tmp_path):
    db = site_db(tmp_path)
    try:
        QueueStore(db, public_url="http://x").issue("demo", "hotich", idempotency_key="lag-check-1")
        with db.read() as conn:
            waiting = conn.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar()
            newest = conn.execute(select(func.max(outbox.c.created_at))).scalar()
        later = by_name(run_checks(db, broker=BrokerView(True, False, "127.0.0.1:1883: refused"), devices={},
                                   now=newest + timedelta(minutes=2)))
        assert later["publisher"].level == "warn" and f"{waiting} event(s) not yet sent" in later["publisher"].detail
        assert later["broker"].level == "warn" and "systemctl status mosquitto" in later["broker"].action
        assert later["devices"].detail == "unknown while the broker is unreachable"
        with db.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        behind = run_checks(db, broker=NO_BROKER, devices={})
        assert not behind.ok and by_name(behind)["migrations"].level == "fail"
        assert "motcua db upgrade" in by_name(behind)["migrations"].action
    finally:
        db.close()


def test_devices_offline_and_faulty(tmp_path):
    db = site_db(tmp_path)
    try:
        report = run_checks(db, broker=BrokerView(True, True), devices={
            "kiosk-1": DeviceView("online", {"kind": "printer", "ok": False, "detail": "cover open"}),
            "display-hall": DeviceView("offline", None),
            "kiosk-2": DeviceView("online", {"kind": "printer", "ok": True, "detail": "ready"}),
        })
        lines = report.lines()
        assert "WARN device kiosk-1: printer: cover open — đóng nắp máy in / close the printer cover" in lines
        assert any(x.startswith("WARN device display-hall: offline") for x in lines)
        assert "OK   device kiosk-2: online; printer ok" in lines
        assert report.ok and report.status == "warn"
    finally:
        db.close()
