"""Province ingest and a site's catch-up, through the real processes.

    .venv/bin/python tests/bench/bench_province.py [--runs 3] [--sites 4] [--events 5000] [--replicas 2]

Ingest: ``--sites`` sites, each pushing ``--events`` events of a centre's journal at once (one
HTTP client per site, batches of 500, turns over ``--replicas`` province processes on one
PostgreSQL, each sent one request first) → events/s held by the province, *with the projection*
(every dossier event replayed through the site's ledger, every rating counted, in the ingest
transaction). The journal is
written once through the real stores on a scratch SQLite site (``tests.support.site_day``: five
working days of tickets issued, called, started, finished, a quarter rated; dossiers received →
processing → supplement → resolved → returned, online ones submitted first, each step on a later
day so a dossier's events span batches) and re-chained for each site (its name in every hash):
about half dossier events, half tickets and calls, a few ratings, like a national day (≈ 3 M
events: 700,000 tickets and their calls, 660,000 dossier events). Also: the share of dossier
events the province projected (held in ``province_dossiers``' histories and not counted in
``unprojected``) — anything below 100 % is a bug.

Floor, measured in the same run on the same database: the same rows, the same threads and batch
size, by bare ``INSERT … ON CONFLICT (site, seq) DO NOTHING`` (psycopg ``executemany``, one
transaction per batch) into a scratch table shaped like ``province_events``. Ratio = HTTP ÷ floor;
projected time for 3 M events at the HTTP rate (target: under 15 minutes).

Catch-up: a busy centre's day kept while the WAN was down (2,000 tickets issued, called, started
and finished, 200 dossiers received → processing → resolved → returned, 500 ratings: the journal
rows this writes), then ``motcua server`` started with the province reachable → seconds until the
province holds the last event (includes the site's process start). Floor: the same rows by bare
``INSERT … ON CONFLICT`` in batches of 500 from one thread. Ratio = catch-up ÷ floor (lower is better).
Also the site server's peak RSS over the catch-up (``--day-factor 5`` writes five days' worth, to
see that memory does not grow with the backlog).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from server.storage import catalog, migrate  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.dossier_store import DossierStore  # noqa: E402
from server.storage.queue_store import QueueStore  # noqa: E402
from server.storage.ratings import rate  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402
from tests.support import site_day  # noqa: E402
from tests.support.province import Province, post_batch  # noqa: E402

BATCH = 500
NATIONAL_DAY = 3_000_000
DAYS = 5
EVENTS_PER_TICKET = 8.6  # what site_day writes per ticket (its dossiers and ratings included)
COLUMNS = ("site", "seq", "event_id", "kind", "at", "body", "prev_hash", "hash", "received_at")
FLOOR_SQL = ("INSERT INTO bench_floor_events (site, seq, event_id, kind, at, body, prev_hash, hash, received_at) "
             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) ON CONFLICT (site, seq) DO NOTHING")


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def floor_insert(url: str, chains: dict[str, list[dict]]) -> float:
    """Bare INSERT … ON CONFLICT of the same rows, one thread per site, one transaction per batch."""
    with psycopg.connect(dsn(url), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_floor_events")
        c.execute("CREATE TABLE bench_floor_events (LIKE province_events INCLUDING ALL)")

    def push(site, events):
        with psycopg.connect(dsn(url)) as conn:
            for i in range(0, len(events), BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(FLOOR_SQL, [(site, e["seq"], e["event_id"], e["kind"], e["at"], e["body"],
                                                 e["prev_hash"], e["hash"]) for e in events[i:i + BATCH]])

    threads = [threading.Thread(target=push, args=item) for item in chains.items()]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def http_ingest(province: Province, keys: dict[str, str], chains: dict[str, list[dict]]) -> float:
    def push(n, site, events):
        with httpx.Client(timeout=60) as client:
            for turn, i in enumerate(range(0, len(events), BATCH)):
                replica = province.replicas[(n + turn) % len(province.replicas)]
                r = post_batch(replica.base_url, site, keys[site], events[i:i + BATCH], client=client)
                assert r.status_code == 200, r.text

    threads = [threading.Thread(target=push, args=(n, site, ev)) for n, (site, ev) in enumerate(chains.items())]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def projected(url: str, sites: list[str]) -> tuple[int, int]:
    """(dossier and apology events held in the sites' ``province_dossiers`` rows, their ``unprojected``)."""
    with psycopg.connect(dsn(url)) as c:
        held = c.execute("SELECT coalesce(sum(json_array_length(history::json) + "
                         "json_array_length(apologies::json)), 0) FROM province_dossiers WHERE site = ANY(%s)",
                         (sites,)).fetchone()[0]
        unprojected = c.execute("SELECT coalesce(sum(unprojected), 0) FROM province_sites WHERE site = ANY(%s)",
                                (sites,)).fetchone()[0]
    return int(held), int(unprojected)


def busy_day(path: Path, days: int = 1) -> int:
    """A centre's day written the way the server writes it; returns the journal's length."""
    db = Database(f"sqlite:///{path}", sqlite_synchronous="NORMAL").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    queue, dossiers = QueueStore(db, public_url="http://x"), DossierStore(db, public_url="http://x")
    queue.set_counter("demo", "1", "open", actor="canbo1")
    ids = [queue.issue("demo", "hotich", f"day-{i:06d}")[0]["id"] for i in range(2000 * days)]
    for n, ticket_id in enumerate(ids):
        queue.call_next("demo", "1", actor="canbo1")
        queue.ticket_action(ticket_id, "start", actor="canbo1")
        if n % 10 == 0:
            code = dossiers.create(site="demo", procedure_code="1.001193", applicant_name="NGUYỄN VĂN AN",
                                   channel="direct", actor="canbo1", ticket_id=ticket_id)["code"]
            for status in ("processing", "resolved", "returned"):
                dossiers.change_status(code, status, actor="canbo1")
    queue.ticket_action(ids[-1], "finish", actor="canbo1")
    for ticket_id in ids[:500 * days]:
        rate(db, ticket_id, "satisfied", actor="kiosk-1", site="demo")
    with db.read() as conn:
        from sqlalchemy import func, select

        from server.storage.tables import sync_journal
        count = conn.execute(select(func.count()).select_from(sync_journal)).scalar_one()
    db.close()
    return count


def journal_chain(path: Path) -> list[dict]:
    db = Database(f"sqlite:///{path}").open()
    from server.storage import journal
    with db.read() as conn:
        events = [e.as_dict() for e in journal.read(conn, "demo", 1, 10**7)]
    db.close()
    return events


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MiB: one batch in memory whatever the backlog."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_once(pg: PostgresServer, work: Path, day_file: Path, day_events: int, journal: list[dict], args) -> dict:
    url = pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")
    province = Province(url, work / "province").prepare()
    try:
        sites = [f"site{i}" for i in range(args.sites)]
        keys = {s: province.register(s) for s in sites}
        keys["demo"] = province.register("demo")
        province.start(args.replicas)
        for replica in province.replicas:  # a replica's first request builds FastAPI's routes: not ingest's cost
            httpx.get(f"{replica.base_url}/api/v1/province/sites/{sites[0]}/head", timeout=30)
        tag = uuid.uuid4().hex[:8]
        chains = {s: site_day.rechain(journal, s, tag) for s in sites}
        http_s = http_ingest(province, keys, chains)
        floor_s = floor_insert(url, chains)
        total = sum(len(c) for c in chains.values())
        held = sum(province.site_row(s).head_seq for s in sites)
        dossier_events = sum(site_day.mix(c)[k] for c in chains.values() for k in site_day.DOSSIER_KINDS)
        in_ledger, unprojected = projected(url, sites)

        site_dir = work / "site"
        shutil.rmtree(site_dir, ignore_errors=True)
        site_dir.mkdir(parents=True)
        shutil.copy(day_file, site_dir / "site.sqlite3")
        site = ServerProcess(f"sqlite:///{site_dir / 'site.sqlite3'}", workdir=site_dir, extra_env={
            "MOTCUA_PROVINCE_URL": province.replicas[0].base_url, "MOTCUA_PROVINCE_KEY": keys["demo"],
            "MOTCUA_SYNC_BATCH": str(BATCH)})
        start = time.perf_counter()
        site.start()
        province.wait_for_head("demo", day_events, timeout=600)
        catchup_s = time.perf_counter() - start
        peak_mb = peak_rss_mb(site.process.pid)
        site.stop()
        with psycopg.connect(dsn(url), autocommit=True) as c:
            c.execute("TRUNCATE bench_floor_events")
        floor_day_s = floor_insert(url, {"demo": journal_chain(day_file)})
        return {"ingest": total / http_s, "ingest_floor": total / floor_s, "held_ok": held == total,
                "projected_share": in_ledger / dossier_events if dossier_events else float("nan"),
                "unprojected": unprojected,
                "catchup": catchup_s, "catchup_floor": floor_day_s, "site_peak_mb": peak_mb}
    finally:
        province.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--day-factor", type=int, default=1, help="days of a busy centre kept offline")
    args = parser.parse_args()
    pg = PostgresServer().start()
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-province-"))
    try:
        day_file = work / "day.sqlite3"
        t = time.perf_counter()
        day_events = busy_day(day_file, args.day_factor)
        print(f"busy day: {day_events} journal events written in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        tickets_per_day = int(args.events / (DAYS * EVENTS_PER_TICKET)) + 10
        site_day.write_days(work / "mix.sqlite3", DAYS, tickets_per_day)
        journal = site_day.read_journal(work / "mix.sqlite3", args.events)
        kinds = site_day.mix(journal)
        print(f"each site's journal: {len(journal)} events written through the stores in "
              f"{time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {n} ({n / len(journal):.0%})" for k, n in kinds.most_common()))
        results = []
        for run in range(args.runs):
            r = run_once(pg, work / f"run{run}", day_file, day_events, journal, args)
            results.append(r)
            print(f"run {run + 1}: ingest {r['ingest']:.0f} events/s (floor {r['ingest_floor']:.0f}, ratio "
                  f"{r['ingest'] / r['ingest_floor']:.2f}, all held: {r['held_ok']}, dossier events projected "
                  f"{r['projected_share']:.1%}, unprojected {r['unprojected']}); catch-up {r['catchup']:.2f} s "
                  f"(floor {r['catchup_floor']:.2f} s, ratio {r['catchup'] / r['catchup_floor']:.1f}); "
                  f"site peak RSS {r['site_peak_mb']:.0f} MiB")

        def line(name, key, unit, fmt):
            values = sorted(r[key] for r in results)
            return f"{name}: min {values[0]:{fmt}} / median {statistics.median(values):{fmt}} / max {values[-1]:{fmt}} {unit}"

        print(f"{args.sites} sites × {len(journal)} events, {args.replicas} replicas, batches of {BATCH}:")
        print("  " + line("ingest with projection (HTTP)", "ingest", "events/s", ".0f"))
        print("  " + line("ingest floor (bare INSERT … ON CONFLICT)", "ingest_floor", "events/s", ".0f"))
        ratios = sorted(r["ingest"] / r["ingest_floor"] for r in results)
        print(f"  ratio HTTP/floor: min {ratios[0]:.2f} / median {statistics.median(ratios):.2f} / max {ratios[-1]:.2f}")
        minutes = sorted(NATIONAL_DAY / r["ingest"] / 60 for r in results)
        print(f"  a national day ({NATIONAL_DAY:,} events) at that rate: min {minutes[0]:.1f} / median "
              f"{statistics.median(minutes):.1f} / max {minutes[-1]:.1f} min (target: under 15)")
        shares = sorted(r["projected_share"] for r in results)
        print(f"  dossier events projected (not in unprojected): min {shares[0]:.1%} / max {shares[-1]:.1%}; "
              f"unprojected counted: {sorted({r['unprojected'] for r in results})}")
        print(f"{args.day_factor}-day outage ({day_events} events):")
        print("  " + line("catch-up", "catchup", "s", ".2f"))
        print("  " + line("catch-up floor (bare INSERT … ON CONFLICT)", "catchup_floor", "s", ".2f"))
        ratios = sorted(r["catchup"] / r["catchup_floor"] for r in results)
        print(f"  ratio catch-up/floor: min {ratios[0]:.1f} / median {statistics.median(ratios):.1f} / max {ratios[-1]:.1f}")
        print("  " + line("site server peak RSS during the catch-up", "site_peak_mb", "MiB", ".0f"))
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
