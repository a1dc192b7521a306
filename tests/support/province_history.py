"""Centres with a generated dossier history, and their journals pushed to a province as the
site's sender does (signed batches over HTTP), for the province-view tests.

Each centre is a site file of its own (the demo's services and counters, its own id and name); the
second has its own days off and a same-day cut-off, so a province that replayed on the national
calendar instead of the centre's would get different due dates and figures.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from server.domain.dossiers import DossierError
from server.domain.errors import DomainError
from server.storage import catalog
from server.storage.db import Database
from server.storage.dossier_store import DossierStore
from server.storage.journal import read as read_journal
from server.storage.queue_store import QueueStore
from server.storage.ratings import rate
from server.storage.remote_store import RemoteStore

from .province import post_batch

VN = timezone(timedelta(hours=7))
PROCEDURES = ["1.004873", "1.004222", "2.000815", "1.001612"]  # hộ tịch, cư trú, chứng thực, kinh doanh
OWN_SETTINGS = {
    "xa-ban-lien": '\n[site.settings]\nmax_wait_minutes = 30\ncalendar = { extra_days_off = ["2026-10-12", '
                   '"2026-10-13", "2026-11-20"], extra_working_days = ["2026-10-17"] }\n',
}


def site_file(tmp: Path, site: str, name: str) -> Path:
    """The demo site file with ``site``'s id, name and (for some) its own settings and a cut-off."""
    text = catalog.demo_site_file().read_text(encoding="utf-8")
    text = text.replace('id = "demo"', f'id = "{site}"', 1)
    text = re.sub(r'^name = ".*"$', f'name = "{name}"', text, count=1, flags=re.M)
    if site in OWN_SETTINGS:
        text = text.replace("\n[site.settings]\nmax_wait_minutes = 30\n", OWN_SETTINGS[site], 1)
        text = text.replace('code = "2.000815"\ncutoff = "15:00"', 'code = "2.000815"\ncutoff = "11:00"', 1)
    path = tmp / f"{site}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_sites(db: Database, tmp: Path, sites: dict[str, str]) -> None:
    for site, name in sites.items():
        catalog.load_site(db, site_file(tmp, site, name))


def histories(rnd: random.Random, n: int, first: datetime, days: int) -> list[tuple]:
    """``n`` dossiers opened over ``days`` days from ``first``: (channel, procedure, intake, official,
    [(moment, action, argument)]) with supplements, stops, apologies, withdrawals, refusals,
    online submissions accepted or not, some still open."""
    out = []
    for k in range(n):
        channel = rnd.choice(["direct", "direct", "direct", "online", "postal"])
        moment = first + timedelta(days=rnd.randrange(days), hours=rnd.randrange(11), minutes=rnd.randrange(60))
        official = rnd.choice(["canbo1", "canbo2", "canbo3"])
        changes, t = [], moment
        if channel == "online":
            t += timedelta(hours=rnd.randrange(2, 60))
            if rnd.random() < 0.12:
                out.append((channel, rnd.choice(PROCEDURES), moment, "portal",
                            [(t, rnd.choice(["refused", "withdrawn"]), "Không hợp lệ")]))
                continue
            changes.append((t, "received", official))
        if rnd.random() < 0.5:
            t += timedelta(hours=rnd.randrange(1, 30))
            changes.append((t, "processing", None))
        for _ in range(rnd.choice([0, 0, 1, 1, 2])):
            kind = rnd.choice(["supplement_requested", "supplement_requested", "paused"])
            t += timedelta(days=rnd.randrange(1, 9), hours=1)
            changes.append((t, kind, "Lý do"))
            t += timedelta(days=rnd.randrange(1, 9), hours=1)
            changes.append((t, "processing", None))
        t += timedelta(days=rnd.randrange(0, 16), hours=rnd.randrange(1, 8))
        fate = rnd.random()
        if fate < 0.2:
            changes.append((t, "apology", None))
            t += timedelta(days=rnd.randrange(1, 5), hours=1)
            changes.append((t, "resolved", None))
        elif fate < 0.75:
            changes.append((t, "resolved", None))
            if rnd.random() < 0.5:
                changes.append((t + timedelta(days=rnd.randrange(1, 4)), "returned", None))
        elif fate < 0.82:
            changes.append((t, "withdrawn", "Công dân xin rút"))
        elif fate < 0.87:
            changes.append((t, "refused", "Không đủ điều kiện"))
        out.append((channel, rnd.choice(PROCEDURES), moment, official, changes))
    return out


