"""``motcua backup`` while a real server issues tickets and receives dossiers; ``motcua restore``
into a new folder gives back every ticket, dossier and event, row for row."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import httpx

from server.storage.catalog import demo_site_file
from tests.support.cli import motcua, one_line_error
from tests.support.processes import ServerProcess

TABLES = ("tickets", "ticket_events", "dossiers", "dossier_events", "outbox")
APPEND_ONLY = ("ticket_events", "dossier_events")


def rows(path, table):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0]: r for r in con.execute(f"SELECT * FROM {table} ORDER BY id")}
    finally:
        con.close()


def busy_site(tmp_path):
    """A real server process with kiosks issuing and an official receiving dossiers, until stopped."""
    db_file = tmp_path / "live" / "motcua.sqlite3"
    server = ServerProcess(f"sqlite:///{db_file}", workdir=tmp_path)
    server.cli("db", "upgrade")
    server.cli("site", "load", str(demo_site_file()))
    server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "canbo1-password")
    kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
    server.start()
    official = server.login("canbo1", "canbo1-password")
    stop = threading.Event()
    issued: list[tuple[float, int]] = []
    dossiers: list[str] = []
    errors: list[str] = []

    def kiosk_loop():
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {kiosk}"}, timeout=10) as c:
            while not stop.is_set():
                r = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": str(uuid.uuid4())})
                if r.status_code != 201:
                    errors.append(r.text)
                    return
                issued.append((time.monotonic(), r.json()["id"]))

    def official_loop():
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {official}"}, timeout=10) as c:
            c.post("/api/v1/sites/demo/counters/1/open")
            while not stop.is_set():
                called = c.post("/api/v1/sites/demo/counters/1/call-next")
                if called.status_code != 200:
                    time.sleep(0.01)
                    continue
                tid = called.json()["id"]
                c.post(f"/api/v1/tickets/{tid}/start")
                d = c.post("/api/v1/dossiers", json={"ticket_id": tid, "procedure_code": "1.004873",
                                                     "applicant_name": "Lò Thị Mai", "channel": "direct"})
                if d.status_code == 201:
                    dossiers.append(d.json()["code"])
                    c.post(f"/api/v1/dossiers/{d.json()['code']}/status", json={"status": "processing"})
                c.post(f"/api/v1/tickets/{tid}/finish")

    threads = [threading.Thread(target=kiosk_loop) for _ in range(3)] + [threading.Thread(target=official_loop)]
    for t in threads:
        t.start()
    return server, db_file, stop, threads, issued, dossiers, errors


def test_backup_during_writes_then_restore_row_for_row(tmp_path):
    server, db_file, stop, threads, issued, dossiers, errors = busy_site(tmp_path)
    usb = tmp_path / "usb"
    usb.mkdir()  # the mounted USB disk; motcua creates its own folder on it
    try:
        while len(dossiers) < 5 or len(issued) < 100:
            assert not errors, errors
            time.sleep(0.05)
        before = {tid for _, tid in issued}
        issued_before = len(issued)
        result = motcua("backup", "--to", str(usb / "motcua"), "--keep", "3",
                        env={"MOTCUA_DATABASE_URL": f"sqlite:///{db_file}"})
        assert result.returncode == 0, result.stderr
        assert len(issued) > issued_before, "writes went on during the backup"
        during = sorted((usb / "motcua").glob("motcua-*.sqlite3"))
        assert len(during) == 1 and "backup written" in result.stdout
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors

    # The backup taken mid-traffic is one consistent moment: every ticket acknowledged before it
    # started is there, and each table holds exactly the live rows up to its newest id (no holes).
    restored = tmp_path / "restored-mid" / "motcua.sqlite3"
    out = motcua("restore", str(during[0]), "--to", str(restored))
    assert out.returncode == 0, out.stderr
    assert before <= set(rows(restored, "tickets"))
    for table in TABLES:
        got, live = rows(restored, table), rows(db_file, table)
        assert got, table
        assert set(got) == {i for i in live if i <= max(got)}, table
        if table in APPEND_ONLY:
            assert all(live[i] == r for i, r in got.items()), table

    # Quiet now (the server still runs): a second backup restored into a new folder equals the live
    # database row for row, every ticket, dossier and event.
    try:
        again = motcua("backup", "--to", str(usb / "motcua"), "--keep", "3",
                       env={"MOTCUA_DATABASE_URL": f"sqlite:///{db_file}"})
        assert again.returncode == 0, again.stderr
        newest = sorted((usb / "motcua").glob("motcua-*.sqlite3"), key=lambda p: p.stat().st_mtime_ns)[-1]
        target = tmp_path / "restored" / "motcua.sqlite3"
        out = motcua("restore", str(newest), "--to", f"sqlite:///{target}")
        assert out.returncode == 0, out.stderr
        for table in TABLES:
            assert rows(target, table) == rows(db_file, table), table
        assert len(rows(target, "dossiers")) == len(dossiers) >= 5
        assert f"{len(rows(db_file, 'tickets'))} tickets" in out.stdout

        # The restored database serves: a server started on it answers with the same queue.
        copy = ServerProcess(f"sqlite:///{target}", workdir=tmp_path / "restored").start()
        try:
            health = httpx.get(f"{copy.base_url}/api/v1/health").json()
            assert health["ok"] is True
        finally:
            copy.stop()
    finally:
        server.stop()


def test_restore_refuses_to_overwrite_unless_told(tmp_path):
    env = {"MOTCUA_DATABASE_URL": f"sqlite:///{tmp_path / 'site' / 'm.sqlite3'}"}
    assert motcua("site", "load", str(demo_site_file()), env=env).returncode == 0
    assert motcua("backup", env=env).returncode == 0
    backup = next((tmp_path / "site" / "backups").glob("motcua-*.sqlite3"))
    live = tmp_path / "site" / "m.sqlite3"
    line = one_line_error(motcua("restore", str(backup), "--to", str(live)))
    assert "already exists" in line and "--force" in line
    forced = motcua("restore", str(backup), "--to", str(live), "--force")
    assert forced.returncode == 0, forced.stderr
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    assert "is not a motcua backup" in one_line_error(motcua("restore", str(junk), "--to", str(tmp_path / "x.db")))


def test_retention_and_a_missing_usb_disk(tmp_path):
    env = {"MOTCUA_DATABASE_URL": f"sqlite:///{tmp_path / 'site' / 'm.sqlite3'}"}
    assert motcua("site", "load", str(demo_site_file()), env=env).returncode == 0
    written = []
    for _ in range(4):
        r = motcua("backup", "--keep", "2", env=env)
        assert r.returncode == 0, r.stderr
        written.append(r.stdout.split("backup written: ")[1].split(" (")[0])
    kept = sorted(str(p) for p in (tmp_path / "site" / "backups").glob("motcua-*.sqlite3"))
    assert kept == sorted(written[-2:])
    line = one_line_error(motcua("backup", "--to", str(tmp_path / "media" / "usb" / "motcua"), env=env))
    assert "is the USB disk plugged in and mounted?" in line


def test_postgres_is_told_to_use_pg_dump(tmp_path):
    line = one_line_error(motcua("backup", env={"MOTCUA_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/db"}))
    assert "pg_dump" in line
