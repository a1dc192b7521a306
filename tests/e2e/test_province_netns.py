"""Two centres and a province as separate hosts on virtual links (Linux network namespaces).

Each host is a network namespace with its own address on a veth link to a router namespace
(10.77.N.2; nothing touches a real network). The province host runs PostgreSQL, two replicas and
HAProxy on 10.77.3.2; each site host runs its own server (SQLite) and its officials and kiosk
as HTTP clients on its own loopback, pushing its journal to the province's address through the
router. Site A's WAN link is cut on the router for a simulated day while both centres serve
tickets and dossiers, then restored; during A's catch-up a province replica is killed -9
mid-ingest and A's server is killed -9 mid-push and restarted; then batches both sites already
sent are replayed. At the end the province's counts, folded from the events it holds, equal each
site's own reports (over HTTP, at the site) exactly, and their sums.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_all

import httpx
import pytest
from sqlalchemy import select

from server.storage import journal
from server.storage.db import Database
from server.storage.tables import sync_journal
from tests.support.crowd import PASSWORD, CrowdSite, crowd_site
from tests.support.haproxy import HaProxy
from tests.support.netns import Net, NetnsUnavailable, check_available
from tests.support.postgres import PostgresServer
from tests.support.province import Province, chain_breaks, post_batch

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COUNTERS = 3
MORNING = 12  # visits per site before the cut
DAY = 90  # visits per site while A's WAN is down


@pytest.fixture
def net():
    try:
        check_available()
    except NetnsUnavailable as err:
        pytest.skip(f"network namespaces are refused here: {err}")
    hosts = Net()
    try:
        yield hosts.open("site-a", "site-b", "prov")
    finally:
        hosts.close()


def site_url(tmp_path, label):
    return f"sqlite:///{tmp_path / label / 'site.sqlite3'}"


def journal_rows(url: str):
    db = Database(url).open()
    try:
        with db.read() as conn:
            return conn.execute(select(sync_journal).order_by(sync_journal.c.seq)).all()
    finally:
        db.close()


def serve(site: CrowdSite, visits: int, tag: str) -> Counter:
    """A stretch of a day at one centre: ``COUNTERS`` officials in parallel, each taking a citizen's
    ticket from the kiosk, calling, and serving (a dossier received on every third visit, half of
    those resolved the same day) or marking a no-show (every seventh). Returns what was done."""
    done: Counter = Counter()
    lock = threading.Lock()
    base = f"/api/v1/sites/{site.site}"

    def official(counter: str, rounds: int) -> None:
        with site.client() as kiosk, site.client(counter) as me:
            procedures = {s["id"]: [p["code"] for p in s["procedures"]]
                          for s in kiosk.get(f"{base}/services").json()["services"]}
            for i in range(rounds):
                service = "hotich" if i % 2 == 0 else "chungthuc"
                r = kiosk.post(f"{base}/tickets", json={"service": service, "idempotency_key": f"visit-{tag}-{counter}-{i}"})
                assert r.status_code == 201, r.text
                r = me.post(f"{base}/counters/{counter}/call-next")
                assert r.status_code == 200, r.text
                ticket = r.json()
                if i % 7 == 6:
                    assert me.post(f"/api/v1/tickets/{ticket['id']}/no-show").status_code == 200
                    outcome = ["no_show"]
                else:
                    assert me.post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
                    outcome = ["served"]
                    if i % 3 == 0:
                        r = me.post("/api/v1/dossiers", json={
                            "ticket_id": ticket["id"], "procedure_code": procedures[ticket["service"]][0],
                            "applicant_name": "Lò Thị Mai", "channel": "direct"})
                        assert r.status_code == 201, r.text
                        outcome.append("received")
                        if i % 6 == 0:
                            code = r.json()["code"]
                            for status in ("processing", "resolved"):
                                r = me.post(f"/api/v1/dossiers/{code}/status", json={"status": status})
                                assert r.status_code == 200, r.text
                            outcome.append("resolved")
                    assert me.post(f"/api/v1/tickets/{ticket['id']}/finish").status_code == 200
                with lock:
                    done.update(["issued", *outcome])

    counters = sorted(site.official_tokens)
    # threads started from a thread inside a host are inside it too
    with ThreadPoolExecutor(len(counters)) as pool:
        for f in [pool.submit(official, c, visits // len(counters)) for c in counters]:
            f.result()
    return done


def site_ticket_report(site: CrowdSite) -> dict:
    """The centre's whole ticket report (this month), as its director reads it at the site."""
    with httpx.Client(base_url=site.base_url, timeout=30) as c:
        r = c.post("/api/v1/auth/token", data={"username": "giamdoc", "password": PASSWORD})
        hdr = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return c.get(f"/api/v1/sites/{site.site}/reports/tickets", headers=hdr).json()


