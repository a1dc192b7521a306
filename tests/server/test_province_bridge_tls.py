"""The live board's bridge over TLS, as it runs over the internet: two real Mosquitto brokers on loopback.

A test CA signs the province broker's certificate (the ``openssl`` CLI, ``tests/support/pki.py``);
the province broker's TLS listener is the file ``motcua province broker-config`` writes, its users
and ACL what ``motcua province bridge-user`` makes; the site's broker runs the bridge file
``motcua province bridge-config`` renders for the ``mqtts://`` URL and the CA file. With the
province's CA a call at the site reaches the board; with an unrelated CA, or a host name the
certificate does not hold, nothing does, the site goes on, and the site's Mosquitto log,
``motcua doctor`` and ``GET /api/v1/health`` tell the operator why."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from server.broker import SERVER_USER, Mosquitto, render_acl
from tests.server.test_province_bridge import BOARD, SITE_USERS, call_one, motcua
from tests.support.live import LiveSite
from tests.support.mqtt import Collector
from tests.support.pki import province_pki, tls_province_broker

pytestmark = pytest.mark.slow
VERIFY_FAILED = "certificate verify failed"


@pytest.fixture
def pki(tmp_path):
    return province_pki(tmp_path / "pki")


@pytest.fixture
def province(tmp_path, pki):
    """The province broker with its TLS listener, users and ACL as `motcua province …` make them."""
    broker = tls_province_broker(tmp_path / "province", pki, "demo", BOARD)
    conf = (broker.workdir / "mosquitto.conf").read_text()
    assert f"listener {broker.tls_port} 127.0.0.1\ncertfile {pki['cert']}\nkeyfile {pki['key']}\n" in conf
    assert broker.bridge_url.startswith("mqtts://bridge-demo:") and broker.bridge_url.endswith(f"@127.0.0.1:{broker.tls_port}")
    yield broker
    broker.stop()


def bridge_file(province, cafile: Path) -> str:
    rc, conf, err = motcua("province", "bridge-config", "--site", "demo", "--broker", province.bridge_url,
                           "--cafile", str(cafile))
    assert rc == 0, err
    assert f"address 127.0.0.1:{province.tls_port}\n" in conf
    assert f"bridge_cafile {cafile}\nbridge_insecure false\n" in conf
    return conf.replace("restart_timeout 5 60", "restart_timeout 1 2")  # reconnect fast in a test


def site_broker(tmp_path, conf: str) -> Mosquitto:
    devices = {u: "demo" for u in SITE_USERS if u not in (SERVER_USER, "sysreader")}
    return Mosquitto(tmp_path / "site-broker", users=dict(SITE_USERS), acl=render_acl(devices), extra_conf=conf).start()


def log_count(broker: Mosquitto, text: str) -> int:
    log = broker.workdir / "mosquitto.log"
    return log.read_text(errors="replace").count(text) if log.exists() else 0


def wait_log(broker: Mosquitto, text: str, more_than: int = 0, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (n := log_count(broker, text)) > more_than:
            return n
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {broker.workdir / 'mosquitto.log'} more than {more_than} times: "
                         f"{(broker.workdir / 'mosquitto.log').read_text(errors='replace')[-1500:]}")


def doctor(site: LiveSite, site_mqtt: Mosquitto) -> str:
    """``motcua doctor`` at the site, as its operator runs it: its line about the province bridge."""
    env = {**os.environ, "MOTCUA_DATABASE_URL": site.settings.database_url, "MOTCUA_SITE": "demo",
           "MOTCUA_MQTT_URL": site_mqtt.url(SERVER_USER)}
    done = subprocess.run([sys.executable, "-m", "motcua", "doctor"], capture_output=True, text=True, env=env)
    return next(line for line in done.stdout.splitlines() if " province bridge:" in line)


def health_bridge(site: LiveSite) -> tuple[str, str]:
    """The server's own view (``GET /api/v1/health``): the same check, from its own MQTT link."""
    with site.client() as anyone:
        check = next(c for c in anyone.get("/api/v1/health").json()["checks"] if c["name"] == "province bridge")
    return check["level"], check["detail"]


