"""Remote tickets under a crowd: the real server process, many officials and phones at once, on
SQLite and on PostgreSQL. The rules: an absent remote ticket is set aside once and never called,
the walk-in behind it is called by the same press and by one counter only; a check-in racing the
calls leaves one legal history; concurrent joins never take more than the remote places or more
than a phone's daily limit."""

from __future__ import annotations

import json
import uuid
from collections import Counter as Tally

import pytest
from sqlalchemy import create_engine, select, update

from server.storage.tables import sites
from tests.e2e.test_claims_concurrent import at_once, code, events_of, statuses
from tests.support.crowd import crowd_site

pytestmark = pytest.mark.slow

COUNTERS = [str(n) for n in range(1, 9)]
ENV = {"MOTCUA_REMOTE_VERIFY_PHONE": "false", "MOTCUA_REMOTE_JOINS_PER_MINUTE": "100000"}


def set_remote(db_url: str, remote: dict) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            settings = json.loads(conn.execute(select(sites.c.settings).where(sites.c.id == "demo")).scalar() or "{}")
            settings["remote"] = remote
            conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    finally:
        engine.dispose()


@pytest.fixture
def crowd(db_url, tmp_path):
    site = crowd_site(db_url, tmp_path, counters=len(COUNTERS), extra_env=ENV)
    site.db_url = db_url
    set_remote(db_url, {"per_phone_per_day": 20, "services": {"hotich": {"capacity": 10_000, "walk_in_share": 0}}})
    yield site
    site.stop()


@pytest.fixture
def officials(crowd):
    clients = {c: crowd.client(c) for c in COUNTERS}
    yield clients
    for client in clients.values():
        client.close()


_phones = iter(range(10_000_000))


def phone() -> str:
    return f"091{next(_phones):07d}"


def join(client, number: str | None = None):
    return client.post("/api/v1/sites/demo/remote-tickets", json={
        "service": "hotich", "phone": number or phone(), "idempotency_key": f"r-{uuid.uuid4()}"})


def test_eight_counters_at_once_set_absent_remote_tickets_aside_and_call_every_present_one_once(crowd, officials):
    rounds = 10
    called: list[int] = []
    absent_ids: list[int] = []
    with crowd.client() as kiosk, crowd.client() as web:
        for _ in range(rounds):
            present: list[int] = []
            for kind in ("absent", "walk", "absent", "walk", "present", "absent", "walk", "walk"):
                if kind == "walk":
                    present.append(crowd.issue(kiosk)["id"])
                    continue
                r = join(web)
                assert r.status_code == 201, r.text
                if kind == "absent":
                    absent_ids.append(r.json()["id"])
                else:
                    checked = kiosk.post("/api/v1/sites/demo/check-in", json={"token": r.json()["token"]})
                    assert checked.status_code == 200 and checked.json()["checked_in"], checked.text
                    present.append(r.json()["id"])
            answers = at_once([
                (lambda c=c: officials[c].post(f"/api/v1/sites/demo/counters/{c}/call-next")) for c in COUNTERS
            ])
            got = [(c, a.json()["id"]) for c, a in zip(COUNTERS, answers) if a.status_code == 200]
            assert {code(a) for a in answers if a.status_code != 200} <= {"queue_empty"}, [a.text for a in answers]
            # every present ticket went to some counter in this one press: nobody lost a turn to an absent one
            assert sorted(t for _, t in got) == sorted(present), [a.text for a in answers]
            for c, ticket_id in got:
                assert officials[c].post(f"/api/v1/tickets/{ticket_id}/start").status_code == 200
            called += [t for _, t in got]
    assert [t for t, n in Tally(called).items() if n > 1] == []
    assert not set(called) & set(absent_ids)
    for ticket_id in absent_ids:
        assert events_of(crowd.db_url, ticket_id) == ["issue", "set_aside"]
    assert statuses(crowd.db_url)["set_aside"] == len(absent_ids) == 3 * rounds


def test_check_in_racing_the_calls_leaves_one_legal_history(crowd, officials):
    seen: Tally = Tally()
    with crowd.client() as kiosk, crowd.client() as web:
        for _ in range(12):
            remote = join(web).json()
            walker = crowd.issue(kiosk)
            answers = at_once(
                [lambda: kiosk.post("/api/v1/sites/demo/check-in", json={"token": remote["token"]})]
                + [(lambda c=c: officials[c].post(f"/api/v1/sites/demo/counters/{c}/call-next")) for c in COUNTERS[:4]])
            assert answers[0].status_code == 200, answers[0].text
            calls = {a.json()["id"]: c for c, a in zip(COUNTERS, answers[1:]) if a.status_code == 200}
            assert {code(a) for a in answers[1:] if a.status_code != 200} <= {"queue_empty"}
            assert walker["id"] in calls  # the walk-in is called whatever the race
            history = events_of(crowd.db_url, remote["id"])
            # Legal: checked in first and called; set aside first (its turn came), back in line by the
            # check-in and maybe called by a later press of the same batch; or passed over while the
            # check-in held its row (PostgreSQL SKIP LOCKED), then waiting, checked in, for the next call.
            assert history in (["issue", "check_in", "call"], ["issue", "set_aside", "check_in", "call"],
                               ["issue", "check_in"], ["issue", "set_aside", "check_in"]), history
            seen[tuple(history)] += 1
            assert ("call" in history) == (remote["id"] in calls)
            if remote["id"] not in calls:
                leftover = officials["5"].post("/api/v1/sites/demo/counters/5/call-next")
                assert leftover.status_code == 200 and leftover.json()["id"] == remote["id"]
                calls[remote["id"]] = "5"
            assert events_of(crowd.db_url, remote["id"]).count("call") == 1
            for ticket_id, c in calls.items():
                assert officials[c].post(f"/api/v1/tickets/{ticket_id}/start").status_code == 200
                assert officials[c].post(f"/api/v1/tickets/{ticket_id}/finish").status_code == 200


def test_fifty_phones_at_once_never_take_more_than_the_remote_places(crowd):
    set_remote(crowd.db_url, {"per_phone_per_day": 1, "services": {"hotich": {"capacity": 40, "walk_in_share": 75}}})
    clients = [crowd.client() for _ in range(50)]
    try:
        answers = at_once([(lambda c=c: join(c)) for c in clients])
        ok = [a for a in answers if a.status_code == 201]
        assert len(ok) == 10, [a.text for a in answers if a.status_code not in (201, 409)]  # 25% of 40
        assert {code(a) for a in answers if a.status_code != 201} == {"remote_share_full"}
        assert len({a.json()["number"] for a in ok}) == 10
        set_remote(crowd.db_url, {"per_phone_per_day": 2, "services": {"hotich": {"capacity": 100, "walk_in_share": 0}}})
        same = phone()
        answers = at_once([(lambda c=c: join(c, same)) for c in clients[:10]])
        assert sum(a.status_code == 201 for a in answers) == 2
        assert {code(a) for a in answers if a.status_code != 201} == {"phone_daily_limit"}
    finally:
        for c in clients:
            c.close()
