"""Calls and state reach a real Mosquitto through the outbox, in order, across a broker outage."""

import threading
import time
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mqtt import Collector


def issue(client, service="hotich"):
    r = client.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 201
    return r.json()


def test_call_next_reaches_subscribers_with_retained_counter_state(mqtt_site, broker):
    hall = Collector(broker, "display-hall").start()
    try:
        with mqtt_site.client("kiosk") as kiosk, mqtt_site.client("canbo1") as official:
            ticket = issue(kiosk)
            official.post("/api/v1/sites/demo/counters/1/open")
            assert official.post("/api/v1/sites/demo/counters/1/call-next").status_code == 200
        (topic, call, retained), = hall.wait_for(lambda m: m[0] == "motcua/v1/demo/calls")
        assert not retained and call["v"] == 1 and call["at"]
        assert (call["ticket"], call["counter"], call["label"], call["service"], call["recall"]) == (
            ticket["number"], "1", "Quầy 1", "hotich", False)
        assert isinstance(call["seq"], int)
        hall.wait_for(lambda m: m[0] == "motcua/v1/demo/counters/1/state" and m[1]["ticket"] == ticket["number"])
    finally:
        hall.stop()
    # A display that starts later gets the counter's state from the retained message.
    late = Collector(broker, "display-hall", "motcua/v1/demo/counters/+/state").start()
    try:
        (_, state, retained), = late.wait_for(lambda m: m[0].endswith("/counters/1/state"))
        assert retained and state["status"] == "open" and state["ticket"] == ticket["number"]
        assert state["v"] == 1
    finally:
        late.stop()


def test_broker_outage_delays_calls_but_loses_none_and_keeps_order(mqtt_site, broker):
    hall = Collector(broker, "display-hall", "motcua/v1/demo/calls", persistent_id="hall-outage").start()
    with mqtt_site.client("kiosk") as kiosk, mqtt_site.client("canbo1") as c1, mqtt_site.client("canbo2") as c2:
        for _ in range(8):
            issue(kiosk, "hotich")
        c1.post("/api/v1/sites/demo/counters/1/open")
        c2.post("/api/v1/sites/demo/counters/2/open")
        first = c1.post("/api/v1/sites/demo/counters/1/call-next").json()
        hall.wait_for(lambda m: m[1]["ticket"] == first["number"])
        broker.stop()  # the broker goes away; officials keep working
        c1.post(f"/api/v1/tickets/{first['id']}/start")
        called = [first["number"]]
        for official, counter in [(c2, "2"), (c1, "1"), (c2, "2"), (c1, "1"), (c2, "2")]:
            r = official.post(f"/api/v1/sites/demo/counters/{counter}/call-next")
            assert r.status_code == 200  # the broker being down never blocks an official
            called.append(r.json()["number"])
            official.post(f"/api/v1/tickets/{r.json()['id']}/start")
        recall_target = called[-1]
        broker.start()
        hall.wait_for(lambda m: m[1]["ticket"] == recall_target, timeout=30)
    received = hall.calls()
    hall.stop()
    # QoS 1 is at-least-once: a message in flight when the broker stopped may come twice. Consumers
    # drop a seq they have seen (as the displays and the announcer do); what remains is exact.
    seen, calls = set(), []
    for c in received:
        if c["seq"] not in seen:
            seen.add(c["seq"])
            calls.append(c)
    assert [c["ticket"] for c in calls] == called
    seqs = [c["seq"] for c in calls]
    assert seqs == sorted(seqs)


def test_only_the_server_may_publish_calls(mqtt_site, broker):
    hall = Collector(broker, "display-hall", "motcua/v1/demo/#").start()
    rogue = paho.Client(CallbackAPIVersion.VERSION2, client_id="rogue-display")
    rogue.username_pw_set("kiosk-1", broker.users["kiosk-1"])
    rogue.connect(broker.host, broker.port)
    rogue.loop_start()
    try:
        rogue.publish("motcua/v1/demo/calls", '{"ticket": "Z999"}', qos=1).wait_for_publish(5)
        rogue.publish("motcua/v1/demo/counters/1/state", '{"ticket": "Z999"}', qos=1, retain=True).wait_for_publish(5)
        # allowed: its own device status
        rogue.publish("motcua/v1/demo/devices/kiosk-1/status", '{"kind": "printer", "ok": true}', qos=1,
                      retain=True).wait_for_publish(5)
        hall.wait_for(lambda m: m[0] == "motcua/v1/demo/devices/kiosk-1/status")
        with mqtt_site.client("canbo1") as official:
            official.post("/api/v1/sites/demo/counters/1/open")  # a later server message, as a marker
        hall.wait_for(lambda m: m[0] == "motcua/v1/demo/counters/1/state" and m[1].get("status") == "open")
        assert not [m for m in hall.messages if isinstance(m[1], dict) and m[1].get("ticket") == "Z999"]
    finally:
        rogue.loop_stop()
        hall.stop()


