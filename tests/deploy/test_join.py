"""The join line: made by ``motcua device add`` on the server, pasted into ``--join`` on a device.

Parsing and argv rewriting are checked exactly; the whole path (token, broker user, reload,
per-site ACL) runs against a real Mosquitto and a real server process.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from motcua import join
from server.broker import SERVER_USER, Mosquitto
from server.storage import catalog
from tests.support.processes import ROOT, ServerProcess

INFO = join.JoinInfo(server="http://10.0.0.2:8000", site="xa-a", device="kiosk-2", role="kiosk",
                     mqtt="mqtt://kiosk-2:pw@10.0.0.2:1883", token="tok-123")


def test_a_line_round_trips_and_is_one_pasteable_word():
    line = INFO.encode()
    assert line.startswith("motcua1:") and " " not in line and "=" not in line and "\n" not in line
    assert join.decode(line) == INFO
    assert join.decode(f"  {line}\n") == INFO


@pytest.mark.parametrize("line, says", [
    ("kiosk-2", "starts with 'motcua1:'"),
    ("motcua1:!!!", "damaged"),
    (INFO.encode()[:-12], "damaged"),
    ("motcua1:" + join.JoinInfo("s", "x", "d", "kiosk", "m").encode()[8:].replace("A", "B", 1), ""),
])
def test_a_bad_line_is_refused_with_what_to_do(line, says):
    if not says:  # a flipped character either still decodes to a valid line or is refused clearly
        try:
            join.decode(line)
        except join.JoinError:
            pass
        return
    with pytest.raises(join.JoinError, match=says):
        join.decode(line)


def test_apply_turns_the_line_into_the_commands_own_options():
    line = INFO.encode()
    assert join.apply(["kiosk", "--join", line, "--fullscreen"]) == [
        "kiosk", "--server", "http://10.0.0.2:8000", "--token", "tok-123", "--site", "xa-a",
        "--mqtt", "mqtt://kiosk-2:pw@10.0.0.2:1883", "--device-id", "kiosk-2", "--fullscreen"]
    # an option given on the command line wins over the line
    out = join.apply(["kiosk", f"--join={line}", "--server", "http://other:8000"])
    assert out.count("--server") == 1 and out[out.index("--server") + 1] == "http://other:8000"
    hall = join.JoinInfo("http://s:8000", "xa-a", "display-hall", "display", "mqtt://display-hall:p@s:1883", "t")
    assert join.apply(["display", "--join", hall.encode(), "--windowed"])[-2:] == ["--hall", "--windowed"]
    screen = join.JoinInfo("http://s:8000", "xa-a", "counter-3", "counter", "mqtt://counter-3:p@s:1883", "t", "3")
    out = join.apply(["display", "--join", screen.encode()])
    assert out[out.index("--counter") + 1] == "3" and "--hall" not in out
    assert join.apply(["counter", "--join", screen.encode()]) == [
        "counter", "--server", "http://s:8000", "--site", "xa-a", "--counter", "3"]
    assert join.apply(["server", "--join", "x"]) == ["server", "--join", "x"]  # not a device command


def test_a_line_for_another_kind_of_device_is_refused():
    with pytest.raises(join.JoinError, match="use it with motcua kiosk"):
        join.apply(["announcer", "--join", INFO.encode()])


def test_join_file_reads_the_one_line_and_skips_comments(tmp_path):
    path = tmp_path / "kiosk-2.join"
    path.write_text(f"# kiosk kiosk-2\n{INFO.encode()}\n")
    assert join.apply(["kiosk", "--join-file", str(path)])[2] == "http://10.0.0.2:8000"
    path.write_text("")
    with pytest.raises(join.JoinError, match="exactly one"):
        join.apply(["kiosk", "--join-file", str(path)])
    with pytest.raises(join.JoinError, match="cannot read"):
        join.apply(["kiosk", "--join-file", str(tmp_path / "none")])


def _cli(config, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "motcua", *args, "--config", str(config)], env=env,
                          capture_output=True, text=True, check=check)


def _sha(*paths):
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.fixture
def installed(tmp_path):
    """A site laid out as the installer lays it: config file, broker files, a real Mosquitto and server."""
    broker = Mosquitto(tmp_path / "broker", users={}).start()  # empty passwd/ACL header: no device yet
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{broker.process.pid}\n")
    server = ServerProcess(f"sqlite:///{tmp_path / 'site.sqlite3'}", workdir=tmp_path)
    config = tmp_path / "motcua.toml"
    config.write_text(f"""[motcua]
database_url = "sqlite:///{tmp_path / 'site.sqlite3'}"
mqtt_url = "mqtt://{SERVER_USER}:server-secret-1@127.0.0.1:{broker.port}"
public_url = "{server.base_url}"
secret_key = "test-secret-key-0123456789-abcdef"
site = "demo"

