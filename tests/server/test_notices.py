""""Your turn is near" on real SQLite and PostgreSQL: phones, the n-th rule, exactly-once sending,
crashes on either side of the hand-over, and phone numbers erased when tickets end."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from devices.modem import SimModem, open_modem
from server.domain import notices as n
from server.domain import queue as q
from server.domain.errors import InvalidTransition
from server.notify.channels import SmsChannel
from server.notify.sender import NoticeSender
from server.storage import catalog
from server.storage.db import Database
from server.storage.notice_store import NoticeStore
from server.storage.queue_store import QueueStore
from server.storage.tables import notices, outbox, sites, ticket_events, ticket_phones, tickets

PHONE = "0912 345 678"


def now():
    return datetime.now(timezone.utc)


def stores(db, ahead=2):
    queue = QueueStore(db, public_url="http://127.0.0.1:1")
    queue.notify_ahead = ahead
    return queue, NoticeStore(db, default_ahead=ahead)


def issue(queue, count, service="hotich", prefix="k"):
    return [queue.issue("demo", service, f"{prefix}-{i:04d}")[0] for i in range(count)]


def open_counter(queue, counter="1"):
    queue.set_counter("demo", counter, "open")


def phones(db):
    with db.read() as conn:
        return dict(conn.execute(select(ticket_phones.c.ticket_id, ticket_phones.c.phone)).all())


def notice_rows(db):
    with db.read() as conn:
        return conn.execute(select(notices).order_by(notices.c.id)).all()


# ---- phones -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, phone", [
    ("0912345678", "+84912345678"), ("0912 345 678", "+84912345678"), ("+84 912.345.678", "+84912345678"),
    ("84912345678", "+84912345678"), ("(+84) 386-123-456", "+84386123456"), ("０９１２３４５６７８", "+84912345678"),
])
def test_vietnamese_mobile_numbers_are_normalised(text, phone):
    assert n.normalize_phone(text) == phone
    assert n.mask_phone(phone)[-3:] == phone[-3:] and phone[4:9] not in n.mask_phone(phone)


@pytest.mark.parametrize("text", ["02439123456", "01212345678", "091234567", "09123456789", "+1 650 253 0000",
                                  "0912abc678", "", "0612345678", "0112345678"])
def test_other_numbers_are_refused_in_vietnamese(text):
    with pytest.raises(n.InvalidPhone) as caught:
        n.normalize_phone(text)
    assert caught.value.code == "invalid_phone" and "Số điện thoại di động Việt Nam" in caught.value.message


def test_sms_text_is_one_gsm_sms_without_diacritics():
    text = n.sms_text("A023", 3, "Trung tâm Phục vụ hành chính công xã Mường Phăng", "http://192.168.1.10:8000/t/" + "x" * 22)
    assert text.startswith("So A023: sap den luot. Con 3 nguoi truoc ban.") and len(text) <= 160
    assert text.isascii() and "Xem: http://192.168.1.10:8000/t/" in text
    assert "Ban la nguoi tiep theo" in n.sms_text("A023", 0, "Đồng Văn", None)
    assert "Dong Van" in n.sms_text("A023", 0, "Đồng Văn", None)


# ---- the n-th rule follows the real call order --------------------------------------------------
def _t(i, service="hotich", minutes=0, priority=None, target=None):
    base = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    return q.Ticket(id=i, site="demo", service=service, prefix="A", number=i, day=base.date(),
                    issued_at=base + timedelta(minutes=minutes), priority=priority, target_counter=target)


def test_ahead_is_the_number_of_calls_before_the_ticket_for_one_counter():
    """Targeted, overdue, preference and priority: the count equals what pick_next really does."""
    counter = q.Counter("1", "demo", "Quầy 1", services=["hotich", "chungthuc"], status=q.CounterStatus.OPEN)
    waiting = [_t(1, minutes=50), _t(2, "chungthuc", minutes=0), _t(3, minutes=55, priority=q.Priority.ELDERLY),
               _t(4, minutes=56), _t(5, "chungthuc", minutes=57, target="1"), _t(6, minutes=58),
               _t(7, "chungthuc", minutes=59, priority=q.Priority.MERIT)]
    overdue = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)  # ticket 2 has waited past the limit
    for ticket in waiting:
        predicted = n.call_order_ahead(ticket, waiting, [counter], overdue)
        pool, calls = list(waiting), 0
        while (picked := q.pick_next(counter, pool, overdue)) is not ticket:
            pool.remove(picked)
            calls += 1
        assert predicted == calls, ticket.id


def test_ahead_takes_the_soonest_counter_and_ignores_closed_ones():
    one = q.Counter("1", "demo", "Quầy 1", services=["hotich"], status=q.CounterStatus.OPEN)
    two = q.Counter("2", "demo", "Quầy 2", services=["chungthuc", "hotich"], status=q.CounterStatus.CLOSED)
    waiting = [_t(1), _t(2), _t(3, "chungthuc"), _t(4)]
    assert n.call_order_ahead(waiting[3], waiting, [one, two], None) == 2
    two.status = q.CounterStatus.OPEN  # counter 2 calls its chungthuc ticket first, then ours after 1
    assert n.call_order_ahead(waiting[3], waiting, [one, two], None) == 2
    assert n.call_order_ahead(waiting[2], waiting, [one, two], None) == 0


# ---- notices in the transaction that moved the queue --------------------------------------------
def test_a_call_that_makes_a_ticket_nth_records_one_notice(db):
    queue, store = stores(db, ahead=2)
    tickets_ = issue(queue, 6)
    mine = tickets_[5]
    state = store.attach(mine["token"], PHONE)
    assert state == {"phone": "091* *** 678", "ahead_n": 2, "notice": None}
    open_counter(queue)
    for _ in range(2):  # 5 before → 3 before: not yet
        called = queue.call_next("demo", "1")
        queue.ticket_action(called["id"], "start")
        queue.ticket_action(called["id"], "finish")
    assert notice_rows(db) == []
    queue.call_next("demo", "1")  # 2 before: now
    rows = notice_rows(db)
    assert [(r.ticket_id, r.kind, r.ahead, r.status) for r in rows] == [(mine["id"], "near", 2, "pending")]
    queue.ticket_action(_current(queue), "no-show")
    queue.call_next("demo", "1")
    assert len(notice_rows(db)) == 1  # once per ticket, however far it moves afterwards


def _current(queue):
    return next(c["ticket_id"] for c in queue.counters("demo") if c["counter"] == "1")


def test_a_phone_left_when_already_near_is_told_at_once(db):
    queue, store = stores(db, ahead=3)
    mine = issue(queue, 2)[1]
    open_counter(queue)
    store.attach(mine["token"], PHONE)
    assert [(r.ticket_id, r.ahead) for r in notice_rows(db)] == [(mine["id"], 1)]


def test_site_setting_turns_it_off_and_a_called_ticket_cannot_subscribe(db):
    queue, store = stores(db, ahead=3)
    first, second = issue(queue, 2)
    with db.write() as conn:
        settings = json.loads(conn.execute(select(sites.c.settings).where(sites.c.id == "demo")).scalar())
        conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps({**settings, "notify_ahead": 0})))
    with pytest.raises(InvalidTransition) as off:
        store.attach(second["token"], PHONE)
    assert off.value.code == "notifications_off"
    with db.write() as conn:
        conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    open_counter(queue)
    queue.call_next("demo", "1")
    with pytest.raises(InvalidTransition) as late:
        store.attach(first["token"], PHONE)
    assert late.value.code == "ticket_not_waiting"


def test_one_number_follows_at_most_three_tickets(db):
    queue, store = stores(db)
    tickets_ = issue(queue, 4)
    for t in tickets_[:3]:
        store.attach(t["token"], PHONE)
    with pytest.raises(Exception) as caught:
        store.attach(tickets_[3]["token"], "+84912345678")
    assert caught.value.code == "phone_limit"


# ---- phone numbers live only as long as the ticket ----------------------------------------------
@pytest.mark.parametrize("ending", ["finish", "no-show", "cancel", "recall-limit"])
def test_the_phone_is_erased_when_the_ticket_ends(db, ending):
    queue, store = stores(db)
    mine = issue(queue, 1)[0]
    store.attach(mine["token"], PHONE)
    assert list(phones(db).values()) == ["+84912345678"]
    if ending == "cancel":
        queue.ticket_action(mine["id"], "cancel")
    else:
        open_counter(queue)
        queue.call_next("demo", "1")
        if ending == "finish":
            queue.ticket_action(mine["id"], "start")
            queue.ticket_action(mine["id"], "finish")
        elif ending == "no-show":
            queue.ticket_action(mine["id"], "no-show")
        else:
            for _ in range(queue.recall_limit + 1):
                queue.ticket_action(mine["id"], "recall")
    assert queue.ticket(mine["id"])["status"] in ("done", "no_show", "cancelled")
    assert phones(db) == {}
    _nowhere_else(db)


def test_phones_of_yesterday_are_erased_and_parked_tickets_keep_theirs(db):
    queue, store = stores(db)
    parked, old = issue(queue, 2)
    store.attach(parked["token"], PHONE)
    store.attach(old["token"], "0987654321")
    open_counter(queue)
    queue.call_next("demo", "1")
    queue.ticket_action(parked["id"], "park")
    assert store.erase_stale() == 0 and len(phones(db)) == 2
    assert store.erase_stale(now() + timedelta(days=1)) == 2 and phones(db) == {}


def _nowhere_else(db):
    """No other table, and no outbox event (MQTT), holds the number in any spelling."""
    with db.read() as conn:
        for table in (outbox, tickets, ticket_events, notices):
            for row in conn.execute(select(table)).all():
                text = json.dumps([str(v) for v in row], ensure_ascii=False)
                assert "912345678" not in text and "345 678" not in text, table.name


# ---- sending: exactly once ----------------------------------------------------------------------
def _make_near(queue, store, count, ahead):
    issued = issue(queue, count + ahead + 1, prefix="x")
    for t in issued[ahead + 1:]:
        store.attach(t["token"], f"09{t['id']:08d}")
    for counter in ("1", "2"):
        open_counter(queue, counter)
    return issued


def test_two_senders_with_their_own_connections_send_each_notice_once(db):
    """Two sender threads on two engines (as two server processes would be), one modem each."""
    queue, store = stores(db, ahead=50)
    _make_near(queue, store, 30, 0)
    assert len(notice_rows(db)) == 30
    other_db = Database(db.url, sqlite_synchronous="NORMAL").open()
    try:
        senders = [NoticeSender(NoticeStore(d, default_ahead=50), SmsChannel("sim://"), public_url="http://x",
                                per_minute=600, name=f"s{i}") for i, d in enumerate((db, other_db))]
        threads = [threading.Thread(target=lambda s=s: [None for _ in iter(s.send_one, False)]) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        other_db.close()
    sent = [sms for s in senders for sms in s.notifier.modem.sent]
    rows = notice_rows(db)
    assert len(sent) == 30 and len({sms.to for sms in sent}) == 30
    assert {r.status for r in rows} == {"sent"} and sorted(r.sender for r in rows) == sorted(
        [f"s{i}" for i, s in enumerate(senders) for _ in s.notifier.modem.sent])
    assert sum(s.sent for s in senders) == 30


def test_a_crash_after_the_handover_is_never_resent_and_one_before_it_is_resent_once(db):
    queue, store = stores(db, ahead=50)
    _make_near(queue, store, 2, 0)
    lease = timedelta(seconds=60)
    first = store.claim("dead-1", lease)
    store.mark_handed(first.id, "dead-1", "sms")  # the text went to the modem, then the process died
    second = store.claim("dead-2", lease)  # claimed, died before the modem got anything
    assert store.recover(now() + timedelta(seconds=30)) == (0, 0)  # leases still live
    assert store.recover(now() + timedelta(seconds=61)) == (1, 1)
    channel = SmsChannel("sim://")
    sender = NoticeSender(store, channel, public_url="http://x", per_minute=600, name="new")
    while sender.send_one():
        pass
    by_id = {r.id: r for r in notice_rows(db)}
    assert by_id[first.id].status == "unknown" and by_id[second.id].status == "sent"
    assert [sms.to for sms in channel.modem.sent] == [second.phone]


@pytest.mark.parametrize("fault, status", [("no_signal", "pending"), ("queue_full", "pending"),
                                           ("no_sim", "pending"), ("stall", "unknown")])
def test_modem_faults(db, fault, status):
    queue, store = stores(db, ahead=50)
    _make_near(queue, store, 1, 0)
    channel = SmsChannel(f"sim://?fault={fault}&timeout=0.05&send_timeout=0.05")
    sender = NoticeSender(store, channel, public_url="http://x", name="s")
    assert sender.send_one() and not sender.send_one()  # a failed notice waits; it is not hammered
    (row,) = notice_rows(db)
    assert row.status == status and row.detail.startswith(f"modem.{ {'stall': 'timeout'}.get(fault, fault)}")
    if status == "pending":
        assert row.next_try_at > now()


def test_a_notice_whose_ticket_ended_is_dropped_not_sent(db):
    queue, store = stores(db, ahead=50)
    issued = _make_near(queue, store, 1, 0)
    queue.call_next("demo", "1")
    queue.ticket_action(issued[1]["id"], "cancel")  # the subscribed one
    channel = SmsChannel("sim://")
    NoticeSender(store, channel, public_url="http://x", name="s").send_one()
    assert [r.status for r in notice_rows(db)] == ["dropped"] and channel.modem.sent == []


def test_the_sms_names_the_ticket_and_the_page(db):
    queue, store = stores(db, ahead=1)
    issued = issue(queue, 2)
    open_counter(queue)
    store.attach(issued[1]["token"], PHONE)
    channel = SmsChannel("sim://")
    NoticeSender(store, channel, public_url="http://192.168.1.10:8000", name="s").send_one()
    (sms,) = channel.modem.sent
    assert sms.to == "+84912345678"
    assert sms.text.startswith("So A002: sap den luot. Con 1 nguoi truoc ban.")
    assert f"/t/{issued[1]['token']}" in sms.text


def test_the_modem_url_is_checked_at_start():
    from server.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="MOTCUA_NOTIFY_MODEM"):
        Settings(demo=True, notify_modem="sim://?fault=paper_out").check()
    with pytest.raises(ConfigError, match="MOTCUA_NOTIFY_ZALO"):
        Settings(demo=True, notify_zalo="https://zalo.example").check()
    assert isinstance(open_modem("sim://"), SimModem)


def test_a_restarted_server_recovers_its_dead_predecessor_at_once(db):
    """A sender name is host-pid-random: rows held by a dead process on this host are recovered at
    start without waiting for the lease; a live process's rows are left alone."""
    import os
    import socket
    import subprocess

    queue, store = stores(db, ahead=50)
    _make_near(queue, store, 3, 0)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = f"{socket.gethostname()}-{gone.pid}-abcdef"
    alive = f"{socket.gethostname()}-{os.getppid()}-abcdef"
    handed = store.claim(dead, timedelta(hours=1))
    store.mark_handed(handed.id, dead, "sms")
    claimed = store.claim(dead, timedelta(hours=1))
    kept = store.claim(alive, timedelta(hours=1))
    channel = SmsChannel("sim://")
    sender = NoticeSender(store, channel, public_url="http://x", name="new").start()
    try:
        assert _wait_for(lambda: len(channel.modem.sent) == 1)
    finally:
        sender.stop()
    by_id = {r.id: r for r in notice_rows(db)}
    assert (by_id[handed.id].status, by_id[claimed.id].status, by_id[kept.id].status) == ("unknown", "sent", "sending")


