"""Up-sync between real processes: a site server (SQLite) pushing to province replicas (PostgreSQL).

Shown here: the province holds each event exactly once whatever is replayed, killed or restarted;
bad batches are refused with a clear code and the site named; a site restored from an older
backup is flagged (went back, then forked), never merged.
"""

import json
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from server.storage import catalog, journal, migrate
from server.storage.db import Database
from server.storage.queue_store import QueueStore
from server.storage.tables import sync_journal, sync_state
from server.sync import signing
from tests.support.haproxy import HaProxy
from tests.support.processes import ServerProcess
from tests.support.province import Province, chain_breaks, post_batch, synthetic_events

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def province(postgres_server, tmp_path):
    import uuid

    url = postgres_server.create_database(f"prov_{uuid.uuid4().hex[:10]}")
    p = Province(url, tmp_path / "province").prepare()
    yield p
    p.stop()


def site_db(tmp_path):
    return f"sqlite:///{tmp_path / 'site' / 'site.sqlite3'}"


def add_tickets(url: str, n: int, prefix: str = "t") -> None:
    """Journal events written the way the server writes them (QueueStore), before or between runs."""
    db = Database(url, sqlite_synchronous="NORMAL").open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        queue = QueueStore(db, public_url="http://x")
        for i in range(n):
            queue.issue("demo", "hotich", f"{prefix}-{i}-{time.monotonic_ns()}")
    finally:
        db.close()


def site_rows(url: str):
    db = Database(url).open()
    try:
        with db.read() as conn:
            return conn.execute(sync_journal.select().order_by(sync_journal.c.seq)).all()
    finally:
        db.close()


def site_process(tmp_path, province: Province, key: str | None, batch: int = 50) -> ServerProcess:
    (tmp_path / "site").mkdir(exist_ok=True)
    env = {"MOTCUA_SYNC_BATCH": str(batch), "MOTCUA_SYNC_INTERVAL_S": "0.2", "MOTCUA_SYNC_MAX_BACKOFF_S": "0.5"}
    if key:
        env.update(MOTCUA_PROVINCE_URL=province.replicas[0].base_url, MOTCUA_PROVINCE_KEY=key)
    return ServerProcess(site_db(tmp_path), workdir=tmp_path / "site", extra_env=env)


def same_events(province: Province, rows) -> bool:
    return [(e.seq, e.event_id, e.hash) for e in province.events("demo")] == [(r.seq, r.event_id, r.hash) for r in rows]


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_site_pushes_its_journal_once_and_replayed_batches_count_nothing(province, tmp_path):
    key = province.register("demo")
    province.start(2)
    add_tickets(site_db(tmp_path), 300)
    site = site_process(tmp_path, province, key).start()
    try:
        kiosk = site.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
        for i in range(5):  # live traffic on top of the backlog
            r = httpx.post(f"{site.base_url}/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"live-ticket-{i}"},
                           headers={"Authorization": f"Bearer {kiosk}"})
            assert r.status_code == 201, r.text
        province.wait_for_head("demo", 305)
        rows = site_rows(site_db(tmp_path))
        assert len(rows) == 305 and same_events(province, rows) and chain_breaks(province.events("demo")) == []

        batch = [journal.JournalEvent(*r).as_dict() for r in rows[:100]]
        answers = []

        def replay(replica):
            for _ in range(3):
                answers.append(post_batch(replica.base_url, "demo", key, batch,
                                          site_head={"seq": rows[-1].seq, "hash": rows[-1].hash}))

        threads = [threading.Thread(target=replay, args=(r,)) for r in province.replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [(a.status_code, a.json()["added"], a.json()["seq"]) for a in answers] == [(200, 0, 305)] * 6
        assert same_events(province, rows)

        doctor = subprocess.run([sys.executable, "-m", "motcua", "doctor", "--wait", "0"], env=site.env(),
                                cwd=site.workdir, capture_output=True, text=True)
        assert "sync" in doctor.stdout and "in step with the province (seq 305)" in doctor.stdout, doctor.stdout
    finally:
        site.stop()


def test_a_site_killed_mid_push_resumes_from_the_province_head(province, tmp_path):
    key = province.register("demo")
    province.start(1)
    add_tickets(site_db(tmp_path), 1500)
    site = site_process(tmp_path, province, key, batch=10).start()
    wait_for(lambda: province.site_row("demo").head_seq >= 100, what="a first part to arrive")
    site.kill9()
    held = province.site_row("demo").head_seq
    assert 100 <= held < 1500  # killed with most of the backlog still to send
    site.start()
    try:
        province.wait_for_head("demo", 1500)
    finally:
        site.stop()
    rows = site_rows(site_db(tmp_path))
    assert same_events(province, rows) and len({e.seq for e in province.events("demo")}) == 1500


def test_a_replica_killed_mid_ingest_loses_and_doubles_nothing(province, tmp_path):
    """Four senders race over two replicas; one replica is killed -9 while they send."""
    key = province.register("demo")
    province.start(2)
    add_tickets(site_db(tmp_path), 2000)
    rows = site_rows(site_db(tmp_path))
    events = [journal.JournalEvent(*r).as_dict() for r in rows]
    site_head = {"seq": 2000, "hash": rows[-1].hash}
    alive = list(province.replicas)
    refused = []

    def sender(n):
        head, turn = 0, n
        with httpx.Client(timeout=30) as client:
            while head < 2000:
                replica = alive[turn % len(alive)]
                turn += 1
                try:
                    r = post_batch(replica.base_url, "demo", key, events[max(0, head - 1):head + 50], site_head, client)
                except httpx.HTTPError:
                    continue  # that replica is gone: the next turn goes to another
                if r.status_code != 200:
                    refused.append(r.text)
                    return
                head = r.json()["seq"]

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: province.site_row("demo").head_seq >= 300, what="ingest under way")
    victim = alive.pop(0)
    victim.kill9()
    for t in threads:
        t.join(timeout=120)
    assert refused == []
    held = province.events("demo")
    assert [e.seq for e in held] == list(range(1, 2001)) and same_events(province, rows)
    assert province.site_row("demo").broken is None


