"""The SQLite writer thread (group commit): requests queued behind one commit share the next one,
each in its own savepoint — a request that fails loses its own work only, and nobody is answered
before the commit holding their work."""

import asyncio
import threading

import httpx
import pytest
from sqlalchemy import func, insert, select

from server.domain.errors import NotFound
from server.storage import catalog, migrate
from server.storage.db import Database
from server.storage.queue_store import QueueStore
from server.storage.tables import outbox, sync_journal, tickets
from server.storage.writer import WriteQueue


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'site.sqlite3'}").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    yield db
    db.close()


def count(db, table) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_requests_queued_behind_one_commit_share_the_next_and_a_failure_loses_only_its_own_work(sqlite_db):
    db = sqlite_db
    queue = QueueStore(db, public_url="http://site")
    writer = WriteQueue(db).start()
    gate = threading.Event()
    committed_when_answered = []

    def half_written_then_broken():
        with db.write() as conn:  # writes a ticket row, then fails: the row must not survive
            conn.execute(insert(tickets).values(
                site="demo", service="hotich", prefix="Z", number=99, day=queue_day(db, queue), issued_at=now(),
                status="waiting", idempotency_key="broken", token="broken-token", recall_count=0, transfer_count=0))
            raise RuntimeError("broken after writing")

    async def scenario():
        blocker = asyncio.ensure_future(writer.run(gate.wait, 10))  # holds the writer thread
        await asyncio.sleep(0.2)
        jobs = [writer.run(queue.issue, "demo", "hotich", f"k{n}") for n in range(3)]
        jobs.append(writer.run(queue.issue, "demo", "no-such-service", "bad"))
        jobs.append(writer.run(half_written_then_broken))
        jobs += [writer.run(queue.issue, "demo", "hotich", f"k{n}") for n in range(3, 5)]
        tasks = [asyncio.ensure_future(j) for j in jobs]
        await asyncio.sleep(0.2)
        commits_before = writer.commits
        gate.set()
        await blocker
        results = await asyncio.gather(*tasks, return_exceptions=True)
        committed_when_answered.append(count(db, tickets))
        return results, writer.commits - commits_before

    try:
        results, commits = asyncio.run(scenario())
    finally:
        writer.stop()
    issued = [r for r in results if isinstance(r, tuple)]
    assert [view["number"] for view, created in issued] == ["A001", "A002", "A003", "A004", "A005"]
    assert all(created for _, created in issued)
    assert isinstance(results[3], NotFound) and results[3].code == "unknown_service"
    assert isinstance(results[4], RuntimeError)
    assert commits == 2  # the blocker's own, then all seven in one transaction
    assert committed_when_answered == [5]  # answered after their commit: every ticket already visible
    assert count(db, tickets) == 5  # the broken unit's row was rolled back with its savepoint
    with db.read() as conn:
        assert conn.execute(select(tickets.c.idempotency_key).where(tickets.c.token == "broken-token")).first() is None
        journalled = conn.execute(select(sync_journal.c.seq, sync_journal.c.kind).order_by(sync_journal.c.seq)).all()
        assert [s for s, _ in journalled] == list(range(1, len(journalled) + 1))  # gapless: the failed units took no seq
        assert [k for _, k in journalled] == ["site"] + ["ticket"] * 5  # the site's profile, then the five tickets
        out = conn.execute(select(outbox.c.seq).order_by(outbox.c.seq)).scalars().all()
        assert out == list(range(1, 6))


def test_concurrent_kiosks_with_some_bad_requests_get_consecutive_numbers_and_clear_errors(site):
    async def scenario():
        async with httpx.AsyncClient(base_url=site.base_url, headers={"Authorization": f"Bearer {site.tokens['kiosk']}"},
                                     timeout=30) as client:
            async def one(n):
                service = "no-such-service" if n % 4 == 3 else "hotich"
                return await client.post("/api/v1/sites/demo/tickets", json={"service": service,
                                                                           "idempotency_key": f"kiosk-key-{n:03d}"})
            return await asyncio.gather(*(one(n) for n in range(24)))

    answers = asyncio.run(scenario())
    good = [r for r in answers if r.status_code == 201]
    bad = [r for r in answers if r.status_code != 201]
    assert len(good) == 18 and len(bad) == 6
    assert sorted(r.json()["number"] for r in good) == [f"A{n:03d}" for n in range(1, 19)]
    assert all(r.status_code == 404 and r.json()["error"]["code"] == "unknown_service" for r in bad)
    with httpx.Client(base_url=site.base_url) as client:
        queues = {q["service"]: q for q in client.get("/api/v1/sites/demo/queues").json()["queues"]}
    assert queues["hotich"]["waiting"] == 18


def queue_day(db, queue):
    with db.read() as conn:
        return queue.today(conn, "demo", now())


def now():
    from server.storage.queue_rows import utcnow

    return utcnow()