def _wait_for(predicate, seconds=10.0):
    import time

    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("value", ["-1", "51", "true", "2.5", '"3"'])
def test_site_load_refuses_a_bad_notify_ahead_naming_it(db, tmp_path, value):
    text = catalog.demo_site_file().read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text(text.replace("\nmax_wait_minutes = 30\n", f"\nmax_wait_minutes = 30\nnotify_ahead = {value}\n"),
                    encoding="utf-8")
    with pytest.raises(catalog.SiteFileError, match="notify_ahead"):
        catalog.load_site(db, path)


def test_site_file_notify_ahead_applies_at_once(db, tmp_path):
    text = catalog.demo_site_file().read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text(text.replace("\nmax_wait_minutes = 30\n", "\nmax_wait_minutes = 30\nnotify_ahead = 4\n"),
                    encoding="utf-8")
    catalog.load_site(db, path)
    queue, store = stores(db, ahead=1)
    mine = issue(queue, 5)[4]
    assert store.attach(mine["token"], PHONE)["ahead_n"] == 4
    assert [r.ahead for r in notice_rows(db)] == [4]


@pytest.mark.parametrize("url, status, sent", [("sim://", "sent", 1), ("sim://?fault=offline", "pending", 0),
                                                ("sim://?fault=quota", "pending", 0),
                                                ("sim://?fault=not_follower", "failed", 0)])
def test_the_zalo_channel_sits_behind_the_same_interface(db, url, status, sent):
    from server.notify.channels import ZaloZnsSim, build_notifier

    queue, store = stores(db, ahead=50)
    _make_near(queue, store, 1, 0)
    channel = build_notifier(None, url)
    assert isinstance(channel, ZaloZnsSim)
    NoticeSender(store, channel, public_url="http://x", name="s").send_one()
    (row,) = notice_rows(db)
    assert row.status == status and len(channel.sent) == sent
    if sent:
        assert row.channel == "zalo" and channel.sent[0]["template"] == "turn_near"
