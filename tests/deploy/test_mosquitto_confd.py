"""motcua's conf.d file next to Debian's stock mosquitto.conf: a real Mosquitto starts with both,
enforces our users and ACL, and reloads new users on SIGHUP without dropping anyone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from motcua.site_devices import set_password
from server.broker import SERVER_USER, free_port, render_acl, render_site_conf

# Debian 12's /etc/mosquitto/mosquitto.conf, as the package ships it (paths moved into tmp).
STOCK = """pid_file {d}/mosquitto.pid

persistence true
persistence_location {d}/lib/

log_dest file {d}/mosquitto.log

include_dir {d}/conf.d
"""


def _start(tmp_path: Path, confd: str) -> subprocess.Popen:
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "conf.d").mkdir(exist_ok=True)
    (tmp_path / "conf.d" / "motcua.conf").write_text(confd + ("user root\n" if os.geteuid() == 0 else ""))
    (tmp_path / "mosquitto.conf").write_text(STOCK.format(d=tmp_path))
    proc = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return proc


def _wait_listening(proc, port, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _connect(port, user, password):
    result = []
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{time.monotonic_ns()}")
    c.username_pw_set(user, password)
    c.on_connect = lambda cl, u, f, rc, p: result.append(rc)
    c.connect("127.0.0.1", port)
    c.loop_start()
    deadline = time.monotonic() + 10
    while not result and time.monotonic() < deadline:
        time.sleep(0.05)
    return c, result


def test_the_old_standalone_template_in_conf_d_stops_mosquitto(tmp_path):
    """Why the split exists: the full template repeats what the stock file sets, and Mosquitto refuses."""
    from server.broker import _deploy_file

    port = free_port()
    old = _deploy_file("mosquitto.conf.in").replace("@DIR@", str(tmp_path)) + render_site_conf(
        port=port, host="127.0.0.1", password_file=str(tmp_path / "passwd"), acl_file=str(tmp_path / "acl"))
    (tmp_path / "passwd").write_text("")
    (tmp_path / "acl").write_text(render_acl({}))
    proc = _start(tmp_path, old)
    try:
        assert proc.wait(10) != 0
        assert "Duplicate" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_our_conf_d_file_starts_with_the_stock_config_and_reloads_users(tmp_path):
    port = free_port()
    passwd, acl = tmp_path / "motcua.passwd", tmp_path / "motcua.acl"
    set_password(passwd, SERVER_USER, "server-pw")
    acl.write_text(render_acl({}))
    proc = _start(tmp_path, render_site_conf(port=port, host="127.0.0.1", password_file=str(passwd),
                                                acl_file=str(acl)))
    try:
        assert _wait_listening(proc, port), proc.stdout.read() if proc.poll() is not None else "not listening"
        server, rc = _connect(port, SERVER_USER, "server-pw")
        assert rc and not rc[0].is_failure
        _, rc = _connect(port, "kiosk-9", "k9")
        assert rc and rc[0].is_failure  # not a user yet
        set_password(passwd, "kiosk-9", "k9")
        acl.write_text(render_acl({"kiosk-9": "demo"}))
        os.kill(int((tmp_path / "mosquitto.pid").read_text()), signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:
            kiosk, rc = _connect(port, "kiosk-9", "k9")
            kiosk.loop_stop()
            if (rc and not rc[0].is_failure) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert rc and not rc[0].is_failure
        assert server.is_connected()  # the reload dropped no one
        server.loop_stop()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("key", ["persistence_location", "log_dest", "pid_file", "include_dir"])
def test_the_conf_d_file_sets_nothing_the_stock_file_owns(key):
    conf = render_site_conf(port=1883, host="0.0.0.0", password_file="/p", acl_file="/a")
    assert not [line for line in conf.splitlines() if line.startswith(key)]