[broker]
host = "127.0.0.1"
port = {broker.port}
password_file = "{broker.workdir / 'passwd'}"
acl_file = "{broker.workdir / 'acl'}"
pid_file = "{pid_file}"
devices_dir = "{tmp_path / 'devices'}"
""")
    _cli(config, "site", "load", str(catalog.demo_site_file()))
    server.mqtt_url = f"mqtt://{SERVER_USER}:server-secret-1@127.0.0.1:{broker.port}"
    yield config, broker, server
    server.stop()
    broker.stop()


def _connect(url: str, client_id: str):
    from devices.mqtt import MqttUrl

    u = MqttUrl.parse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(u.username, u.password)
    got, connected = [], []
    client.on_connect = lambda c, ud, f, rc, p: (connected.append(rc), c.subscribe("motcua/v1/#", qos=1))
    client.on_message = lambda c, ud, m: got.append(m.topic)
    client.connect(u.host, u.port)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not connected and time.monotonic() < deadline:
        time.sleep(0.05)
    return client, connected, got


def test_device_add_prints_a_line_that_works_at_once_and_again_the_same(installed):
    config, broker, server = installed
    r = _cli(config, "device", "sync")  # the server's broker user, the hall display and the announcer
    assert "display-hall" in r.stdout and "announcer" in r.stdout
    server.start()
    first = _cli(config, "device", "add", "kiosk-2", "--role", "kiosk")
    line = first.stdout.strip()
    assert line.startswith("motcua1:") and len(first.stdout.strip().splitlines()) == 1
    assert "reloaded" in first.stderr
    info = join.decode(line)
    assert (info.site, info.device, info.role, info.server) == ("demo", "kiosk-2", "kiosk", server.base_url)
    # The token issues a ticket; the broker user connects (Mosquitto was reloaded, not restarted).
    r = httpx.post(f"{server.base_url}/api/v1/sites/demo/tickets", headers={"Authorization": f"Bearer {info.token}"},
                   json={"service": "hotich", "idempotency_key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    client, connected, got = _connect(info.mqtt, "t-kiosk-2")
    try:
        assert connected and not connected[0].is_failure
        client.publish("motcua/v1/demo/devices/kiosk-2/status", json.dumps({"kind": "printer", "ok": True}),
                       qos=1).wait_for_publish(5)
    finally:
        client.loop_stop()
    files = [broker.workdir / "passwd", broker.workdir / "acl", config.parent / "devices" / "kiosk-2.join"]
    before = _sha(*files)
    again = _cli(config, "device", "add", "kiosk-2", "--role", "kiosk")
    assert again.stdout.strip() == line and _sha(*files) == before
    assert "already in step" in _cli(config, "device", "sync").stdout
    listed = _cli(config, "device", "list").stdout
    assert "kiosk-2\tkiosk" in listed and info.token not in listed


def test_renew_revokes_the_old_token_and_password(installed):
    config, broker, server = installed
    _cli(config, "device", "sync")
    server.start()
    old = join.decode(_cli(config, "device", "add", "kiosk-3", "--role", "kiosk").stdout.strip())
    refused = _cli(config, "device", "add", "kiosk-3", "--role", "announcer", check=False)
    assert refused.returncode == 2 and "--renew" in refused.stderr
    new = join.decode(_cli(config, "device", "add", "kiosk-3", "--role", "kiosk", "--renew").stdout.strip())
    assert new.token != old.token and new.mqtt != old.mqtt
    headers = lambda i: {"Authorization": f"Bearer {i.token}"}  # noqa: E731
    body = {"service": "hotich", "idempotency_key": uuid.uuid4().hex}
    assert httpx.post(f"{server.base_url}/api/v1/sites/demo/tickets", headers=headers(old), json=body).status_code == 401
    body["idempotency_key"] = uuid.uuid4().hex
    assert httpx.post(f"{server.base_url}/api/v1/sites/demo/tickets", headers=headers(new), json=body).status_code == 201
    client, connected, _ = _connect(old.mqtt, "t-old")
    client.loop_stop()
    assert connected and connected[0].is_failure  # the old broker password is gone
    client, connected, _ = _connect(new.mqtt, "t-new")
    client.loop_stop()
    assert connected and not connected[0].is_failure


def test_a_counter_screens_token_stands_over_its_counter_and_no_other(installed):
    """Only a counter's own screen may send that counter's ratings: its join token carries the counter."""
    import tomllib

    from server.auth import AuthStore
    from server.storage.db import Database

    config, _, _ = installed
    _cli(config, "device", "sync")
    screen = join.decode(_cli(config, "device", "add", "counter-1", "--role", "counter", "--counter", "1").stdout.strip())
    hall = join.decode(_cli(config, "device", "add", "tv-2", "--role", "display").stdout.strip())
    db = Database(tomllib.loads(config.read_text())["motcua"]["database_url"])
    db.open()
    try:
        store = AuthStore(db)
        assert (store.authenticate(screen.token).role, store.authenticate(screen.token).counter) == ("display", "1")
        assert store.authenticate(hall.token).counter is None
    finally:
        db.close()


def test_a_bad_device_name_is_refused(installed):
    config, _, _ = installed
    for bad in ("Kiosk 2", "kiosk/2", "motcua-server"):
        r = _cli(config, "device", "add", bad, "--role", "kiosk", check=False)
        assert r.returncode == 2 and "motcua:" in r.stderr and "Traceback" not in r.stderr


def test_an_announcer_joins_with_join_file(installed, tmp_path):
    config, broker, server = installed
    _cli(config, "device", "sync")
    line_file = tmp_path / "devices" / "announcer.join"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "announcer.log"
    proc = subprocess.Popen([sys.executable, "-m", "motcua", "announcer", "--join-file", str(line_file),
                             "--player", "null"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "u'announcer'" not in (broker.workdir / "mosquitto.log").read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "u'announcer'" in (broker.workdir / "mosquitto.log").read_text()
    finally:
        proc.terminate()
        proc.wait(10)