def site_reports(site: CrowdSite) -> dict[str, int]:
    """The centre's own figures, as its director reads them (the site's report API, at the site)."""
    with httpx.Client(base_url=site.base_url, timeout=30) as c:
        r = c.post("/api/v1/auth/token", data={"username": "giamdoc", "password": PASSWORD})
        hdr = {"Authorization": f"Bearer {r.json()['access_token']}"}
        tickets = c.get(f"/api/v1/sites/{site.site}/reports/tickets", headers=hdr).json()
        dossiers = c.get(f"/api/v1/sites/{site.site}/reports/dossiers", headers=hdr).json()["figures"]
    return {"issued": tickets["issued"], "served": tickets["served"], "no_show": tickets["no_show"],
            "received": dossiers["received"], "resolved": dossiers["resolved"]}


def province_counts(events) -> dict[str, int]:
    """The same figures folded from the journal events the province holds for one site."""
    last_status: dict[int, str] = {}
    counts = Counter()
    for e in events:
        body = json.loads(e.body)
        if e.kind in ("ticket", "call"):
            if body["action"] == "issue":
                counts["issued"] += 1
            last_status[body["ticket"]] = body["status"]
        elif e.kind == "dossier":
            if body["from"] is None:
                counts["received"] += 1
            if body["to"] == "resolved":
                counts["resolved"] += 1
    statuses = Counter(last_status.values())
    return {"issued": counts["issued"], "served": statuses["done"], "no_show": statuses["no_show"],
            "received": counts["received"], "resolved": counts["resolved"]}