def _publisher(broker, user):
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{uuid.uuid4().hex[:6]}")
    client.username_pw_set(user, broker.users[user])
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_a_device_reads_only_its_own_sites_topics(tmp_path):
    """Two sites on one broker (the shipped ACL, as the installer renders it): a device of site
    ``xa-b`` subscribing to everything sees its site's messages and none of ``demo``'s."""
    from server.broker import SERVER_USER, Mosquitto

    users = {SERVER_USER: "s", "display-hall": "d", "display-b": "b"}
    broker = Mosquitto(tmp_path / "broker", users=users, sites={"display-b": "xa-b"}).start()
    demo_hall = Collector(broker, "display-hall").start()
    spy = Collector(broker, "display-b", "motcua/v1/#").start()
    spy_direct = Collector(broker, "display-b", "motcua/v1/demo/#").start()
    server = _publisher(broker, SERVER_USER)
    try:
        server.publish("motcua/v1/demo/calls", '{"ticket": "A001"}', qos=1).wait_for_publish(5)
        server.publish("motcua/v1/demo/counters/1/state", '{"ticket": "A001"}', qos=1, retain=True).wait_for_publish(5)
        server.publish("motcua/v1/xa-b/calls", '{"ticket": "B001"}', qos=1).wait_for_publish(5)
        demo_hall.wait_for(lambda m: m[0] == "motcua/v1/demo/counters/1/state")
        spy.wait_for(lambda m: m[0] == "motcua/v1/xa-b/calls")  # its own site: delivered, so the rest had time
        assert [m[0] for m in spy.messages] == ["motcua/v1/xa-b/calls"]
        assert spy_direct.messages == []
    finally:
        server.loop_stop()
        for c in (demo_hall, spy, spy_direct):
            c.stop()
        broker.stop()


def test_a_device_writes_only_its_own_status_in_its_own_site(tmp_path):
    from server.broker import SERVER_USER, Mosquitto

    users = {SERVER_USER: "s", "kiosk-1": "k", "kiosk-2": "k2", "display-b": "b"}
    broker = Mosquitto(tmp_path / "broker", users=users, sites={"display-b": "xa-b"}).start()
    watcher = Collector(broker, SERVER_USER, "motcua/v1/#").start()
    kiosk = _publisher(broker, "kiosk-1")
    try:
        for topic in ("motcua/v1/xa-b/devices/kiosk-1/status",      # its name, another site
                      "motcua/v1/xa-b/devices/kiosk-1/availability",
                      "motcua/v1/demo/devices/kiosk-2/status",      # another device of its site
                      "motcua/v1/demo/devices/kiosk-1/anything",    # not a status topic
                      "motcua/v1/demo/calls",
                      "motcua/v1/demo/devices/kiosk-1/status"):     # allowed, and last: the marker
            kiosk.publish(topic, '{"kind": "printer", "ok": true}', qos=1).wait_for_publish(5)
        watcher.wait_for(lambda m: m[0] == "motcua/v1/demo/devices/kiosk-1/status")
        assert [m[0] for m in watcher.messages] == ["motcua/v1/demo/devices/kiosk-1/status"]
    finally:
        kiosk.loop_stop()
        watcher.stop()
        broker.stop()


def test_acl_lines_cannot_be_injected_through_a_device_name():
    import pytest

    from server.broker import BrokerError, render_acl

    for bad in ("kiosk-1\ntopic readwrite #", "kiosk 1", "kiosk/1", "kiosk+", "Kiosk", "", "motcua-server"):
        with pytest.raises(BrokerError):
            render_acl({bad: "demo"})
    with pytest.raises(BrokerError):
        render_acl({"kiosk-1": "demo\ntopic readwrite #"})
    assert render_acl({"b": "demo", "a": "demo"}) == render_acl({"a": "demo", "b": "demo"})
