"""Upgrades: a database written by the previous release is backed up and migrated when the new
server starts, and keeps its data; a database newer than the code is refused in one line."""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import column, insert, text
from sqlalchemy import table as sa_table

from server.storage import migrate, tables
from server.storage.db import Database
from tests.support.cli import motcua, one_line_error
from tests.support.processes import ServerProcess

PREVIOUS_RELEASE = "0003"


def previous_release_database(url: str) -> str:
    """What the previous release left on a site: its schema, a site, and three waiting tickets."""
    db = Database(url).open()
    try:
        migrate.upgrade(db, PREVIOUS_RELEASE)
        now = datetime.now(timezone.utc)
        day = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
        with db.write() as conn:
            conn.execute(insert(tables.sites).values(id="demo", name="UBND xã Cũ", timezone="Asia/Ho_Chi_Minh",
                                                     settings="{}"))
            conn.execute(insert(tables.services).values(site="demo", id="hotich", prefix="A", name_vi="Hộ tịch",
                                                        sort_order=0, active=True))
            conn.execute(insert(tables.counters).values(site="demo", id="1", label="Quầy 1",
                                                        services=json.dumps(["hotich"]), status="closed"))
            conn.execute(insert(tables.ticket_sequences).values(site="demo", prefix="A", day=day, last_number=3))
            # the columns that release had (today's table adds columns with Python-side defaults)
            old_tickets = sa_table("tickets", *(column(c, tables.tickets.c[c].type) for c in (
                "site", "service", "prefix", "number", "day", "issued_at", "status", "recall_count",
                "transfer_count", "idempotency_key", "token")))
            for n in (1, 2, 3):
                conn.execute(insert(old_tickets).values(
                    site="demo", service="hotich", prefix="A", number=n, day=day, issued_at=now, status="waiting",
                    recall_count=0, transfer_count=0, idempotency_key=f"old-{n}", token=secrets.token_urlsafe(24)))
        with db.read() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == PREVIOUS_RELEASE
    finally:
        db.close()
    return url


def test_new_server_backs_up_migrates_and_serves_the_old_data(tmp_path, db_url):
    db_file = tmp_path / "site" / "motcua.sqlite3"
    sqlite = db_url.startswith("sqlite")
    url = previous_release_database(f"sqlite:///{db_file}" if sqlite else db_url)
    server = ServerProcess(url, workdir=tmp_path)
    server.start()  # the new release, started the way the unit starts it
    try:
        log = (tmp_path / f"server-{server.port}.log").read_text()
        head = ",".join(sorted(migrate.head_revisions()))
        assert f"database {url} upgraded from {PREVIOUS_RELEASE} to {head}" in log
        assert f"listening on http://127.0.0.1:{server.port}" in log

        if sqlite:  # PostgreSQL is backed up with pg_dump by its own operators
            backups = sorted((db_file.parent / "backups").glob(f"pre-upgrade-{PREVIOUS_RELEASE}-to-*.sqlite3"))
            assert len(backups) == 1
            con = sqlite3.connect(backups[0])
            assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == PREVIOUS_RELEASE
            assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 3
            con.close()

        server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "canbo1-password")
        kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
        official = server.login("canbo1", "canbo1-password")
        health = httpx.get(f"{server.base_url}/api/v1/health").json()
        assert health["ok"] is True
        assert {c["name"]: c["level"] for c in health["checks"]}["migrations"] == "ok"
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {official}"}) as c:
            c.post("/api/v1/sites/demo/counters/1/open")
            called = c.post("/api/v1/sites/demo/counters/1/call-next")
            assert called.status_code == 200 and called.json()["number"] == "A001"
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {kiosk}"}) as c:
            new = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "new-ticket-after-upgrade-0001"})
            assert new.status_code == 201 and new.json()["number"] == "A004"  # numbering goes on, no duplicate
    finally:
        server.stop()

    # Restarting does not migrate or back up again.
    again = ServerProcess(url, workdir=tmp_path).start()
    again.stop()
    log = (tmp_path / f"server-{again.port}.log").read_text()
    assert f"database {url} is up to date" in log
    if sqlite:
        assert len(list((db_file.parent / "backups").glob("pre-upgrade-*.sqlite3"))) == 1


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    db_file = tmp_path / "m.sqlite3"
    url = f"sqlite:///{db_file}"
    assert motcua("db", "upgrade", env={"MOTCUA_DATABASE_URL": url}).returncode == 0
    con = sqlite3.connect(db_file)
    con.execute("UPDATE alembic_version SET version_num = '0999'")
    con.commit()
    con.close()
    env = {"MOTCUA_DATABASE_URL": url, "MOTCUA_SECRET_KEY": "ops-test-secret-key-0123456789abcdef"}
    for args in (["server", "--port", "9"], ["db", "upgrade"]):
        line = one_line_error(motcua(*args, env=env))
        assert "is at revision 0999, newer than this motcua" in line
    con = sqlite3.connect(db_file)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0999"  # left untouched
    con.close()
