"""The real server process: many kiosks at once, kill -9 mid-issue, restart (SQLite and PostgreSQL)."""

import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from server.broker import SERVER_USER
from server.storage.catalog import demo_site_file
from server.storage.tables import outbox
from tests.support.mqtt import Collector
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow


def prepared_server(db_url, tmp_path, mqtt_url=None) -> tuple[ServerProcess, str, str]:
    """Set up a site through the command line, as an installer would; return (server, kiosk, official tokens)."""
    server = ServerProcess(db_url, mqtt_url=mqtt_url, workdir=tmp_path)
    server.cli("db", "upgrade")
    server.cli("site", "load", str(demo_site_file()))
    server.cli("site", "load", str(demo_site_file()))  # idempotent
    server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "canbo1-password")
    kiosk_token = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
    server.start()
    return server, kiosk_token, server.login("canbo1", "canbo1-password")


def issue_many(base_url, token, clients, per_client, results, stop=None):
    def worker(i):
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
            for _ in range(per_client):
                if stop is not None and stop.is_set():
                    return
                key = str(uuid.uuid4())
                results["inflight"][i] = key
                try:
                    r = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": key})
                except httpx.HTTPError:
                    return  # the server died under us; the key stays "in flight"
                results["inflight"][i] = None
                assert r.status_code == 201, r.text
                results["ok"].append((key, r.json()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def test_eight_kiosks_2000_tickets_no_duplicate_no_gap(db_url, tmp_path):
    server, kiosk, _ = prepared_server(db_url, tmp_path)
    try:
        results = {"ok": [], "inflight": [None] * 8}
        for t in issue_many(server.base_url, kiosk, 8, 250, results):
            t.join()
        numbers = sorted(int(v["number"][1:]) for _, v in results["ok"])
        assert numbers == list(range(1, 2001))
        assert len({v["token"] for _, v in results["ok"]}) == 2000
    finally:
        server.stop()


def test_kill_9_mid_issue_loses_nothing_and_numbering_continues(db_url, tmp_path, broker):
    """Eight kiosks' HTTP clients at once, on SQLite and PostgreSQL; kill -9; restart."""
    server, kiosk, official = prepared_server(db_url, tmp_path, mqtt_url=broker.url(SERVER_USER))
    stop = threading.Event()
    results = {"ok": [], "inflight": [None] * 8}
    threads = issue_many(server.base_url, kiosk, 8, 10_000, results, stop)
    while len(results["ok"]) < 300:
        time.sleep(0.01)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()
    acknowledged = list(results["ok"])
    inflight = [k for k in results["inflight"] if k]

    server.start()
    hall = Collector(broker, "display-hall", "motcua/v1/demo/queues/hotich/state").start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as c:
            as_official = {"Authorization": f"Bearer {official}"}
            for key, view in acknowledged:  # every ticket whose 201 a client saw is there, unchanged
                again = c.get(f"/api/v1/tickets/{view['id']}", headers=as_official).json()
                assert (again["number"], again["token"]) == (view["number"], view["token"])
            as_kiosk = {"Authorization": f"Bearer {kiosk}"}
            retried = []
            for key in inflight:  # the kiosk retries what it never got an answer for
                r = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": key}, headers=as_kiosk)
                assert r.status_code in (200, 201)
                retried.append(r.json())
            after = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": str(uuid.uuid4())},
                           headers=as_kiosk).json()
        numbers = sorted(int(v["number"][1:]) for v in [v for _, v in acknowledged] + retried + [after])
        assert numbers == list(range(1, len(numbers) + 1)), "a duplicate or a gap"
        assert int(after["number"][1:]) == len(numbers)
        # the outbox delivers what was pending: the queue state reaches the broker with the full count
        hall.wait_for(lambda m: m[1]["waiting"] == len(numbers), timeout=30)
        engine = create_engine(db_url)
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as conn:
                pending = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))).scalar_one()
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        engine.dispose()
        assert pending == 0
    finally:
        hall.stop()
        server.stop()
