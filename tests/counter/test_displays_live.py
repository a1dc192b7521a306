"""Calls made over HTTP reach the hall board, a counter board with a sim LED and the announcer,
through a real Mosquitto (with motcua's ACL) and a real server; then the broker is killed mid-stream.
No sleeps: every wait is on an event with a generous timeout."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from counter.boards import OFFLINE_BANNER, CounterBoard, HallBoard
from counter.feed import AnnouncerFeed, BoardFeed
from counter.led import LedCounterDisplay
from counter.voice import Announcer, SimPlayer, VoiceConfig

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
T = 60.0


class Site:
    """An official's HTTP calls against the live site."""

    def __init__(self, live) -> None:
        self.live = live
        self.kiosk = live.client("kiosk")
        self.official = {c: live.client(f"canbo{c}") for c in "1234"}

    def issue(self, service: str) -> dict:
        r = self.kiosk.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": uuid.uuid4().hex})
        r.raise_for_status()
        return r.json()

    def post(self, counter: str, path: str, **kw) -> dict:
        r = self.official[counter].post(path, **kw)
        r.raise_for_status()
        return r.json()

    def open(self, counter: str) -> None:
        self.post(counter, f"/api/v1/sites/demo/counters/{counter}/open")

    def call_next(self, counter: str) -> dict:
        return self.post(counter, f"/api/v1/sites/demo/counters/{counter}/call-next")

    def act(self, counter: str, ticket: dict, action: str) -> dict:
        return self.post(counter, f"/api/v1/tickets/{ticket['id']}/{action}")

    def close(self) -> None:
        for c in [self.kiosk, *self.official.values()]:
            c.close()


@pytest.fixture
def http(mqtt_site):
    s = Site(mqtt_site)
    yield s
    s.close()


@pytest.fixture
def hall(broker):
    board = HallBoard("demo", centre_name="Trung tâm thử")
    feed = BoardFeed.hall(broker.url("display-hall"), board)
    feed.start()
    assert board.wait_until(lambda: board.connected, T)
    yield board, feed
    feed.stop()


@pytest.fixture
def counter1(broker):
    board = CounterBoard("demo", "1")
    led = LedCounterDisplay(board, "sim://")
    led.start()
    feed = BoardFeed.counter(broker.url("counter-1"), board)
    feed.start()
    assert board.wait_until(lambda: board.connected, T)
    yield board, led
    feed.stop()
    led.stop()


@pytest.fixture
def voice(broker):
    player = SimPlayer()
    feed = AnnouncerFeed.connect(broker.url("announcer"), "demo", Announcer(VoiceConfig(max_age_s=600), player=player))
    feed.start()
    assert feed.connected.wait(T)
    yield feed, player
    feed.stop()


@needs_espeak
def test_a_call_reaches_every_display_and_the_voice(http, hall, counter1, voice):
    board, _ = hall
    cboard, led = counter1
    announcer, player = voice
    http.open("1")
    http.issue("hotich"), http.issue("hotich"), http.issue("cutru")
    assert hall[0].wait_until(lambda: board.queues.get("hotich") and board.queues["hotich"].waiting == 2, T)

    a1 = http.call_next("1")
    assert board.wait_until(lambda: board.calls and board.calls[0].ticket == a1["number"], T)
    assert board.wait_until(lambda: board.counters["1"].ticket == "A001" and board.queues["hotich"].waiting == 1, T)
    assert board.calls[0].label == "Quầy 1" and not board.calls[0].recall
    assert cboard.wait_until(lambda: cboard.ticket == "A001" and cboard.blinks == 1, T)
    assert led.display.frames == ["CLEAR", "SHOW A001 01", "BLINK 3"]
    assert announcer.wait_until(lambda: len(announcer.spoken()) == 1, T)
    assert player.wait_for(2, T)  # chime + words
    first_seq = announcer.spoken()[0][0]
    assert announcer.spoken() == [(first_seq, "A001", False)]

    http.act("1", a1, "recall")
    assert announcer.wait_until(lambda: len(announcer.spoken()) == 2, T)
    assert announcer.spoken()[1][1:] == ("A001", True) and announcer.spoken()[1][0] > first_seq
    assert board.wait_until(lambda: board.calls[0].recall, T)
    assert cboard.wait_until(lambda: cboard.blinks == 2, T)
    assert led.display.frames[-2:] == ["SHOW A001 01", "BLINK 3"]
    assert player.wait_for(4, T)

    http.act("1", a1, "start"), http.act("1", a1, "finish")
    assert cboard.wait_until(lambda: cboard.ticket is None, T)
    assert led.display.frames[-1] == "CLEAR"
    assert board.wait_until(lambda: board.counters["1"].ticket is None, T)
    assert board.duplicates == 0


