"""The live province board's bridge between two real Mosquitto brokers (site and province) on loopback.

The province broker's users and ACL and the site broker's bridge file are made by the commands an
operator runs (``motcua province bridge-user`` at the province, ``motcua province bridge-config``
at the site); the site is the real app publishing its outbox to its own broker.
"""

import json
import subprocess
import sys
import threading
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from server.bridge import ProvinceBroker, render_bridge_conf, render_province_acl
from server.broker import SERVER_USER, BrokerError, Mosquitto, render_acl
from tests.support.live import LiveSite
from tests.support.mqtt import Collector

pytestmark = pytest.mark.slow
BOARD = {"board": "board-pass"}
SITE_USERS = {SERVER_USER: "server-pass", "display-hall": "display-hall-pass", "kiosk-1": "kiosk-1-pass",
              "sysreader": "sysreader-pass"}


def motcua(*args):
    done = subprocess.run([sys.executable, "-m", "motcua", *args], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def province_broker(tmp_path):
    broker = Mosquitto(tmp_path / "province", users=dict(BOARD), acl="")
    broker.write_config()
    urls = {}
    for site in ("demo", "xa-b"):  # as the province's operator adds each centre
        rc, out, err = motcua("province", "bridge-user", site, "--address", f"127.0.0.1:{broker.port}", "--plain",
                              "--password-file", str(broker.workdir / "passwd"), "--acl-file", str(broker.workdir / "acl"))
        assert rc == 0, err
        urls[site] = out.strip()
    broker.users.update({f"bridge-{s}": ProvinceBroker.parse(u, s).password for s, u in urls.items()})
    broker.start()
    broker.bridge_urls = urls
    yield broker
    broker.stop()


def site_broker(tmp_path, bridge_url: str) -> Mosquitto:
    rc, conf, err = motcua("province", "bridge-config", "--site", "demo", "--broker", bridge_url)
    assert rc == 0, err
    conf = conf.replace("restart_timeout 5 60", "restart_timeout 1 2")  # reconnect fast in a test
    devices = {u: "demo" for u in SITE_USERS if u not in (SERVER_USER, "sysreader")}
    acl = render_acl(devices) + "\nuser sysreader\ntopic read $SYS/#\n"
    return Mosquitto(tmp_path / "site-broker", users=dict(SITE_USERS), acl=acl,
                     extra_conf="sys_interval 1\n" + conf).start()


def call_one(site, counter="1"):
    with site.client("kiosk") as kiosk, site.client(f"canbo{counter}") as official:
        r = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": str(uuid.uuid4())})
        assert r.status_code == 201
        official.post(f"/api/v1/sites/demo/counters/{counter}/open")
        r = official.post(f"/api/v1/sites/demo/counters/{counter}/call-next")
        assert r.status_code == 200, r.text  # the site never waits for its province
        ticket = r.json()
        for step in ("start", "finish"):
            assert official.post(f"/api/v1/tickets/{ticket['id']}/{step}").status_code == 200
        return ticket["number"]


def test_the_bridge_file_and_the_province_acl_say_what_they_carry():
    broker = ProvinceBroker.parse("mqtts://bridge-xa-a:p%40ss@tinh.example.vn", "xa-a")
    assert (broker.host, broker.port, broker.password, broker.tls) == ("tinh.example.vn", 8883, "p@ss", True)
    conf = render_bridge_conf("xa-a", broker)
    topics = [line for line in conf.splitlines() if line.startswith("topic ")]
    assert topics == ["topic calls out 0 motcua/v1/xa-a/ motcua/v1/xa-a/",
                      "topic queues/+/state out 0 motcua/v1/xa-a/ motcua/v1/xa-a/",
                      "topic counters/+/state out 0 motcua/v1/xa-a/ motcua/v1/xa-a/"]  # out only, QoS 0
    assert "bridge_cafile /etc/ssl/certs/ca-certificates.crt" in conf and "cleansession true" in conf
    acl = render_province_acl(["xa-b", "xa-a"])
    block = acl.split("user bridge-xa-a\n")[1].split("\n\n")[0].splitlines()
    assert block == ["topic write motcua/v1/xa-a/calls", "topic write motcua/v1/xa-a/queues/+/state",
                     "topic write motcua/v1/xa-a/counters/+/state", "topic write motcua/v1/xa-a/bridge/state"]
    assert acl == render_province_acl(["xa-a", "xa-b"])
    for url, says in [("mqtt://bridge-xa-b:x@h", "must be 'bridge-xa-a'"), ("mqtt://bridge-xa-a@h", "no password"),
                      ("http://bridge-xa-a:x@h", "write mqtts://")]:
        with pytest.raises(BrokerError, match=says):
            ProvinceBroker.parse(url, "xa-a")
    rc, out, err = motcua("province", "bridge-config", "--site", "xa-a", "--broker", "mqtt://bridge-xa-b:x@h")
    assert rc == 2 and out == "" and "must be 'bridge-xa-a'" in err


def test_a_call_at_the_site_appears_on_the_province_broker_under_the_sites_prefix(province_broker, tmp_path):
    site_mqtt = site_broker(tmp_path, province_broker.bridge_urls["demo"])
    board = Collector(province_broker, "board", "motcua/v1/#").start()
    site = LiveSite(tmp_path, broker=site_mqtt).start()
    try:
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 1)
        number = call_one(site)
        (_, call, _), = board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls")
        assert (call["ticket"], call["counter"], call["service"]) == (number, "1", "hotich")
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/counters/1/state" and m[1]["ticket"] == number)
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/queues/hotich/state" and m[1]["last_called"] == number)
        # a device's own topic stays at the site
        kiosk = paho.Client(CallbackAPIVersion.VERSION2, client_id="kiosk-1")
        kiosk.username_pw_set("kiosk-1", SITE_USERS["kiosk-1"])
        kiosk.connect(site_mqtt.host, site_mqtt.port)
        kiosk.loop_start()
        kiosk.publish("motcua/v1/demo/devices/kiosk-1/status", json.dumps({"kind": "printer", "ok": False}), qos=1).wait_for_publish(5)
        kiosk.disconnect()
        kiosk.loop_stop()
        with site.client("canbo1") as official:  # a reason an official typed leaves the site masked
            r = official.post("/api/v1/sites/demo/counters/1/pause", json={"reason": "Nghỉ ốm, gọi 0912345678"})
            assert r.status_code == 200, r.text
        (_, paused, _), = board.wait_for(lambda m: m[0] == "motcua/v1/demo/counters/1/state" and m[1]["status"] == "paused")
        assert paused["pause_reason"] == "Nghỉ ốm, gọi ***"
        number2 = call_one(site, "2")  # a later call, so anything forwarded before it has arrived
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls" and m[1]["ticket"] == number2)
        assert {t.split("/", 3)[3].split("/")[0] for t, _, _ in board.messages} == {"calls", "counters", "queues", "bridge"}
    finally:
        site.stop()
        board.stop()
        site_mqtt.stop()


