"""Storage on real SQLite and real PostgreSQL: numbering, concurrency, call order, outbox."""

import json
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from server.domain import queue as q
from server.storage import outbox
from server.storage.queue_rows import _counter_from_row, _ticket_from_row
from server.storage.queue_store import QueueStore
from server.storage.tables import counters, outbox as outbox_table, sites, tickets

MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 local


def store(db):
    return QueueStore(db, public_url="http://127.0.0.1:1")


def test_numbers_per_service_per_local_day(db):
    s = store(db)
    a1, _ = s.issue("demo", "hotich", "key-a1", now=MORNING)
    a2, _ = s.issue("demo", "hotich", "key-a2", now=MORNING)
    b1, _ = s.issue("demo", "chungthuc", "key-b1", now=MORNING)
    # 17:00 UTC = local midnight: the next day starts again at 001
    next_day, _ = s.issue("demo", "hotich", "key-a3", now=datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc))
    assert [a1["number"], a2["number"], b1["number"], next_day["number"]] == ["A001", "A002", "B001", "A001"]
    assert a2["ahead"] == 1 and a1["token"] != a2["token"] and len(a1["token"]) >= 22


def test_idempotency_key_returns_the_same_ticket(db):
    s = store(db)
    first, created = s.issue("demo", "hotich", "same-key-1", now=MORNING)
    again, created_again = s.issue("demo", "hotich", "same-key-1", now=MORNING)
    assert created and not created_again and again["id"] == first["id"] and again["token"] == first["token"]
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == 1


def test_eight_threads_2000_tickets_no_duplicate_no_gap(db):
    s = store(db)
    results: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def worker(i):
        try:
            for _ in range(250):
                view, created = s.issue("demo", "hotich", str(uuid.uuid4()), now=MORNING)
                assert created
                results[i].append(view["number"])
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(int(n[1:]) for r in results for n in r)
    assert numbers == list(range(1, 2001))


def test_concurrent_retries_with_one_key_give_one_ticket(db):
    s = store(db)
    ids, barrier = [], threading.Barrier(8)

    def worker():
        barrier.wait()
        ids.append(s.issue("demo", "cutru", "double-tap-key", now=MORNING)[0]["id"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1


@pytest.mark.parametrize("max_wait_minutes", [0, 90, None, 200])
def test_sql_call_order_matches_the_domain_rule(db, max_wait_minutes):
    """Calls at 10:00 of tickets issued 08:00–09:00: no limit, half late, all late (default), none late."""
    s = store(db)
    rng = random.Random(7)
    settings = {} if max_wait_minutes is None else {"max_wait_minutes": max_wait_minutes}
    limit = timedelta(minutes=max_wait_minutes) if max_wait_minutes else None
    if max_wait_minutes is None:
        limit = q.DEFAULT_MAX_WAIT
    with db.write() as conn:
        conn.execute(update(counters).where(counters.c.id == "2").values(status="open"))
        conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    for i in range(40):
        svc = rng.choice(["hotich", "chungthuc", "cutru"])
        prio = rng.choice([None, None, None, "elderly"])
        s.issue("demo", svc, f"order-{i}", priority=prio, now=MORNING + timedelta(seconds=rng.randint(0, 3600)))
    with db.read() as conn:
        pool = [_ticket_from_row(r) for r in conn.execute(select(tickets)).all()]
        counter = _counter_from_row(conn.execute(select(counters).where(counters.c.id == "2")).one())
    expected, called = domain_order_and_calls(s, counter, pool, limit, MORNING + timedelta(hours=2), windows=False)
    assert called == expected and len(called) > 10


def domain_order_and_calls(s, counter, pool, limit, call_at, *, windows: bool) -> tuple[list[str], list[str]]:
    """(the order the domain rule gives ``pool`` for ``counter`` at ``call_at``, booked slots
    counting only with ``windows``; the numbers the store's call-next gives, each started)."""
    expected = []
    while True:
        try:
            nxt = q.pick_next(counter, pool, q.overdue_before(call_at, limit), call_at if windows else None)
        except q.QueueEmpty:
            break
        expected.append(nxt.label)
        pool.remove(nxt)
    called = []
    while True:
        try:
            view = s.call_next("demo", counter.id, now=call_at)
        except q.QueueEmpty:
            break
        called.append(view["number"])
        s.ticket_action(view["id"], "start", now=call_at)
    return expected, called


@pytest.mark.parametrize("max_wait_minutes", [None, 90])
def test_sql_call_order_with_transfers_and_bookings_matches_the_domain_rule(db, max_wait_minutes):
    """The call reads a few candidates, not the whole hall: tickets sent to this counter (or to
    another, never called here), booked tickets inside their window at the call and outside it,
    priorities, three services, two ticket issued in the same second: called in the domain's order."""
    s = store(db)
    rng = random.Random(11)
    call_at = MORNING + timedelta(hours=2)
    with db.write() as conn:
        conn.execute(update(counters).where(counters.c.id == "2").values(status="open"))
        settings = {} if max_wait_minutes is None else {"max_wait_minutes": max_wait_minutes}
        conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    limit = timedelta(minutes=max_wait_minutes) if max_wait_minutes else q.DEFAULT_MAX_WAIT
    for i in range(60):
        svc = rng.choice(["hotich", "chungthuc", "cutru"])
        prio = rng.choice([None, None, None, "elderly"])
        at = MORNING + timedelta(seconds=rng.randint(0, 3600) if i % 10 else 1800)  # some in the same second
        s.issue("demo", svc, f"order-{i}", priority=prio, now=at)
    with db.write() as conn:
        ids = [r.id for r in conn.execute(select(tickets.c.id).order_by(tickets.c.id)).all()]
        for ticket_id in rng.sample(ids, 8):  # sent to a counter: half to this one, half to the other
            conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                         .values(target_counter=rng.choice(["1", "2"])))
        for ticket_id in rng.sample(ids, 10):  # booked: the slot runs at the call, or is over
            start = call_at - timedelta(minutes=rng.choice([10, 10, 90]))
            conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                         .values(window_start=start, window_end=start + timedelta(minutes=30)))
        pool = [_ticket_from_row(r) for r in conn.execute(select(tickets)).all()]
        counter = _counter_from_row(conn.execute(select(counters).where(counters.c.id == "2")).one())
    assert any(t.target_counter == "2" for t in pool) and any(q.in_window(t, call_at) for t in pool)
    expected, called = domain_order_and_calls(s, counter, pool, limit, call_at, windows=True)
    assert called == expected and len(called) > 25