def test_a_site_restored_from_an_older_backup_is_named_and_never_merged(province, tmp_path):
    key = province.register("demo")
    province.start(1)
    url = site_db(tmp_path)
    db_file = tmp_path / "site" / "site.sqlite3"
    add_tickets(url, 100, "before")
    site = site_process(tmp_path, province, key).start()
    province.wait_for_head("demo", 100)
    site.stop()
    backup = tmp_path / "backup.sqlite3"
    src, dst = sqlite3.connect(db_file), sqlite3.connect(backup)
    src.backup(dst)
    dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, as a backup is
    src.close()
    dst.close()
    add_tickets(url, 50, "after")
    site.start()
    province.wait_for_head("demo", 150)
    site.stop()
    held = [(e.seq, e.hash) for e in province.events("demo")]

    for extra in ("-wal", "-shm"):
        (tmp_path / "site" / f"site.sqlite3{extra}").unlink(missing_ok=True)
    db_file.write_bytes(backup.read_bytes())  # the restore: the site's journal is back at 100
    site.start()
    wait_for(lambda: province.site_row("demo").broken, what="the site to be flagged")
    site.stop()
    broken = province.site_row("demo").broken
    assert "site demo went back" in broken and "up to seq 100" in broken and "holds 150" in broken
    assert [(e.seq, e.hash) for e in province.events("demo")] == held

    add_tickets(url, 60, "restored")  # the restored site writes a different seq 101..160
    province.cli("province", "clear", "demo")
    site.start()
    try:
        wait_for(lambda: province.site_row("demo").broken, what="the fork to be flagged")
        wait_for(lambda: _site_error(url), what="the site to record the refusal")
    finally:
        site.stop()
    assert "site demo forked at seq 150" in province.site_row("demo").broken
    assert [(e.seq, e.hash) for e in province.events("demo")] == held
    assert "chain_" in _site_error(url)
    status = province.cli("province", "status")
    assert status.startswith("demo: 150 events") and "CHAIN BROKEN" in status