def test_over_tls_with_the_provinces_ca_a_call_reaches_the_board(province, pki, tmp_path):
    site_mqtt = site_broker(tmp_path, bridge_file(province, pki["ca"]))
    board = Collector(province, "board", "motcua/v1/#").start()
    site = LiveSite(tmp_path, broker=site_mqtt).start()
    try:
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 1)
        number = call_one(site)
        (_, call, _), = board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls")
        assert (call["ticket"], call["counter"], call["service"]) == (number, "1", "hotich")
        assert log_count(site_mqtt, "OpenSSL Error") == 0
        assert doctor(site, site_mqtt) == "OK   province bridge: connected to the province broker (live board)"
        assert health_bridge(site) == ("ok", "connected to the province broker (live board)")
    finally:
        site.stop()
        board.stop()
        site_mqtt.stop()


def test_a_wrong_ca_file_keeps_the_call_at_the_site_and_says_why(province, pki, tmp_path):
    site_mqtt = site_broker(tmp_path, bridge_file(province, pki["other_ca"]))
    board = Collector(province, "board", "motcua/v1/#").start()
    hall = Collector(site_mqtt, "display-hall", "motcua/v1/demo/#").start()
    site = LiveSite(tmp_path, broker=site_mqtt).start()
    try:
        # the site's Mosquitto says why, each time the bridge tries; the province's sees a TLS alert
        failures = wait_log(site_mqtt, VERIFY_FAILED)
        assert log_count(site_mqtt, "Connection Refused") == 0  # not taken for a wrong password
        wait_log(province, "alert unknown ca")
        number = call_one(site)
        hall.wait_for(lambda m: m[0] == "motcua/v1/demo/calls" and m[1]["ticket"] == number)  # the hall has it
        # the site's broker keeps its bridge's state: 0, never 1
        hall.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 0)
        wait_log(site_mqtt, VERIFY_FAILED, more_than=failures)  # a try after the call: refused again
        # the board is listening (a marker published at the province arrives) and has nothing of the site's
        marker = paho.Client(CallbackAPIVersion.VERSION2, client_id="marker")
        marker.username_pw_set("bridge-demo", province.users["bridge-demo"])
        marker.connect(province.host, province.port)
        marker.loop_start()
        marker.publish("motcua/v1/demo/calls", '{"ticket": "MARKER"}', qos=1).wait_for_publish(5)
        marker.disconnect()
        marker.loop_stop()
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls")
        assert [(t, p) for t, p, _ in board.messages] == [("motcua/v1/demo/calls", {"ticket": "MARKER"})]
        assert not [m for m in hall.messages if m[0].endswith("/bridge/state") and m[1] == 1]
        # the doctor at the site names the bridge and where to look
        line = doctor(site, site_mqtt)
        assert line.startswith("WARN province bridge: not connected to the province broker")
        assert "/var/log/mosquitto/mosquitto.log" in line and f"'{VERIFY_FAILED}' = the CA file" in line
        assert log_count(site_mqtt, "host name verification failed") == 0  # the CA, not the name
        assert health_bridge(site) == ("warn", "not connected to the province broker")  # the same, as JSON

        # the operator gives the province's CA and restarts Mosquitto: the board gets the next call
        site_mqtt.stop()
        site_mqtt.extra_conf = bridge_file(province, pki["ca"])
        site_mqtt.write_config()
        site_mqtt.start()
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/bridge/state" and m[1] == 1)
        after = call_one(site)
        board.wait_for(lambda m: m[0] == "motcua/v1/demo/calls" and m[1]["ticket"] == after, timeout=30)
        assert number not in [p["ticket"] for t, p, _ in board.messages if t == "motcua/v1/demo/calls"]
    finally:
        site.stop()
        hall.stop()
        board.stop()
        site_mqtt.stop()


