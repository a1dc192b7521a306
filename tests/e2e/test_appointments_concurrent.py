"""Appointments under a crowd, on SQLite and PostgreSQL, against the real server process.

Eight verified citizens book the five places of one slot at the same moment: exactly five get one.
Each booked citizen's QR is scanned at two kiosks at once: one ticket each. Four officials then
call at the same moment, round after round: every ticket is called exactly once, and the first
round takes only booked citizens (inside their window) although ten walk-ins came earlier.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, func, select, update

from server.auth import AuthStore
from server.storage.db import Database
from server.storage.tables import appointments, sites, ticket_events, tickets
from tests.e2e.test_claims_concurrent import at_once, code
from tests.support.appointments import local_now, slot_around_now
from tests.support.crowd import PASSWORD, crowd_site

pytestmark = pytest.mark.slow
CITIZENS = 8
CAPACITY = 5
WALK_INS = 10


def _read_code(log, phone: str, deadline_s: float = 10) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if log.exists():
            for line in reversed(log.read_text().splitlines()):
                sms = json.loads(line)
                if sms["to"] == phone and "Ma xac nhan" in sms["text"]:
                    return re.search(r"\b(\d{6})\b", sms["text"]).group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code for {phone}")


def test_last_places_and_calls_under_a_crowd(db_url, tmp_path):
    log = tmp_path / "modem.jsonl"
    site = crowd_site(db_url, tmp_path, counters=4, extra_env={"MOTCUA_NOTIFY_MODEM": f"sim://?log={log}"})
    try:
        db = Database(db_url).open()
        try:
            with db.write() as conn:
                settings = json.dumps({"calendar": {"extra_working_days": [local_now().date().isoformat()]}})
                conn.execute(update(sites).where(sites.c.id == "demo").values(settings=settings))
            AuthStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).add_user(
                "giamdoc", PASSWORD, "manager", site="demo")
        finally:
            db.close()
        web = httpx.Client(base_url=site.base_url, timeout=30)
        token = web.post("/api/v1/auth/token", data={"username": "giamdoc", "password": PASSWORD}).json()["access_token"]
        slot = slot_around_now(CAPACITY)
        r = web.put("/api/v1/sites/demo/appointment-plans/hotich", json={"slots": [slot]},
                    headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        proofs = []
        for i in range(CITIZENS):
            phone = f"+8491200{i:04d}"
            v = web.post("/api/v1/phone/verify/start", json={"phone": "0" + phone[3:]}).json()["verification"]
            c = web.post("/api/v1/phone/verify/confirm", json={"verification": v, "code": _read_code(log, phone)})
            assert c.status_code == 200, c.text
            proofs.append(c.json()["proof"])

        kiosk = site.client()
        walk_ins = [site.issue(kiosk)["id"] for _ in range(WALK_INS)]

        clients = [httpx.Client(base_url=site.base_url, timeout=30) for _ in range(CITIZENS)]
        body = {"service": "hotich", "day": local_now().date().isoformat(), "start": slot["start"]}
        answers = at_once([lambda c=c, p=p: c.post("/api/v1/sites/demo/appointments", json={**body, "proof": p})
                           for c, p in zip(clients, proofs)])
        assert sorted(a.status_code for a in answers) == [201] * CAPACITY + [409] * (CITIZENS - CAPACITY)
        assert {code(a) for a in answers if a.status_code == 409} == {"slot_full"}
        booked = [a.json()["token"] for a in answers if a.status_code == 201]
        days = web.get("/api/v1/sites/demo/appointments/slots").json()["services"][0]["days"]
        assert [d["slots"][0]["left"] for d in days if d["day"] == body["day"]] == [0]  # no place left

        kiosks = [site.client() for _ in range(2 * CAPACITY)]
        scans = at_once([lambda k=k, t=t: k.post("/api/v1/sites/demo/appointments/check-in", json={"token": t})
                         for k, t in zip(kiosks, [t for t in booked for _ in (0, 1)])])
        assert all(s.status_code in (200, 201) for s in scans), [s.text for s in scans]
        per_token = {}
        for t, s in zip([t for t in booked for _ in (0, 1)], scans):
            per_token.setdefault(t, set()).add(s.json()["id"])
        assert all(len(ids) == 1 for ids in per_token.values())  # two kiosks, one ticket
        booked_ids = {next(iter(ids)) for ids in per_token.values()}
        assert len(booked_ids) == CAPACITY

        officials = {c: site.client(c) for c in ("1", "2", "3", "4")}
        rounds = []
        while True:
            got = at_once([lambda o=o, n=n: o.post(f"/api/v1/sites/demo/counters/{n}/call-next")
                           for n, o in officials.items()])
            pairs = [(o, g.json()["id"]) for o, g in zip(officials.values(), got) if g.status_code == 200]
            called = [t for _, t in pairs]
            assert {code(g) for g in got if g.status_code != 200} <= {"queue_empty"}
            if not called:
                break
            rounds.append(called)
            started = at_once([lambda o=o, t=t: o.post(f"/api/v1/tickets/{t}/start") for o, t in pairs])
            assert [r.status_code for r in started] == [200] * len(pairs)
        everyone = [t for r in rounds for t in r]
        assert sorted(everyone) == sorted([*walk_ins, *booked_ids])  # each ticket called once
        assert set(rounds[0]) <= booked_ids and len(rounds[0]) == 4  # booked citizens first
        assert booked_ids <= set(rounds[0]) | set(rounds[1])
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                calls = conn.execute(select(ticket_events.c.ticket_id, func.count()).where(
                    ticket_events.c.action == "call").group_by(ticket_events.c.ticket_id)).all()
                assert sorted(n for _, n in calls) == [1] * (WALK_INS + CAPACITY)
                assert conn.execute(select(func.count()).select_from(appointments).where(
                    appointments.c.status == "arrived")).scalar_one() == CAPACITY
                assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == WALK_INS + CAPACITY
        finally:
            engine.dispose()
        for c in [*clients, *kiosks, *officials.values(), web, kiosk]:
            c.close()
    finally:
        site.stop()