def play(store: DossierStore, site: str, history: list[tuple], until: datetime) -> int:
    """Intake and changes in time order, as the counters would make them (those after ``until``
    are not made yet); a step the rules refuse (an apology not yet due) is skipped. Returns the
    number of steps made."""
    steps = []
    for i, (channel, procedure, intake, official, changes) in enumerate(history):
        steps.append((intake, i, 0, ("intake", channel, procedure, official)))
        for k, (moment, action, argument) in enumerate(changes, 1):
            steps.append((moment, i, k, (action, argument)))
    steps.sort(key=lambda s: (s[0], s[1], s[2]))
    codes, dead, made = {}, set(), 0
    for moment, i, k, step in steps:
        if moment >= until or i in dead:
            continue
        try:
            if step[0] == "intake":
                _, channel, procedure, official = step
                codes[i] = store.create(site=site, procedure_code=procedure, applicant_name=f"Người {i}",
                                        channel=channel, actor=official, now=moment,
                                        components_digitised=(i % 2 == 0) if channel != "online" else None)["code"]
            elif step[0] == "apology":
                view = store.get(codes[i], now=moment)
                if not view["apology_due"]:
                    continue
                new = store.profile_for(site).calendar.add_working_days(moment.astimezone(VN).date(), 3)
                store.apologise(codes[i], new, "Chờ ý kiến cơ quan cấp trên", actor="canbo1", now=moment)
            elif step[0] == "received":
                # Decision 766 4.2: every other dossier accepted with its components digitised
                store.change_status(codes[i], "received", actor=step[1], now=moment,
                                    components_digitised=i % 2 == 0)
            else:
                store.change_status(codes[i], step[0], note=step[1], actor="canbo1", now=moment,
                                    reason=step[1] if step[0] == "supplement_requested" else None,
                                    # 4.1: two results in three digitised
                                    result_digitised=(i % 3 != 0) if step[0] == "resolved" else None)
            made += 1
        except DossierError:  # a random step the rules refuse: that dossier stops here
            if step[0] == "intake":
                raise
            dead.add(i)
    return made


SERVICES = ["hotich", "chungthuc", "cutru", "xahoi", "kinhdoanh"]
PRIORITIES = [None] * 6 + ["elderly", "disabled", "pregnant"]