def test_a_restored_site_is_rebased_onto_the_province_chain_and_loses_nothing(province, tmp_path):
    """The way forward after a restore: the site re-chains its new events after the province's."""
    key = province.register("demo")
    province.start(1)
    url = site_db(tmp_path)
    db_file = tmp_path / "site" / "site.sqlite3"
    add_tickets(url, 40, "before")
    site = site_process(tmp_path, province, key).start()
    province.wait_for_head("demo", 40)
    site.stop()
    backup = tmp_path / "backup.sqlite3"
    src, dst = sqlite3.connect(db_file), sqlite3.connect(backup)
    src.backup(dst)
    dst.execute("PRAGMA journal_mode=DELETE")
    src.close()
    dst.close()
    add_tickets(url, 30, "lost")  # pushed, then lost at the site by the restore
    site.start()
    province.wait_for_head("demo", 70)
    site.stop()
    held = [(e.seq, e.event_id, e.hash) for e in province.events("demo")]
    for extra in ("-wal", "-shm"):
        (tmp_path / "site" / f"site.sqlite3{extra}").unlink(missing_ok=True)
    db_file.write_bytes(backup.read_bytes())
    add_tickets(url, 25, "restored")  # the restored site writes seq 41..65, other events than the province's
    new_ids = [r.event_id for r in site_rows(url) if r.seq > 40]
    site.start()
    wait_for(lambda: province.site_row("demo").broken, what="the fork to be flagged")

    told = site.cli("sync", "rebase")  # while the site's server runs
    assert "share events 1–40" in told and "30 events (41–70) exist only at the province" in told
    assert "marker is seq 71" in told and "25 later events are now 72–96" in told
    assert "motcua province clear demo" in told
    province.cli("province", "clear", "demo")
    try:
        province.wait_for_head("demo", 96)
        wait_for(lambda: _site_lag(url) == 0, what="the site to see itself in step")
    finally:
        site.stop()
    events = province.events("demo")
    assert chain_breaks(events) == []  # one unbroken chain from seq 1, hashes recomputed at the province
    assert [(e.seq, e.event_id, e.hash) for e in events[:70]] == held  # what it held is untouched
    assert events[70].kind == "rebase"
    assert json.loads(events[70].body) == {"fork_seq": 40, "province_seq": 70, "only_at_province": 30, "moved": 25}
    assert [e.event_id for e in events[71:]] == new_ids  # the site's events, in their order, none twice
    assert [(r.seq, r.hash) for r in site_rows(url) if r.seq > 40] == [(e.seq, e.hash) for e in events[70:]]
    assert "not forked" in site.cli("sync", "rebase")
    assert not province.site_row("demo").broken


def _site_lag(url):
    db = Database(url).open()
    try:
        with db.read() as conn:
            return journal.lag(conn, "demo").pending
    finally:
        db.close()


def _site_error(url):
    db = Database(url).open()
    try:
        with db.read() as conn:
            return conn.execute(sync_state.select()).first().error or ""
    finally:
        db.close()


def test_bad_batches_are_refused_with_a_code_naming_the_site_and_nothing_merged(province, tmp_path):
    key = province.register("tram2")
    again = subprocess.run([sys.executable, "-m", "motcua", "province", "register", "tram2", "--name", "x"],
                           env=province._process().env(), cwd=province.workdir, capture_output=True, text=True)
    assert again.returncode == 2 and "already registered" in again.stderr and again.stdout == ""
    province.start(1)
    base = province.replicas[0].base_url
    first = synthetic_events("tram2", 10)
    assert post_batch(base, "tram2", key, first).json()["seq"] == 10
    assert post_batch(base, "tram2", key, first).json()["added"] == 0  # replayed

    def code(r):
        return r.status_code, r.json()["error"]["code"]

    assert code(post_batch(base, "tram2", "wrong-key", first)) == (401, "bad_signature")
    assert code(post_batch(base, "ghost", key, first)) == (403, "unknown_site")
    assert code(post_batch(base, "tram2", key, first, ts=int(time.time()) - 3600)) == (401, "signature_expired")
    r = httpx.post(base + "/api/v1/province/ingest", content=b"{not json")
    assert code(r) == (401, "signature_missing")
    path = "/api/v1/province/ingest"
    for garbage in (b"{not json", b'{"site": "tram2", "site_head": {"seq": 0, "hash": "x"}, "events": []}',
                    json.dumps({"site": "tram2", "site_head": {"seq": 10, "hash": first[-1]["hash"]},
                                "events": [first[1], first[0]]}).encode()):
        signed = signing.headers(key, "tram2", int(time.time()), "POST", path, garbage)
        assert code(httpx.post(base + path, content=garbage, headers=signed)) == (422, "invalid_batch")

    nxt = synthetic_events("tram2", 5, start=11, prev=first[-1]["hash"])
    gap = post_batch(base, "tram2", key, nxt[1:])
    assert code(gap) == (409, "sequence_gap") and "tram2" in gap.json()["error"]["message"]
    assert gap.json()["error"]["missing_from"] == 11 and province.site_row("tram2").broken is None
    assert "skipped seq 11" in province.site_row("tram2").gap

    new_key = province.cli("province", "rotate-key", "tram2", "--grace-hours", "0")
    assert code(post_batch(base, "tram2", key, nxt)) == (401, "bad_signature")
    assert post_batch(base, "tram2", new_key, nxt[:2]).json()["seq"] == 12
    assert province.site_row("tram2").gap is None  # taken in order: the gap is behind us

    edited = [dict(nxt[2], body=nxt[2]["body"].replace('"issue"', '"cancel"'))]
    assert code(post_batch(base, "tram2", new_key, edited)) == (409, "event_edited")
    assert code(post_batch(base, "tram2", new_key, nxt[2:])) == (409, "chain_broken")  # flagged: refused
    assert "event 13 does not match its hash" in province.site_row("tram2").broken
    assert [e.seq for e in province.events("tram2")] == list(range(1, 13))


