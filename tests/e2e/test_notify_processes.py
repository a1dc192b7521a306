"""Real server processes send "your turn is near": to a modem on a pseudo-terminal speaking AT when
calls make tickets n-th, once each across a kill -9 and restart; and once each with two server
processes sending from one database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from server.storage.catalog import demo_site_file
from server.storage.tables import notices
from tests.support.processes import ServerProcess
from tests.support.pty_modem import PtyModem

pytestmark = pytest.mark.slow


def _server(db_url, tmp_path, modem_url, ahead, port=None, setup=True):
    server = ServerProcess(db_url, workdir=tmp_path, port=port, extra_env={
        "MOTCUA_NOTIFY_MODEM": modem_url, "MOTCUA_NOTIFY_AHEAD": str(ahead)})
    if setup:
        server.cli("db", "upgrade")
        server.cli("site", "load", str(demo_site_file()))
        server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "canbo1-password")
    return server


def _issue(server, kiosk, count):
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {kiosk}"}, timeout=10) as c:
        return [c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"notify-proc-{i:04d}"}).json()
                for i in range(count)]


def _attach(server, ticket, phone):
    r = httpx.post(f"{server.base_url}/api/v1/track/{ticket['token']}/phone", json={"phone": phone}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _wait(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_calls_that_make_tickets_nth_reach_the_pty_modem_once_across_a_crash(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    with PtyModem() as modem:
        server = _server(db_url, tmp_path, modem.url, ahead=1)
        kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
        server.start()
        try:
            official = httpx.Client(base_url=server.base_url, timeout=10, headers={
                "Authorization": f"Bearer {server.login('canbo1', 'canbo1-password')}"})
            a1, a2, a3, a4 = _issue(server, kiosk, 4)
            official.post("/api/v1/sites/demo/counters/1/open")
            for ticket, phone in ((a2, "0912000002"), (a3, "0912000003"), (a4, "0912000004")):
                _attach(server, ticket, phone)
            assert _wait(lambda: len(modem.sim.sent) == 1)  # A002 had one person before it already
            assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == "A001"
            assert _wait(lambda: len(modem.sim.sent) == 2)
            server.kill9()
            server.start()  # same pty, new process: nothing is sent again
            official.headers["Authorization"] = f"Bearer {server.login('canbo1', 'canbo1-password')}"
            official.post(f"/api/v1/tickets/{a1['id']}/start")
            assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == "A002"
            assert _wait(lambda: len(modem.sim.sent) == 3)
            time.sleep(1.5)  # a repeat would come within the sender's next rounds
        finally:
            server.stop()
    assert [(s.to, s.text[:7]) for s in modem.sim.sent] == [
        ("+84912000002", "So A002"), ("+84912000003", "So A003"), ("+84912000004", "So A004")]
    assert b"AT+CMGF=1\r" in modem.received and modem.received.count(b"\x1a") == 3
    log = (tmp_path / f"server-{server.port}.log").read_text(errors="replace")
    assert "912000" not in log  # no phone number in the server's log


def test_two_server_processes_send_each_notice_once(db_url, tmp_path):
    logs = [tmp_path / "modem-a.jsonl", tmp_path / "modem-b.jsonl"]
    first = _server(db_url, tmp_path, f"sim://?log={logs[0]}", ahead=50)
    kiosk = first.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
    second = _server(db_url, tmp_path, f"sim://?log={logs[1]}", ahead=50, setup=False)
    first.start()
    second.start()
    try:
        official = httpx.Client(base_url=first.base_url, timeout=10, headers={
            "Authorization": f"Bearer {first.login('canbo1', 'canbo1-password')}"})
        official.post("/api/v1/sites/demo/counters/1/open")
        issued = _issue(first, kiosk, 24)
        for i, ticket in enumerate(issued):
            _attach((first, second)[i % 2], ticket, f"09120{i:05d}")
        engine = create_engine(db_url)
        try:
            def all_sent():
                with engine.connect() as conn:
                    return conn.execute(select(func.count()).where(notices.c.status == "sent")).scalar() == 24
            assert _wait(all_sent, 30)
        finally:
            engine.dispose()
        time.sleep(1.5)
    finally:
        first.stop()
        second.stop()
    lines = [json.loads(line) for log in logs if log.exists() for line in log.read_text().splitlines()]
    assert len(lines) == 24 and len({line["to"] for line in lines}) == 24
