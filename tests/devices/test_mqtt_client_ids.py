"""Two programs with the same MQTT user on one machine must not knock each other off the broker.

Two real ``motcua announcer`` processes with the same credentials, a real Mosquitto with our ACL:
each connects once and stays connected while calls go by, and each hears every call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

import devices.mqtt
from server.broker import SERVER_USER
from tests.support.processes import ROOT


def test_client_ids_are_unique_per_link_and_carry_the_base_and_host():
    import socket

    unique_client_id = devices.mqtt.unique_client_id
    a, b = unique_client_id("motcua-announcer-demo"), unique_client_id("motcua-announcer-demo")
    assert a != b
    host = socket.gethostname().split(".")[0]
    assert a.startswith(f"motcua-announcer-demo-{host}-") and len(a) <= 120
    link = devices.mqtt.MqttLink("mqtt://u:p@127.0.0.1:1", "kiosk-1")
    assert link.client_id.startswith("kiosk-1-") and link.client_id == link.client_id  # drawn once


def _announcer(broker, tmp_path, n):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env["PYTHONPATH"] = str(ROOT)
    log = open(tmp_path / f"announcer-{n}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "motcua", "announcer", "--mqtt", broker.url("announcer"),
                             "--site", "demo", "--player", "null"], env=env, stdout=log, stderr=log)
    return proc, tmp_path / f"announcer-{n}.log"


def _wait(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_two_announcers_with_one_user_on_one_machine_stay_connected(broker, tmp_path):
    procs = [_announcer(broker, tmp_path, n) for n in (1, 2)]
    server = paho.Client(CallbackAPIVersion.VERSION2, client_id="t-server")
    server.username_pw_set(SERVER_USER, broker.users[SERVER_USER])
    server.connect(broker.host, broker.port)
    server.loop_start()
    try:
        broker_log = broker.workdir / "mosquitto.log"
        assert _wait(lambda: broker_log.read_text().count("u'announcer'") >= 2), broker_log.read_text()[-2000:]
        # Calls for a few seconds: long enough for several of paho's 1 s reconnects if they collided.
        for seq in range(1, 6):
            call = {"v": 1, "at": "2026-12-05T03:00:00+00:00", "seq": seq, "ticket": f"A00{seq}",
                    "counter": "1", "label": "Quầy 1", "service": "hotich", "recall": False}
            server.publish("motcua/v1/demo/calls", json.dumps(call), qos=1).wait_for_publish(5)
            time.sleep(0.8)
    finally:
        server.loop_stop()
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=15)
    text = broker_log.read_text()
    # Each announcer connected once (no reconnect after being kicked off), and no one was kicked.
    assert text.count("u'announcer'") == 2, text[-3000:]
    assert "already connected" not in text, text[-3000:]