def test_the_last_retained_queue_state_is_always_the_queue_as_it_is(db):
    """Displays keep the last retained ``queues/<service>/state``: after every action it must equal
    the figures read afresh (a change that leaves them as they were may send none: "start")."""
    s = store(db)
    s.set_counter("demo", "1", "open", now=MORNING)
    s.set_counter("demo", "2", "open", now=MORNING)
    for i, svc in enumerate(["hotich", "hotich", "chungthuc", "hotich", "cutru", "chungthuc"]):
        s.issue("demo", svc, f"state-{i}", now=MORNING + timedelta(minutes=i))
    held: dict[str, int] = {}
    steps = [("call", "1"), ("start", "1"), ("finish", "1"), ("call", "1"), ("recall", "1"), ("no-show", "1"),
             ("call", "2"), ("start", "2"), ("transfer", "2"), ("call", "1"), ("park", "1"), ("call", "2"),
             ("start", "2"), ("finish", "2")]
    for i, (action, counter) in enumerate(steps):
        at = MORNING + timedelta(minutes=30 + i)
        with db.read() as conn:
            before = conn.execute(select(func.max(outbox_table.c.id))).scalar() or 0
        if action == "call":
            held[counter] = s.call_next("demo", counter, now=at)["id"]
        elif action == "transfer":
            s.ticket_action(held[counter], "transfer", service="hotich", now=at)
        else:
            s.ticket_action(held[counter], action, now=at)
        with db.read() as conn:
            rows = conn.execute(select(outbox_table).where(outbox_table.c.kind == "queue_state")
                                .order_by(outbox_table.c.id)).all()
            day = s.today(conn, "demo", at)
            last = {json.loads(r.payload)["service"]: json.loads(r.payload) for r in rows}
            for service_id, payload in last.items():
                fresh = s._queue_state(conn, "demo", service_id, day)
                assert {k: payload[k] for k in fresh} == fresh, (i, action, service_id)
        if action == "start":  # nothing changed in the queue: nothing sent
            assert [r for r in rows if r.id > before] == [], i
    assert len(last) >= 2  # more than one service was followed


def test_every_change_writes_gapless_outbox_events(db):
    s = store(db)
    s.set_counter("demo", "1", "open", now=MORNING)
    t, _ = s.issue("demo", "hotich", "outbox-1", now=MORNING)
    s.call_next("demo", "1", now=MORNING)
    s.ticket_action(t["id"], "recall", now=MORNING)
    with db.read() as conn:
        rows = conn.execute(select(outbox_table).order_by(outbox_table.c.id)).all()
        pending = outbox.pending(conn)
    seqs = [r.seq for r in rows]
    assert seqs == list(range(1, len(rows) + 1))
    calls = [r for r in rows if r.kind == "call"]
    assert len(calls) == 2 and '"recall": true' in calls[1].payload and '"seq": %d' % calls[1].seq in calls[1].payload
    assert {r.kind for r in rows} == {"call", "counter_state", "queue_state"}
    assert len(pending) == len(rows)  # nothing published without a broker
