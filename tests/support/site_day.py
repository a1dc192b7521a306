"""A centre's working days written through the real stores, and its journal re-chained for other sites.

For province benchmarks that must cost what real ingest costs: the bodies are the ones the stores
journal (tickets issued, called, started and finished; dossiers received → processing →
supplement requested → processing → resolved → returned, online ones submitted then received;
ratings), spread over several days so that a dossier's later events arrive in later batches than
its opening one, as they do at the province.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from server.storage import catalog, journal, migrate
from server.storage.db import Database
from server.storage.dossier_store import DossierStore
from server.storage.journal import GENESIS, event_hash
from server.storage.queue_store import QueueStore
from server.storage.ratings import rate

SERVICES = {  # service → (the counter that serves it first, procedures a dossier of it may be)
    "hotich": ("1", ("1.001193", "1.000894", "1.000656", "1.004873")),
    "chungthuc": ("2", ("2.000815", "2.000884")),
    "cutru": ("3", ("1.004222", "1.004194", "1.010038")),
    "xahoi": ("4", ("1.011607", "1.001699")),
    "kinhdoanh": ("3", ("1.001612",)),
}
DOSSIER_KINDS = ("dossier", "apology")


def working_days(start: date, n: int) -> list[date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_days(path: Path, days: int, tickets_per_day: int, start: date = date(2026, 11, 2)) -> int:
    """``days`` working days of one centre into a new SQLite file (site ``demo``); returns the
    journal's length. Each day: ``tickets_per_day`` tickets issued, called, started and finished
    (one in four rated); seven in ten open a dossier at the counter, and one online dossier comes
    in for every five tickets. Each dossier moves on over the following days (one in three waits
    for a supplement), every change at its own moment, in time order across the whole site, until
    every dossier is returned. About half the events are dossier events."""
    db = Database(f"sqlite:///{path}", sqlite_synchronous="OFF").open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        queue, dossiers = QueueStore(db, public_url="http://x"), DossierStore(db, public_url="http://x")
        for counter in ("1", "2", "3", "4"):
            queue.set_counter("demo", counter, "open", actor="canbo1")
        todo: list = []  # (moment, order, action)
        order = itertools.count()

        def later(moment: datetime, action) -> None:
            heapq.heappush(todo, (moment, next(order), action))

        calendar = working_days(start, days + 10)
        services = list(SERVICES)

        def follow(code: str, received: datetime, n: int, online: bool) -> None:
            """The dossier's next steps, each on a later working day (08:00–16:00 local)."""
            day_index = calendar.index(received.astimezone(timezone(timedelta(hours=7))).date())
            steps = (["received"] if online else []) + ["processing"]
            steps += ["supplement_requested", "processing"] if n % 3 == 0 else []
            steps += ["resolved", "returned"]
            for i, status in enumerate(steps, start=1):
                day = calendar[day_index + i]
                moment = datetime(day.year, day.month, day.day, 1 + n % 8, n % 60, tzinfo=timezone.utc)
                note = "Thiếu giấy tờ" if status == "supplement_requested" else None
                later(moment, lambda s=status, m=moment, why=note: dossiers.change_status(
                    code, s, actor="canbo2", now=m, note=why))

        n_dossier = itertools.count()

        def serve(ticket_no: int, service: str, moment: datetime) -> None:
            counter, procedures = SERVICES[service]
            ticket = queue.issue("demo", service, f"t-{moment:%y%m%d}-{ticket_no}", now=moment)[0]
            queue.call_next("demo", counter, actor="canbo1", now=moment + timedelta(minutes=1))
            queue.ticket_action(ticket["id"], "start", actor="canbo1", now=moment + timedelta(minutes=2))
            if ticket_no % 10 < 7:
                n = next(n_dossier)
                at = moment + timedelta(minutes=3)
                code = dossiers.create(site="demo", procedure_code=procedures[n % len(procedures)],
                                       applicant_name="NGUYỄN VĂN AN", channel="direct", actor="canbo1",
                                       ticket_id=ticket["id"], now=at)["code"]
                follow(code, at, n, online=False)
            queue.ticket_action(ticket["id"], "finish", actor="canbo1", now=moment + timedelta(minutes=4))
            if ticket_no % 4 == 0:
                rate(db, ticket["id"], ("satisfied", "very_satisfied", "not_satisfied")[ticket_no % 3], actor="kiosk-1",
                     site="demo", now=moment + timedelta(minutes=5))

        def online(moment: datetime, k: int) -> None:
            n = next(n_dossier)
            procedures = SERVICES[services[k % len(services)]][1]
            code = dossiers.create(site="demo", procedure_code=procedures[n % len(procedures)],
                                   applicant_name="TRẦN THỊ BÌNH", channel="online", actor="portal",
                                   now=moment)["code"]
            follow(code, moment, n, online=True)

        for day in calendar[:days]:
            opening = datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)  # 08:00 local
            step = timedelta(minutes=480) / tickets_per_day
            for i in range(tickets_per_day):
                moment = opening + step * i
                later(moment, lambda i=i, m=moment: serve(i, services[i % len(services)], m))
                if i % 5 == 0:
                    later(moment + step / 2, lambda i=i, m=moment + step / 2: online(m, i))
            end = opening + timedelta(hours=9)
            while todo and todo[0][0] < end:
                heapq.heappop(todo)[2]()
        while todo:  # the days after: the last dossiers move on, no new tickets
            heapq.heappop(todo)[2]()
        with db.read() as conn:
            return journal.head(conn, "demo")[0]
    finally:
        db.close()


def read_journal(path: Path, limit: int) -> list[dict]:
    db = Database(f"sqlite:///{path}").open()
    try:
        with db.read() as conn:
            return [e.as_dict() for e in journal.read(conn, "demo", 1, limit)]
    finally:
        db.close()


def rechain(events: list[dict], site: str, tag: str = "") -> list[dict]:
    """The same events (bodies, kinds, moments) as ``site``'s own valid chain: its name in every
    hash, new event ids."""
    out, prev = [], GENESIS
    for e in events:
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{tag}/{e['seq']}"))
        h = event_hash(site, e["seq"], event_id, e["kind"], e["at"], prev, e["body"])
        out.append({"seq": e["seq"], "event_id": event_id, "kind": e["kind"], "at": e["at"], "body": e["body"],
                    "prev_hash": prev, "hash": h})
        prev = h
    return out


def mix(events: list[dict]) -> Counter:
    """How many events of each kind (``ticket``, ``call``, ``dossier``, ``rating``, …)."""
    return Counter(e["kind"] for e in events)