def _publish_v5(broker, user, topic):
    """Publish QoS 1 over MQTT 5 and return the PUBACK's reason code (135 = not authorized)."""
    acked = threading.Event()
    codes = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv5)
    client.username_pw_set(user, broker.users[user])
    client.on_publish = lambda c, u, mid, rc, props: (codes.append(rc.value), acked.set())
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, json.dumps({"ticket": "Z999"}), qos=1)
        assert acked.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


def test_a_bridge_user_cannot_publish_under_another_sites_prefix(province_broker, tmp_path):
    board = Collector(province_broker, "board", "motcua/v1/#").start()
    try:
        assert _publish_v5(province_broker, "bridge-demo", "motcua/v1/xa-b/calls") == 135
        assert _publish_v5(province_broker, "bridge-demo", "motcua/v1/xa-b/counters/1/state") == 135
        assert _publish_v5(province_broker, "bridge-demo", "motcua/v1/demo/devices/kiosk-1/status") == 135
        assert _publish_v5(province_broker, "board", "motcua/v1/demo/calls") == 135  # the board only reads
        assert _publish_v5(province_broker, "bridge-demo", "motcua/v1/demo/calls") == 0  # its own: taken
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls")
        assert [t for t, _, _ in board.messages] == ["motcua/v1/demo/calls"]
        # a site broker whose bridge file was edited to write as another centre gets nothing through
        rc, conf, _ = motcua("province", "bridge-config", "--site", "demo", "--broker", province_broker.bridge_urls["demo"])
        forged = conf.replace("motcua/v1/demo/ motcua/v1/demo/", "motcua/v1/demo/ motcua/v1/xa-b/")
        rogue = Mosquitto(tmp_path / "rogue", users=dict(SITE_USERS), extra_conf=forged).start()
        try:
            board.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 1)
            pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="server-probe")
            pub.username_pw_set(SERVER_USER, SITE_USERS[SERVER_USER])
            pub.connect(rogue.host, rogue.port)
            pub.loop_start()
            pub.publish("motcua/v1/demo/calls", json.dumps({"ticket": "forged"}), qos=1).wait_for_publish(5)
            pub.disconnect()
            pub.loop_stop()
            assert _publish_v5(province_broker, "bridge-demo", "motcua/v1/demo/calls") == 0  # a marker after it
            board.wait_for(lambda m: len([1 for t, _, _ in board.messages if t == "motcua/v1/demo/calls"]) == 2)
            assert not [m for m in board.messages if m[0].startswith("motcua/v1/xa-b/")]
        finally:
            rogue.stop()
    finally:
        board.stop()