def test_displays_are_read_only_on_calls_and_state(http, hall, broker):
    """The broker's ACL drops what a display user publishes on calls: nobody sees it."""
    board, _ = hall
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="rogue-display")
    client.username_pw_set("display-hall", broker.users["display-hall"])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish("motcua/v1/demo/calls", '{"v":1,"at":"2030-01-01T00:00:00+00:00","seq":999999,'
                       '"ticket":"Z999","counter":"9","label":"Quầy 9","recall":false}', qos=1).wait_for_publish(10)
        http.open("2")
        http.issue("chungthuc")
        b1 = http.call_next("2")  # a real call after the forged one: it arrives, the forgery never does
        assert board.wait_until(lambda: board.calls and board.calls[0].ticket == b1["number"], T)
        assert [c.ticket for c in board.calls] == [b1["number"]]
    finally:
        client.loop_stop()
        client.disconnect()


def persist_sessions(broker) -> None:
    """Make Mosquitto write its persistence file now (SIGUSR1) and wait until it has.

    A site's displays have been subscribed for hours when the broker dies, so their sessions are
    in the file (autosaved every 5 s) and calls published before they reconnect are queued for
    them. A test that kills the broker seconds after subscribing must save explicitly, or the
    broker comes back without those sessions and a call published before a display reconnects is
    (correctly, by MQTT's rules) not kept for it.
    """
    db = broker.workdir / "mosquitto.db"
    before = db.stat().st_mtime_ns if db.exists() else 0
    os.kill(broker.process.pid, signal.SIGUSR1)
    deadline = time.monotonic() + T
    while not (db.exists() and db.stat().st_mtime_ns != before):
        assert time.monotonic() < deadline, "mosquitto did not write its persistence file"
        time.sleep(0.05)


@needs_espeak
def test_broker_killed_and_restarted_mid_stream(http, broker, hall, voice):
    board, _ = hall
    announcer, player = voice
    for c in "1234":
        http.open(c)
    for svc in ("hotich", "hotich", "chungthuc", "cutru", "xahoi", "hotich"):
        http.issue(svc)
    a1 = http.call_next("1")  # A001
    b1 = http.call_next("2")  # B001
    assert board.wait_until(lambda: len(board.calls) == 2, T)
    assert announcer.wait_until(lambda: len(announcer.spoken()) == 2, T)

    persist_sessions(broker)
    broker.stop(kill=True)
    assert board.wait_until(lambda: not board.connected, T)
    assert board.banner == OFFLINE_BANNER
    # while the broker is down the officials keep working; the server's outbox keeps the events
    c1 = http.call_next("3")  # C001
    http.act("1", a1, "recall")
    http.act("2", b1, "no-show")
    d1 = http.call_next("4")  # D001
    broker.start()

    assert board.wait_until(lambda: board.connected, T)
    assert board.banner == ""
    want = {"1": "A001", "2": None, "3": c1["number"], "4": d1["number"]}
    assert board.wait_until(lambda: {k: board.counters[k].ticket for k in want} == want, T), board.snapshot()
    assert board.wait_until(lambda: [c.ticket for c in board.calls][:3] == ["D001", "A001", "C001"], T)
    assert board.wait_until(lambda: board.queues["hotich"].waiting == 2, T)

    assert announcer.wait_until(lambda: len(announcer.spoken()) == 5, T), announcer.log
    spoken = announcer.spoken()
    assert [(t, r) for _, t, r in spoken] == [("A001", False), ("B001", False), ("C001", False),
                                              ("A001", True), ("D001", False)]
    seqs = [s for s, _, _ in spoken]
    assert seqs == sorted(set(seqs))  # strictly increasing: nothing twice, nothing out of order
    assert announcer.announcer.wait_idle(T) and player.wait_for(11, T)
    # five calls, each a chime and the words, the recall's words said twice; nothing else twice
    assert len(player.played) == 11

    # a hall display started now (after the restart) shows the right numbers from retained state
    fresh = HallBoard("demo")
    feed = BoardFeed.hall(broker.url("display-hall"), fresh)
    feed.link.client_id += "-fresh"  # a second TV, not a takeover of the first one's session
    feed.start()
    try:
        assert fresh.wait_until(
            lambda: {k: fresh.counters[k].ticket for k in want if k in fresh.counters} == want, T), fresh.snapshot()
        assert fresh.wait_until(lambda: fresh.queues.get("hotich") and fresh.queues["hotich"].waiting == 2, T)
    finally:
        feed.stop()