def test_a_host_the_provinces_certificate_does_not_name_is_refused_and_logged_as_such(province, pki, tmp_path):
    """The certificate names 127.0.0.1 only: a URL with ``localhost`` (the same broker) gets nowhere."""
    conf = bridge_file(province, pki["ca"]).replace(f"address 127.0.0.1:{province.tls_port}",
                                                    f"address localhost:{province.tls_port}")
    site_mqtt = site_broker(tmp_path, conf)
    hall = Collector(site_mqtt, "display-hall", "motcua/v1/demo/bridge/state").start()
    try:
        tries = wait_log(site_mqtt, "Error: host name verification failed.")
        assert log_count(site_mqtt, VERIFY_FAILED) >= tries  # the OpenSSL line follows the name's
        wait_log(site_mqtt, "Error: host name verification failed.", more_than=tries)  # and again on the next try
        hall.wait_for(lambda m: m[1] == 0)
        assert {m[1] for m in hall.messages} == {0}  # never connected
    finally:
        hall.stop()
        site_mqtt.stop()


def test_a_wrong_password_over_tls_is_told_apart_from_a_certificate_problem(province, pki, tmp_path):
    """The TLS handshake succeeds with the province's CA; the province refuses the password."""
    password = province.users["bridge-demo"]
    conf = bridge_file(province, pki["ca"]).replace(f"remote_password {password}\n", "remote_password wrong\n")
    site_mqtt = site_broker(tmp_path, conf)
    try:
        wait_log(site_mqtt, "Connection Refused: not authorised", more_than=1)  # two tries
        assert log_count(site_mqtt, "OpenSSL Error") == 0 and log_count(site_mqtt, "Unable to load") == 0
    finally:
        site_mqtt.stop()


def has_mosquitto_user() -> bool:
    try:
        return bool(pwd.getpwnam("mosquitto"))
    except KeyError:
        return False


def test_bridge_config_refuses_a_ca_file_mosquitto_could_not_use(tmp_path, pki):
    url = "mqtts://bridge-demo:secret@127.0.0.1:8883"
    cases = [(tmp_path / "missing.pem", "does not exist"), (pki["key"], "holds no PEM certificate")]
    for path, says in cases:
        rc, out, err = motcua("province", "bridge-config", "--site", "demo", "--broker", url, "--cafile", str(path))
        assert (rc, out) == (2, "") and says in err, err
    # Mosquitto reads the CA file as its own user when the bridge connects: a file it cannot reach is named
    open_dir = Path(tempfile.mkdtemp(prefix="motcua-ca-"))  # pytest's own folders are 0700: one outside them
    try:
        open_dir.chmod(0o755)
        private = open_dir / "private"
        private.mkdir(mode=0o700)
        for folder in (private, open_dir):
            (folder / "ca.pem").write_bytes(pki["ca"].read_bytes())
            (folder / "ca.pem").chmod(0o644)
        rc, out, err = motcua("province", "bridge-config", "--site", "demo", "--broker", url, "--cafile", str(private / "ca.pem"))
        assert rc == 0 and f"bridge_cafile {private / 'ca.pem'}" in out
        if has_mosquitto_user():
            assert f"user 'mosquitto' cannot enter the folder {private} " in err and "/etc/mosquitto/certs/" in err
        rc, out, err = motcua("province", "bridge-config", "--site", "demo", "--broker", url, "--cafile", str(open_dir / "ca.pem"))
        assert (rc, err) == (0, "")
    finally:
        shutil.rmtree(open_dir)
    rc, out, err = motcua("province", "broker-config", "--listen", "8883", "--certfile", "/c", "--keyfile", "/k")
    assert (rc, out) == (2, "") and "write HOST:PORT" in err
    rc, out, err = motcua("province", "broker-config", "--certfile", "/etc/mosquitto/certs/tinh.crt",
                          "--keyfile", "/etc/mosquitto/certs/tinh.key")
    assert rc == 0 and out.splitlines()[2:] == [
        "per_listener_settings false", "listener 8883 0.0.0.0", "certfile /etc/mosquitto/certs/tinh.crt",
        "keyfile /etc/mosquitto/certs/tinh.key", "allow_anonymous false",
        "password_file /etc/mosquitto/motcua-province.passwd", "acl_file /etc/mosquitto/motcua-province.acl"]