def test_the_province_broker_down_does_not_disturb_the_site_and_nothing_queues_for_it(province_broker, tmp_path):
    site_mqtt = site_broker(tmp_path, province_broker.bridge_urls["demo"])
    hall = Collector(site_mqtt, "display-hall", "motcua/v1/demo/calls").start()
    stats = Collector(site_mqtt, "sysreader", "$SYS/broker/store/messages/count").start()
    site = LiveSite(tmp_path, broker=site_mqtt).start()
    board = Collector(province_broker, "board", "motcua/v1/#").start()
    try:
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 1)
        first = call_one(site)
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls" and m[1]["ticket"] == first)
        board.stop()
        province_broker.stop()

        missed = [call_one(site, str(1 + i % 2)) for i in range(12)]  # calls go on at the site
        hall.wait_for(lambda m: m[1]["ticket"] == missed[-1])
        assert [c["ticket"] for c in hall.calls()] == [first, *missed]  # the hall sees every call
        # the server's own outbox drained: nothing waits at the site for the province
        with site.client("admin") as admin:
            checks = admin.get("/api/v1/health").json()["checks"]
        assert next(c for c in checks if c["name"] == "publisher")["level"] == "ok"
        # 2,000 more calls straight into the site broker: none is kept for the absent bridge
        reports = len(stats.messages)
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="flood")
        pub.username_pw_set(SERVER_USER, SITE_USERS[SERVER_USER])
        pub.connect(site_mqtt.host, site_mqtt.port)
        pub.loop_start()
        for i in range(2000):
            info = pub.publish("motcua/v1/demo/calls", json.dumps({"ticket": f"F{i}"}), qos=1)
        info.wait_for_publish(30)
        pub.disconnect()
        pub.loop_stop()
        hall.wait_for(lambda m: m[1].get("ticket") == "F1999", timeout=30)
        # the broker's message store ($SYS, reported each second when it changes) settles back to the
        # retained states: had it kept the calls for the absent bridge, it would stay above 2,000. (When
        # the flood came and went within one reporting second there is no new report: the last stands.)
        time.sleep(3)  # three reporting intervals
        assert stats.messages and stats.messages[-1][1] < 200, stats.messages[reports:]

        province_broker.start()  # the province returns
        board = Collector(province_broker, "board", "motcua/v1/#").start()
        # the bridge sends the retained states again: the board shows the last call made while it was away
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/queues/hotich/state" and m[1]["last_called"] == missed[-1],
                       timeout=30)
        after = call_one(site)
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls" and m[1]["ticket"] == after)
        tickets = [p["ticket"] for t, p, _ in board.messages if t == "motcua/v1/demo/calls"]
        assert tickets == [after]  # the calls missed while it was away are not replayed
    finally:
        site.stop()
        board.stop()
        stats.stop()
        hall.stop()
        site_mqtt.stop()


def test_bridge_user_rotates_a_password_and_keeps_one_acl_block_per_site(tmp_path):
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    files = ["--password-file", str(passwd), "--acl-file", str(acl)]
    urls = [motcua("province", "bridge-user", site, "--address", "tinh.example.vn:8883", *files)
            for site in ("xa-a", "xa-b", "xa-a")]
    assert [rc for rc, _, _ in urls] == [0, 0, 0]
    first, _, again = (ProvinceBroker.parse(out.strip(), s) for (_, out, _), s in zip(urls, ("xa-a", "xa-b", "xa-a")))
    assert first.tls and (first.host, first.port) == ("tinh.example.vn", 8883) and first.password != again.password
    assert sorted(line.split(":")[0] for line in passwd.read_text().splitlines()) == ["bridge-xa-a", "bridge-xa-b"]
    assert acl.read_text() == render_province_acl(["xa-a", "xa-b"])
    assert {oct(p.stat().st_mode & 0o777) for p in (passwd, acl)} == {"0o600"}
    rc, out, err = motcua("province", "bridge-user", "Xã A", "--address", "h:1", *files)
    assert rc == 2 and out == "" and "site 'Xã A' must be" in err