def ticket_day(queue: QueueStore, remote: RemoteStore, site: str, start: datetime, rnd: random.Random,
               n: int = 45) -> dict[str, int]:
    """A centre's day at the counters from ``start``: walk-ins (some with a priority) and remote
    tickets (some checking in, some set aside, one back in line), calls, recalls (to the limit: a
    no-show), no-shows, starts, finishes (one by calling the next), parks and resumes, transfers,
    cancellations and ratings. Returns how many of each action were made."""
    made: dict[str, int] = {}
    t = start

    def did(action: str) -> None:
        made[action] = made.get(action, 0) + 1

    def tick(lo: int = 1, hi: int = 6) -> datetime:
        nonlocal t
        t += timedelta(minutes=rnd.randrange(lo, hi), seconds=rnd.randrange(60))
        return t

    counters = ["1", "2", "3", "4"]
    for c in counters:
        queue.set_counter(site, c, "open", actor=f"canbo{c}", now=t)
    held: dict[str, dict] = {}  # counter → the ticket it holds (id, status)
    waiting: list[int] = []
    remote_tokens: list[str] = []
    parked: list[int] = []
    for i in range(n * 2):  # some are still waiting at the end of the day
        if i < n and rnd.random() < 0.6:
            if rnd.random() < 0.2:
                phone = f"+849{rnd.randrange(10**7, 10**8)}"
                view, _ = remote.join(site, "hotich", phone, f"r-{site}-{start:%m%d}-{i}", now=tick())
                if rnd.random() < 0.7:  # the others never come: set aside when their turn comes
                    remote_tokens.append(view["token"])
                did("remote")
            else:
                view, _ = queue.issue(site, rnd.choice(SERVICES), f"k-{site}-{start:%m%d}-{i}",
                                      priority=rnd.choice(PRIORITIES), actor="kiosk-1", now=tick())
                did("issue")
            waiting.append(view["id"])
        if remote_tokens and rnd.random() < 0.15:
            remote.check_in(remote_tokens.pop(rnd.randrange(len(remote_tokens))), "kiosk", now=tick())
            did("check_in")
        if parked and rnd.random() < 0.3:
            queue.ticket_action(parked.pop(0), "resume", actor="canbo1", now=tick())
            did("resume")
        if waiting and rnd.random() < 0.06:
            try:
                queue.ticket_action(waiting.pop(rnd.randrange(len(waiting))), "cancel", actor="canbo1", now=tick())
                did("cancel")
            except DomainError:
                pass
        c = rnd.choice(counters)
        now, mine = tick(), held.get(c)
        try:
            if mine is None or mine["status"] in ("done", "no_show", "waiting", "parked"):
                view = queue.call_next(site, c, actor=f"canbo{c}", now=now)
                held[c] = {"id": view["id"], "status": view["status"]}
                did("call")
            elif mine["status"] == "called":
                action = rnd.choices(["start", "recall", "no-show", "transfer"], [10, 4, 1, 1])[0]
                kwargs = {"service": rnd.choice(SERVICES)} if action == "transfer" else {}
                mine["status"] = queue.ticket_action(mine["id"], action, actor=f"canbo{c}", now=now, **kwargs)["status"]
                did(action)
            else:  # serving
                action = rnd.choices(["finish", "call-next", "park"], [6, 3, 1])[0]
                if action == "park":
                    mine["status"] = queue.ticket_action(mine["id"], "park", actor=f"canbo{c}", now=now)["status"]
                    parked.append(mine["id"])
                elif action == "finish":
                    mine["status"] = queue.ticket_action(mine["id"], "finish", actor=f"canbo{c}", now=now)["status"]
                else:  # calling the next finishes this one on the way
                    view = queue.call_next(site, c, actor=f"canbo{c}", now=now)
                    held[c] = {"id": view["id"], "status": view["status"]}
                    mine["status"] = "done"
                did(action)
                if mine["status"] == "done" and rnd.random() < 0.7:
                    rate(queue.db, mine["id"], rnd.choice(["very_satisfied", "satisfied", "satisfied", "not_satisfied"]),
                         actor="display-1", site=site, now=tick(0, 2))
                    did("rating")
        except DomainError:  # an empty queue, a ticket taken meanwhile: the next step
            pass
    return made


def push(site_db: Database, base_url: str, site: str, key: str, batch: int = 300) -> int:
    """The site's whole journal to the province in signed batches (as ``UpSync`` sends them)."""
    sent, seq = 0, 1
    while True:
        with site_db.read() as conn:
            events = [e.as_dict() for e in read_journal(conn, site, seq, batch)]
        if not events:
            return sent
        for e in events:
            e.pop("site")
        r = post_batch(base_url, site, key, events)
        assert r.status_code == 200, r.text
        sent += len(events)
        seq = events[-1]["seq"] + 1


def today_vn() -> date:
    return datetime.now(VN).date()