def test_while_the_province_is_unreachable_the_site_keeps_working_shows_the_lag_then_catches_up(province, tmp_path):
    from server.broker import free_port

    key = province.register("demo")
    port = free_port()  # the province's address, with nothing listening yet: the WAN is down
    replica = ServerProcess(province.database_url, workdir=province.workdir, site="province", port=port,
                            extra_env={"MOTCUA_ROLE": "province"})
    add_tickets(site_db(tmp_path), 40)
    (tmp_path / "site").mkdir(exist_ok=True)
    site = ServerProcess(site_db(tmp_path), workdir=tmp_path / "site", extra_env={
        "MOTCUA_PROVINCE_URL": replica.base_url, "MOTCUA_PROVINCE_KEY": key, "MOTCUA_SYNC_INTERVAL_S": "0.2",
        "MOTCUA_SYNC_MAX_BACKOFF_S": "0.5"}).start()
    try:
        kiosk = site.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
        r = httpx.post(f"{site.base_url}/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "offline-1"},
                       headers={"Authorization": f"Bearer {kiosk}"})
        assert r.status_code == 201  # the site works without its province

        def sync_check():
            checks = httpx.get(f"{site.base_url}/api/v1/health").json()["checks"]
            return next(c for c in checks if c["name"] == "sync")

        wait_for(lambda: "unreachable" in sync_check()["detail"], what="the failed try to show")
        lagging = sync_check()
        assert lagging["level"] == "warn" and lagging["detail"].startswith("chưa đồng bộ: 41 sự kiện, từ ")
        assert 'id="sync-line"' in httpx.get(f"{site.base_url}/dashboard/demo").text

        province.replicas.append(replica.start())  # the WAN is back
        province.wait_for_head("demo", 41)
        wait_for(lambda: "in step" in sync_check()["detail"], what="the lag to clear")
        assert sync_check()["level"] == "ok" and same_events(province, site_rows(site_db(tmp_path)))
    finally:
        site.stop()


@pytest.mark.skipif(not HaProxy.available(), reason="needs haproxy (./run test installs it)")
def test_through_haproxy_a_replica_killed_while_the_site_catches_up_costs_nothing(province, tmp_path):
    key = province.register("demo")
    province.start(2)
    proxy = HaProxy(tmp_path, [r.port for r in province.replicas]).start()
    add_tickets(site_db(tmp_path), 1500)
    (tmp_path / "site").mkdir(exist_ok=True)
    site = ServerProcess(site_db(tmp_path), workdir=tmp_path / "site", extra_env={
        "MOTCUA_PROVINCE_URL": proxy.base_url, "MOTCUA_PROVINCE_KEY": key, "MOTCUA_SYNC_BATCH": "10",
        "MOTCUA_SYNC_INTERVAL_S": "0.2", "MOTCUA_SYNC_MAX_BACKOFF_S": "0.5"}).start()
    try:
        wait_for(lambda: province.site_row("demo").head_seq >= 200, what="the catch-up to be under way")
        province.replicas[0].kill9()
        assert province.site_row("demo").head_seq < 1500  # killed while batches were still coming
        province.wait_for_head("demo", 1500)
    finally:
        site.stop()
        proxy.stop()
    rows = site_rows(site_db(tmp_path))
    assert same_events(province, rows) and province.site_row("demo").broken is None