def test_two_centres_and_a_province_on_virtual_links_count_every_event_once(net, tmp_path):
    a, b, prov = net["site-a"], net["site-b"], net["prov"]
    pg = prov.call(PostgresServer().start)
    sites: dict[str, CrowdSite] = {}
    province = None
    try:
        prov.call(pg.create_database, "province")
        # the test reads the province's database through its Unix socket (a file, not the network)
        province = Province(f"postgresql+psycopg://postgres@/province?host={pg.dir}&port={pg.port}",
                            tmp_path / "province").prepare()
        keys = {s: province.register(s) for s in ("xa-a", "xa-b")}
        prov.call(province.start, 2)
        proxy = prov.call(HaProxy(tmp_path / "province", [r.port for r in province.replicas], host=prov.address).start)
        assert proxy.base_url.startswith("http://10.77.3.2:")

        def start_site(host, site_id, batch):
            (tmp_path / host.label).mkdir()
            env = {"MOTCUA_PROVINCE_URL": proxy.base_url, "MOTCUA_PROVINCE_KEY": keys[site_id],
                   "MOTCUA_SYNC_BATCH": str(batch), "MOTCUA_SYNC_INTERVAL_S": "0.2", "MOTCUA_SYNC_MAX_BACKOFF_S": "0.5",
                   "MOTCUA_SYNC_TIMEOUT_S": "5"}  # a dead link is a failed try after 5 s, not 30
            return host.call(crowd_site, site_url(tmp_path, host.label), tmp_path / host.label, COUNTERS,
                             extra_env=env, site=site_id)

        sites["xa-a"] = start_site(a, "xa-a", batch=5)  # many small batches: room to kill things mid-way
        sites["xa-b"] = start_site(b, "xa-b", batch=50)
        # the province is reachable only over the links: not from the test's own namespace
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{proxy.base_url}/api/v1/health", timeout=1)

        def head(site_id):
            return province.site_row(site_id).head_seq

        def in_step(site_id, label):
            rows = journal_rows(site_url(tmp_path, label))
            province.wait_for_head(site_id, rows[-1].seq, timeout=90)
            return rows

        done = {"xa-a": Counter(), "xa-b": Counter()}
        morning = [a.submit(serve, sites["xa-a"], MORNING, "morning"), b.submit(serve, sites["xa-b"], MORNING, "morning")]
        for site_id, f in zip(sites, morning):
            done[site_id] += f.result()
        in_step("xa-a", "site-a")
        before_cut = head("xa-a")

        net.cut("site-a")  # the uplink drops for the day
        day = [a.submit(serve, sites["xa-a"], DAY, "day"), b.submit(serve, sites["xa-b"], DAY, "day")]
        wait_all(day)
        for site_id, f in zip(sites, day):
            done[site_id] += f.result()
        rows_b = in_step("xa-b", "site-b")  # the other centre kept syncing all day
        rows_a = journal_rows(site_url(tmp_path, "site-a"))
        assert head("xa-a") == before_cut and len(rows_a) > before_cut + 300

        def sync_check():
            checks = httpx.get(f"{sites['xa-a'].base_url}/api/v1/health", timeout=10).json()["checks"]
            return next(c for c in checks if c["name"] == "sync")

        _wait(lambda: "unreachable" in a.call(sync_check)["detail"], "A to see its province unreachable")
        lag = a.call(sync_check)
        assert lag["level"] == "warn" and lag["detail"].startswith(f"chưa đồng bộ: {len(rows_a) - before_cut} sự kiện")

        net.restore("site-a")  # A catches up, 5 events a batch, through HAProxy
        _wait(lambda: head("xa-a") >= before_cut + 60, "A's catch-up to start")
        province.replicas[0].kill9()  # a replica dies mid-ingest
        _wait(lambda: head("xa-a") >= before_cut + 180, "A's catch-up to go on with one replica")
        sites["xa-a"].server.kill9()  # A's server dies mid-push, and comes back
        assert head("xa-a") < len(rows_a)  # killed with part of the day still to send
        a.call(sites["xa-a"].server.start)
        in_step("xa-a", "site-a")

        # batches both sites already sent, replayed from each site's host: nothing added
        for host, site_id, rows in ((a, "xa-a", rows_a), (b, "xa-b", rows_b)):
            events = [journal.JournalEvent(*r).as_dict() for r in rows[100:150]]
            answer = host.call(post_batch, proxy.base_url, site_id, keys[site_id], events,
                               {"seq": rows[-1].seq, "hash": rows[-1].hash})
            assert answer.status_code == 200 and answer.json()["added"] == 0, answer.text

        reports, totals = {}, Counter()
        for host, site_id, label in ((a, "xa-a", "site-a"), (b, "xa-b", "site-b")):
            held, rows = province.events(site_id), journal_rows(site_url(tmp_path, label))
            assert [(e.seq, e.event_id, e.hash) for e in held] == [(r.seq, r.event_id, r.hash) for r in rows]
            assert chain_breaks(held) == [] and province.site_row(site_id).broken is None
            reports[site_id] = host.call(site_reports, sites[site_id])
            assert reports[site_id] == province_counts(held)  # exactly, figure by figure
            assert reports[site_id] == {k: done[site_id][k] for k in reports[site_id]}  # and what was done
            totals.update(reports[site_id])
        everything = _sum(province, ("xa-a", "xa-b"))
        assert everything == dict(totals) and totals["issued"] == 2 * (MORNING + DAY)
        # the province's own ticket report (the site's code, over the tickets it rebuilt from the events,
        # through the kills and the replays) equals each site's, field by field
        from datetime import date

        from server.storage.reports import ticket_report

        province_db = Database(province.database_url).open()
        try:
            for host, site_id in ((a, "xa-a"), (b, "xa-b")):
                own = host.call(site_ticket_report, sites[site_id])
                start, end = date.fromisoformat(own["from"]), date.fromisoformat(own["to"])
                held = ticket_report(province_db, site_id, start, end)
                assert own["issued"] == MORNING + DAY and own["overall"]["served"] > 0
                assert {k: v for k, v in held.items() if k != "official_names"} == {
                    k: v for k, v in own.items() if k not in ("official_names", "appointments")}, site_id
        finally:
            province_db.close()
    finally:
        for site in sites.values():
            site.stop()
        if province is not None:
            province.stop()
        pg.stop()


def _sum(province: Province, site_ids) -> dict[str, int]:
    total = Counter()
    for s in site_ids:
        total.update(province_counts(province.events(s)))
    return dict(total)


def _wait(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
