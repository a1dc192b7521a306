"""Claiming a ticket under a crowd: the real server process, eight officials pressing at once.

Each official has their own HTTP client (their own connection), released together by a barrier,
on SQLite and on PostgreSQL. The rules: a ticket is called by exactly one counter; a counter never
points at a ticket another counter holds; no counter is left stuck; every answered change is
kept exactly once (no lost update).
"""

from __future__ import annotations

import threading
from collections import Counter as Tally

import httpx
import pytest
from sqlalchemy import create_engine, select

from server.storage.tables import ticket_events, tickets
from tests.support.crowd import crowd_site

pytestmark = pytest.mark.slow

COUNTERS = [str(n) for n in range(1, 9)]


@pytest.fixture
def crowd(db_url, tmp_path):
    site = crowd_site(db_url, tmp_path, counters=len(COUNTERS))
    site.db_url = db_url
    yield site
    site.stop()


@pytest.fixture
def officials(crowd):
    clients = {c: crowd.client(c) for c in COUNTERS}
    yield clients
    for client in clients.values():
        client.close()


def at_once(calls):
    """Run every callable in its own thread, released together; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait()
            answers[i] = calls[i]()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return answers


def code(response: httpx.Response) -> str | None:
    return None if response.is_success else response.json()["error"]["code"]


def counter_tickets(client: httpx.Client) -> dict[str, int | None]:
    return {c["counter"]: c["ticket_id"] for c in client.get("/api/v1/sites/demo/counters").json()["counters"]}


def events_of(db_url: str, ticket_id: int) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(ticket_events.c.action).where(ticket_events.c.ticket_id == ticket_id)
                                .order_by(ticket_events.c.id)).all()
    finally:
        engine.dispose()
    return [r.action for r in rows]


def statuses(db_url: str) -> Tally:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return Tally(r.status for r in conn.execute(select(tickets.c.status)).all())
    finally:
        engine.dispose()


def test_eight_counters_call_next_at_once_each_ticket_called_once(crowd, officials):
    rounds, per_round = 25, 6  # fewer tickets than counters: two officials find the queue empty
    called: list[tuple[str, int]] = []
    last: dict[str, int] = {}
    with crowd.client() as kiosk:
        for _ in range(rounds):
            for _ in range(per_round):
                crowd.issue(kiosk)
            answers = at_once([
                (lambda c=c: officials[c].post(f"/api/v1/sites/demo/counters/{c}/call-next")) for c in COUNTERS
            ])
            got = [(c, a.json()["id"]) for c, a in zip(COUNTERS, answers) if a.status_code == 200]
            assert {code(a) for a in answers if a.status_code != 200} <= {"queue_empty"}, [a.text for a in answers]
            assert len(got) == per_round, [a.text for a in answers]  # every waiting ticket went to someone
            for c, ticket_id in got:
                # the official starts serving: a counter handed someone else's ticket is stuck here
                r = officials[c].post(f"/api/v1/tickets/{ticket_id}/start")
                assert r.status_code == 200, r.text
                last[c] = ticket_id
            called += got
    ids = [t for _, t in called]
    twice = [t for t, n in Tally(ids).items() if n > 1]
    assert twice == [] and len(ids) == rounds * per_round
    at_counters = counter_tickets(officials["1"])
    assert {c: at_counters[c] for c in last} == last
    for ticket_id in (ids[0], ids[len(ids) // 2], ids[-1]):
        assert events_of(crowd.db_url, ticket_id).count("call") == 1


def test_one_ticket_chosen_by_eight_counters_at_once_goes_to_one(crowd, officials):
    with crowd.client() as kiosk:
        for _ in range(15):
            ticket = crowd.issue(kiosk)
            answers = at_once([
                (lambda c=c: officials[c].post(f"/api/v1/sites/demo/counters/{c}/call", json={"ticket": ticket["number"]}))
                for c in COUNTERS
            ])
            winners = [c for c, a in zip(COUNTERS, answers) if a.status_code == 200]
            assert len(winners) == 1, [a.text for a in answers]
            assert {code(a) for a in answers if a.status_code != 200} == {"invalid_transition"}
            holders = [c for c, t in counter_tickets(kiosk).items() if t == ticket["id"]]
            assert holders == winners
            r = officials[winners[0]].post(f"/api/v1/tickets/{ticket['id']}/start")
            assert r.status_code == 200, r.text
            assert events_of(crowd.db_url, ticket["id"]).count("call") == 1


def test_one_counter_pressed_twice_at_once_calls_one_ticket(crowd, officials):
    """Two terminals (or a double tap) on one counter: one call; the other is told who is there."""
    second = crowd.client("1")
    try:
        with crowd.client() as kiosk:
            for _ in range(15):
                crowd.issue(kiosk)
                crowd.issue(kiosk)
                answers = at_once([
                    lambda: officials["1"].post("/api/v1/sites/demo/counters/1/call-next"),
                    lambda: second.post("/api/v1/sites/demo/counters/1/call-next"),
                ])
                ok = [a for a in answers if a.status_code == 200]
                busy = [a for a in answers if code(a) == "counter_busy"]
                assert len(ok) == 1 and len(busy) == 1, [a.text for a in answers]
                assert busy[0].json()["error"]["ticket"]["id"] == ok[0].json()["id"]
                assert counter_tickets(kiosk)["1"] == ok[0].json()["id"]
                # nobody was left "called" with no counter pointing at them
                assert statuses(crowd.db_url)["called"] == 1
                assert officials["1"].post(f"/api/v1/tickets/{ok[0].json()['id']}/start").status_code == 200
    finally:
        second.close()


def test_park_and_transfer_of_one_ticket_at_once_keep_every_answer(crowd, officials):
    """Four officials park and four transfer the ticket at counter 1 at the same moment."""
    with crowd.client() as kiosk:
        for _ in range(12):
            crowd.issue(kiosk)
            called = officials["1"].post("/api/v1/sites/demo/counters/1/call-next")
            assert called.status_code == 200, called.text
            tid = called.json()["id"]
            answers = at_once([
                (lambda c=c: officials[c].post(f"/api/v1/tickets/{tid}/park")) for c in COUNTERS[:4]
            ] + [
                (lambda c=c: officials[c].post(f"/api/v1/tickets/{tid}/transfer", json={"service": "chungthuc"}))
                for c in COUNTERS[4:]
            ])
            parks = sum(a.status_code == 200 for a in answers[:4])
            transfers = sum(a.status_code == 200 for a in answers[4:])
            assert {code(a) for a in answers if a.status_code != 200} <= {"invalid_transition"}
            assert parks <= 1 and parks + transfers >= 1
            ticket = officials["1"].get(f"/api/v1/tickets/{tid}").json()
            events = events_of(crowd.db_url, tid)
            # every answered change is there once, none lost under another
            assert (events.count("park"), events.count("transfer")) == (parks, transfers), events
            assert ticket["status"] == ("waiting" if transfers else "parked")
            assert counter_tickets(kiosk)["1"] is None  # released, not pointing at a ticket gone elsewhere
            if transfers:
                assert ticket["service"] == "chungthuc"
            else:
                officials["1"].post(f"/api/v1/tickets/{tid}/cancel")


NEXT = {  # (status, action) → status after it, the domain's rules for a ticket at its counter
    ("called", "recall"): "called", ("called", "start"): "serving", ("called", "no-show"): "no_show",
    ("serving", "finish"): "done",
}


def test_recall_start_and_no_show_pressed_at_once_leave_one_legal_history(crowd, officials):
    """Six officials act on the ticket at counter 1 at once: the kept history is one legal sequence."""
    actions = ["recall", "recall", "start", "start", "no-show", "no-show"]
    with crowd.client() as kiosk:
        for _ in range(12):
            crowd.issue(kiosk)
            called = officials["1"].post("/api/v1/sites/demo/counters/1/call-next")
            assert called.status_code == 200, called.text
            tid = called.json()["id"]
            answers = at_once([
                (lambda c=c, a=a: officials[c].post(f"/api/v1/tickets/{tid}/{a}")) for c, a in zip(COUNTERS, actions)
            ])
            assert {code(a) for a in answers if a.status_code != 200} <= {"invalid_transition"}
            done = Tally(a for a, r in zip(actions, answers) if r.status_code == 200)
            history = events_of(crowd.db_url, tid)
            assert history[:2] == ["issue", "call"] and Tally(history[2:]) == done, history
            status, recalls = "called", 0
            for action in history[2:]:
                assert (status, action) in NEXT, history  # e.g. a no-show kept after a start
                status = NEXT[(status, action)]
                if action == "recall":
                    recalls += 1
                    status = "no_show" if recalls > 2 else status  # past the recall limit
            ticket = officials["1"].get(f"/api/v1/tickets/{tid}").json()
            assert ticket["status"] == status
            at_counter = counter_tickets(kiosk)["1"]
            assert at_counter == (tid if status in ("called", "serving") else None)
            if status == "called":
                officials["1"].post(f"/api/v1/tickets/{tid}/no-show")
            if status == "serving":
                officials["1"].post(f"/api/v1/tickets/{tid}/finish")
