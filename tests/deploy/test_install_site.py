"""deploy/install-site.sh on a clean Debian 12 root, then the services as their units run them.

What runs: the installer as root in a fresh ``mmdebstrap`` root (cached by package list), the
real Mosquitto, server and announcer started from the ExecStartPre/ExecStart lines of the
installed unit files (systemd is not PID 1 here, so it cannot start them itself), HTTP from this
process, MQTT subscribers with the credentials the installer made, a second installer run, the
units through ``systemd-analyze verify``, and a power cut (SIGKILL to every process in the root).
What does not run: systemd itself, and the hall TV's X server on tty1 (no seat, no GPU here).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from counter.boards import HallBoard
from counter.feed import BoardFeed
from devices.mqtt import MqttUrl
from motcua import join
from server.broker import free_port
from server.storage import catalog
from tests.deploy.debian_root import (BASE_PACKAGES, ROOT, DebianRoot, cache_dir, installer_packages,
                                      root_tarball, unit_commands)
from tests.support.mqtt import Collector

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the first test also builds (once) and installs the root
    pytest.mark.skipif(os.geteuid() != 0, reason="the installer test needs root (chroot, mounts)"),
    pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="mmdebstrap is not installed (./run test installs it)"),
]

SITE = "xa-thu"
SRC = "/srv/motcua-src"
CONFIG = "/etc/motcua/motcua.toml"
UNITS = ("motcua-server.service", "motcua-announcer.service", "motcua-hall.service")
BACKUP_UNITS = ("motcua-backup.service", "motcua-backup.timer")
OFFSCREEN = {"SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": "/var/lib/motcua/kivy"}
WATCHED = ["etc/motcua/motcua.toml", "etc/motcua/site.toml", "etc/mosquitto/motcua.passwd",
           "etc/mosquitto/motcua.acl", "etc/mosquitto/conf.d/motcua.conf",
           *[f"etc/systemd/system/{u}" for u in UNITS], "etc/systemd/system/mosquitto.service.d/motcua.conf"]


def site_file_text() -> str:
    text = catalog.demo_site_file().read_text(encoding="utf-8").replace('id = "demo"', f'id = "{SITE}"', 1)
    return text + '\n[[devices]]\nname = "kiosk-1"\nrole = "kiosk"\n\n' \
                  '[[devices]]\nname = "counter-1"\nrole = "counter"\ncounter = "1"\n'


class Site:
    """The installed root and how to reach it from here."""

    def __init__(self, root: DebianRoot, http_port: int, mqtt_port: int, work: Path) -> None:
        self.root, self.http_port, self.mqtt_port, self.work = root, http_port, mqtt_port, work
        self.base = f"http://127.0.0.1:{http_port}"
        self.procs: list[subprocess.Popen] = []
        self.timings: dict[str, float] = {}

    def install(self, label: str, extra: str = "") -> subprocess.CompletedProcess:
        pip_cache = cache_dir() / "pip"
        pip_cache.mkdir(exist_ok=True)
        started = time.monotonic()
        out = self.root.run(f"{SRC}/deploy/install-site.sh --site-file /root/my-site.toml "
                            f"--public-url {self.base} --http-port {self.http_port} --mqtt-port {self.mqtt_port} {extra}",
                            env={"PIP_CACHE_DIR": "/var/cache/motcua-pip", **host_trust(self.root)},
                            binds={str(pip_cache): "/var/cache/motcua-pip"}, check=False)
        self.timings[label] = time.monotonic() - started
        (self.work / f"install-{label}.log").write_text(out.stdout + out.stderr)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out

    def join_line(self, device: str) -> join.JoinInfo:
        return join.read_file(self.root.file(f"/etc/motcua/devices/{device}.join"))

    def unit(self, name: str) -> dict:
        for folder in ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
            path = self.root.path / folder / name
            if path.exists():
                return unit_commands(path.read_text())
        raise AssertionError(f"unit {name} not installed")

    def start_unit(self, name: str) -> None:
        unit = self.unit(name)
        for pre in unit["pre"]:
            out = self.root.run(pre, user=unit["user"], check=False)
            assert out.returncode == 0, f"{name} ExecStartPre {pre}: {out.stderr[-2000:]}"
        self.procs.append(self.root.start(unit["start"], user=unit["user"], log=self.work / f"{name}.log"))

    def start_all(self) -> None:
        self.start_unit("mosquitto.service")
        self.wait_port(self.mqtt_port)
        self.start_unit("motcua-server.service")
        self.start_unit("motcua-announcer.service")
        self.wait_healthy()

    def wait_port(self, port: int, timeout: float = 60) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"nothing listens on {port}: {self.logs()}")

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not healthy: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-1500:]}" for p in self.work.glob("*.service.log"))

    def power_cut(self) -> None:
        self.root.kill_all()
        for proc in self.procs:
            proc.wait(timeout=20)
        self.procs.clear()

    def motcua(self, *args: str) -> str:
        out = self.root.run(" ".join(["/opt/motcua/bin/motcua", *args, "--config", CONFIG]), user="motcua")
        return out.stdout

    def login(self, user: str) -> httpx.Client:
        r = httpx.post(f"{self.base}/api/v1/auth/token", data={"username": user, "password": f"{user}-pass-123"})
        r.raise_for_status()
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                            timeout=10)


def host_trust(root: DebianRoot) -> dict[str, str]:
    """This sandbox reaches PyPI through a TLS proxy whose CA only the host's bundle has; give
    pip in the root the same bundle (a real site needs nothing of the kind)."""
    bundle = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
    if not bundle.exists():
        return {}
    root.file("/etc/ssl").mkdir(parents=True, exist_ok=True)  # a minbase root has no ca-certificates yet
    shutil.copy(bundle, root.file("/etc/ssl/host-ca-bundle.crt"))
    return {"PIP_CERT": "/etc/ssl/host-ca-bundle.crt"}


def checksums(site: Site) -> dict[str, str]:
    sums = {p: hashlib.sha256(site.root.file(p).read_bytes()).hexdigest() for p in WATCHED}
    for path in sorted(site.root.file("/etc/motcua/devices").glob("*.join")):
        sums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{site.root.file('/var/lib/motcua/motcua.sqlite3')}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
        for table in tables:
            rows = sorted(repr(r) for r in db.execute(f'select * from "{table}"'))
            sums[f"db:{table}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    finally:
        db.close()
    return sums


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("site")
    tarball, built = root_tarball(BASE_PACKAGES + installer_packages(), log=work / "mmdebstrap.log")
    root = DebianRoot.unpack(tarball, work / "root")
    subprocess.run(f"tar -C {ROOT} --exclude=.venv --exclude=.git --exclude=__pycache__ --exclude=.demo -cf - . "
                   f"| tar -C {root.path}{SRC} -xf -", shell=True, check=True,
                   preexec_fn=lambda: os.makedirs(f"{root.path}{SRC}", exist_ok=True))
    root.file("/root/my-site.toml").write_text(site_file_text(), encoding="utf-8")
    s = Site(root, free_port(), free_port(), work)
    s.timings["root_built_now"] = float(built)
    s.install("first")
    (work / "timings.json").write_text(json.dumps(s.timings))
    yield s
    root.kill_all()
    shutil.rmtree(root.path, ignore_errors=True)


def test_installer_lays_out_the_site_with_safe_modes(site):
    r = site.root
    assert r.run("id -u motcua").returncode == 0
    assert oct(r.file("/var/lib/motcua").stat().st_mode & 0o777) == "0o700"
    assert oct(r.file(CONFIG).stat().st_mode & 0o777) == "0o640"
    for name in ("motcua.passwd", "motcua.acl"):  # the broker's own, 0600 (Mosquitto 2.0.16+ warns otherwise)
        path = r.file(f"/etc/mosquitto/{name}")
        assert oct(path.stat().st_mode & 0o777) == "0o600" and path.stat().st_uid == int(r.run("id -u mosquitto").stdout)
    config = r.file(CONFIG).read_text()
    assert f'site = "{SITE}"' in config and "secret_key" in config
    assert len(config.split('secret_key = "')[1].split('"')[0]) >= 48
    # Debian's stock mosquitto.conf is untouched and includes our conf.d file.
    stock = r.file("/etc/mosquitto/mosquitto.conf").read_text()
    assert "include_dir /etc/mosquitto/conf.d" in stock
    ours = r.file("/etc/mosquitto/conf.d/motcua.conf").read_text().splitlines()
    assert not [line for line in ours if line.startswith(("persistence_location", "log_dest", "pid_file"))]
    devices = sorted(p.stem for p in r.file("/etc/motcua/devices").glob("*.join"))
    assert devices == ["announcer", "counter-1", "display-hall", "kiosk-1"]
    acl = r.file("/etc/mosquitto/motcua.acl").read_text()
    assert f"user kiosk-1\ntopic read motcua/v1/{SITE}/#\ntopic write motcua/v1/{SITE}/devices/kiosk-1/availability" in acl
    for unit in UNITS:
        assert r.file(f"/etc/systemd/system/multi-user.target.wants/{unit}").is_symlink()
    # the nightly backup is started by its timer, not at boot
    assert r.file("/etc/systemd/system/timers.target.wants/motcua-backup.timer").is_symlink()
    assert not r.file("/etc/systemd/system/multi-user.target.wants/motcua-backup.service").exists()


def test_every_unit_passes_systemd_analyze_verify(site):
    units = " ".join(f"/etc/systemd/system/{u}" for u in (*UNITS, *BACKUP_UNITS))
    out = site.root.run(f"systemd-analyze verify {units}", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "motcua" not in out.stderr, out.stderr  # no warning about our units at all
    for name in UNITS:
        text = site.root.file(f"/etc/systemd/system/{name}").read_text()
        assert "WantedBy=multi-user.target" in text and "StandardError=journal" in text
        assert "Restart=on-failure" in text or "Restart=always" in text


def test_services_start_as_their_units_say_and_a_ticket_reaches_a_device(site):
    site.start_all()
    site.motcua("user", "add", "canbo1", "--role", "official", "--site", SITE, "--password", "canbo1-pass-123")
    hall = site.join_line("display-hall")
    url = MqttUrl.parse(hall.mqtt)
    broker = SimpleNamespace(host="127.0.0.1", port=site.mqtt_port, users={url.username: url.password})
    watcher = Collector(broker, url.username, f"motcua/v1/{SITE}/#").start()
    kiosk = site.join_line("kiosk-1")
    try:
        r = httpx.post(f"{site.base}/api/v1/sites/{SITE}/tickets", headers={"Authorization": f"Bearer {kiosk.token}"},
                       json={"service": "hotich", "idempotency_key": uuid.uuid4().hex}, timeout=10)
        assert r.status_code == 201, r.text
        ticket = r.json()
        watcher.wait_for(lambda m: m[0] == f"motcua/v1/{SITE}/queues/hotich/state" and m[1]["waiting"] >= 1, timeout=30)
        with site.login("canbo1") as official:
            official.post(f"/api/v1/sites/{SITE}/counters/1/open").raise_for_status()
            official.post(f"/api/v1/sites/{SITE}/counters/1/call-next").raise_for_status()
        (_, call, _), = watcher.wait_for(lambda m: m[0] == f"motcua/v1/{SITE}/calls", timeout=30)
        assert call["ticket"] == ticket["number"] and call["counter"] == "1"
        # the announcer joined with the line the installer wrote for it
        watcher.wait_for(lambda m: m[0] == f"motcua/v1/{SITE}/devices/announcer/availability" and m[1] == "online",
                         timeout=30)
    finally:
        watcher.stop()
    # the nightly backup, as its unit runs it, while the server runs: a copy holding that ticket
    backup = site.unit("motcua-backup.service")
    out = site.root.run(backup["start"], user=backup["user"], check=False)
    assert out.returncode == 0 and "backup written" in out.stdout, out.stdout + out.stderr
    written, = site.root.file("/var/lib/motcua/backups").glob("*.sqlite3")
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    copy = sqlite3.connect(f"file:{written}?mode=ro", uri=True)
    try:
        assert copy.execute("select status from tickets where id = ?", (ticket["id"],)).fetchone() == ("called",)
    finally:
        copy.close()


def wait_outbox_published(site: Site, timeout: float = 30) -> None:
    """The running server marks outbox rows published a moment after the broker acknowledges
    them; wait for that, so only the installer could change a row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db = sqlite3.connect(f"file:{site.root.file('/var/lib/motcua/motcua.sqlite3')}?mode=ro", uri=True)
        try:
            if db.execute("select count(*) from outbox where published_at is null").fetchone()[0] == 0:
                return
        finally:
            db.close()
        time.sleep(0.2)
    raise AssertionError("outbox not drained")


def test_a_second_run_changes_nothing(site):
    wait_outbox_published(site)
    before = checksums(site)
    out = site.install("second")
    assert "writing" not in out.stdout and "creating" not in out.stdout and "installing" not in out.stdout, out.stdout
    assert checksums(site) == before
    (site.work / "timings.json").write_text(json.dumps(site.timings))


def test_the_installer_repairs_a_lost_password_file_without_new_passwords(site):
    passwd = site.root.file("/etc/mosquitto/motcua.passwd")
    users = sorted(line.split(":")[0] for line in passwd.read_text().splitlines())
    join_files = {p.name: p.read_bytes() for p in site.root.file("/etc/motcua/devices").glob("*.join")}
    passwd.unlink()
    site.install("repair")
    assert sorted(line.split(":")[0] for line in passwd.read_text().splitlines()) == users
    assert {p.name: p.read_bytes() for p in site.root.file("/etc/motcua/devices").glob("*.join")} == join_files


def test_power_cut_mid_traffic_loses_nothing_acknowledged_and_the_hall_recovers(site):
    site.motcua("user", "add", "canbo2", "--role", "official", "--site", SITE, "--password", "canbo2-pass-123")
    kiosk = site.join_line("kiosk-1")
    hall_url = site.join_line("display-hall").mqtt
    officials = {"1": site.login("canbo1"), "2": site.login("canbo2")}
    for counter, client in officials.items():
        client.post(f"/api/v1/sites/{SITE}/counters/{counter}/open").raise_for_status()
    # A hall TV that stays up through the cut (another machine), and the traffic of a busy morning.
    survivor = HallBoard(SITE)
    feed = BoardFeed.hall(hall_url, survivor)
    feed.start()
    acknowledged_tickets, acknowledged_calls = [], []
    stop = threading.Event()

    def traffic():
        http = httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {kiosk.token}"}, timeout=3)
        deadline = time.monotonic() + 120
        n, current = 0, {}
        while not stop.is_set() and time.monotonic() < deadline:
            n += 1
            try:
                r = http.post(f"/api/v1/sites/{SITE}/tickets",
                              json={"service": "hotich", "idempotency_key": uuid.uuid4().hex})
                if r.status_code == 201:
                    acknowledged_tickets.append(r.json())
                if n % 2 == 0:
                    counter = "1" if n % 4 == 0 else "2"
                    if current.get(counter):
                        officials[counter].post(f"/api/v1/tickets/{current.pop(counter)}/finish")
                    r = officials[counter].post(f"/api/v1/sites/{SITE}/counters/{counter}/call-next")
                    if r.status_code == 200:
                        acknowledged_calls.append((counter, r.json()))
                        current[counter] = r.json()["id"]
                        officials[counter].post(f"/api/v1/tickets/{r.json()['id']}/start")
            except httpx.HTTPError:
                time.sleep(0.05)

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged_calls) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acknowledged_calls) >= 6
        site.power_cut()  # every process in the root, Mosquitto included, mid-traffic
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)
    site.start_all()  # as the units would, after the power comes back
    try:
        db = sqlite3.connect(f"file:{site.root.file('/var/lib/motcua/motcua.sqlite3')}?mode=ro", uri=True)
        try:
            rows = {r[0]: r[1:] for r in db.execute("select id, prefix, number, status, counter, token from tickets")}
        finally:
            db.close()
        for ticket in acknowledged_tickets:  # every ticket a kiosk was told about is still there
            prefix, number, _, _, token = rows[ticket["id"]]
            assert (f"{prefix}{number:03d}", token) == (ticket["number"], ticket["token"])
        for counter, call in acknowledged_calls:  # every call an official saw is still a call there
            assert rows[call["id"]][2] in ("called", "serving", "done") and rows[call["id"]][3] == counter
        truth = {c["counter"]: c["ticket"] for c in
                 httpx.get(f"{site.base}/api/v1/sites/{SITE}/counters", timeout=10).json()["counters"]}
        assert any(truth[c] for c in ("1", "2")), truth  # someone is being served: the hall has something to show
        # The restarted hall (a fresh board, as its unit starts one) and the survivor both show the truth.
        fresh = HallBoard(SITE)
        fresh_feed = BoardFeed.hall(hall_url, fresh)
        fresh_feed.start()
        try:
            for board in (fresh, survivor):
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    shown = {c: (board.counters[c].ticket if c in board.counters else None) for c in ("1", "2")}
                    if shown == {c: truth[c] for c in ("1", "2")}:
                        break
                    time.sleep(0.1)
                assert shown == {c: truth[c] for c in ("1", "2")}, (shown, truth)
                assert board.connected
        finally:
            fresh_feed.stop()
    finally:
        feed.stop()
        for client in officials.values():
            client.close()



def xinit_client(exec_start: str) -> str:
    """The program xinit would start as X's only client (what runs on the TV)."""
    words = exec_start.split()
    assert words[0] == "/usr/bin/xinit" and "--" in words, exec_start
    server = words[words.index("--") + 1:]
    assert server[:2] == [":0", "vt1"] and "-nolisten" in server, exec_start
    return " ".join(words[1:words.index("--")])


def test_the_hall_tv_program_shows_the_site_from_its_join_file(site):
    """The hall unit's X client, exactly as its ExecStart names it, drawn offscreen (no X server
    or seat here): it connects with the installer's display-hall credentials and shows the call."""
    client = xinit_client(site.unit("motcua-hall.service")["start"])
    assert client == "/opt/motcua/bin/motcua display --join-file /etc/motcua/devices/display-hall.join"
    out = site.root.run(f"{client} --screenshot /var/lib/motcua/hall.png", user="motcua",
                        env=OFFSCREEN, check=False, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    png = site.root.file("/var/lib/motcua/hall.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1920, 1080)


def test_a_kiosk_mini_pc_is_installed_from_its_join_line(site):
    kiosk_line = site.root.file("/etc/motcua/devices/kiosk-1.join").read_text().splitlines()[-1]
    site.root.file("/root/kiosk-1.join").write_text(kiosk_line + "\n")
    out = site.root.run(f"{SRC}/deploy/install-device.sh --join-file /root/kiosk-1.join --printer 'sim://?fault=none&x=1'",
                        check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    unit = site.unit("motcua-device.service")
    assert xinit_client(unit["start"]) == ("/opt/motcua/bin/motcua kiosk --fullscreen --join-file "
                                           "/etc/motcua/device.join --printer sim://?fault=none&x=1")
    verify = site.root.run("systemd-analyze verify /etc/systemd/system/motcua-device.service", check=False)
    assert verify.returncode == 0 and "motcua" not in verify.stderr, verify.stderr
    assert site.root.file("/etc/systemd/system/multi-user.target.wants/motcua-device.service").is_symlink()
    before = site.root.file("/etc/systemd/system/motcua-device.service").read_bytes()
    again = site.root.run(f"{SRC}/deploy/install-device.sh --join-file /root/kiosk-1.join --printer 'sim://?fault=none&x=1'")
    assert "installing" not in again.stdout
    assert site.root.file("/etc/systemd/system/motcua-device.service").read_bytes() == before
    # The line becomes the kiosk's own options (what the unit's program receives).
    from motcua import join as join_mod

    argv = join_mod.apply(["kiosk", "--join-file", str(site.root.file("/etc/motcua/device.join"))])
    assert argv[argv.index("--token") + 1] == site.join_line("kiosk-1").token
    bad = site.root.run(f"{SRC}/deploy/install-device.sh --join motcua1:broken", check=False)
    assert bad.returncode == 2 and "join line" in bad.stderr


def test_the_province_broker_flag_bridges_live_calls_to_the_province(site, tmp_path):
    """--province-broker with the mqtts:// URL the province's `motcua province bridge-user` printed and
    --province-broker-cafile with the province's own CA (left in /root, mode 0600, where Mosquitto's
    user cannot read it): the site's Mosquitto, as its unit starts it, forwards a call over TLS to a
    province broker on this host whose listener `motcua province broker-config` wrote."""
    from tests.support.pki import province_pki, tls_province_broker

    pki = province_pki(tmp_path / "pki")
    province = tls_province_broker(tmp_path / "province", pki, SITE, {"board": "board-pass"})
    url = province.bridge_url
    ca_given = site.root.file("/root/tinh-ca.pem")
    ca_given.write_bytes(pki["ca"].read_bytes())
    ca_given.chmod(0o600)
    board = Collector(province, "board", f"motcua/v1/{SITE}/#").start()
    try:
        flags = f"--province-broker '{url}' --province-broker-cafile /root/tinh-ca.pem"
        out = site.install("bridge", flags)
        assert "writing /etc/mosquitto/conf.d/motcua-bridge.conf" in out.stdout
        assert "installing the province's CA certificate" in out.stdout
        conf = site.root.file("/etc/mosquitto/conf.d/motcua-bridge.conf")
        assert oct(conf.stat().st_mode & 0o777) == "0o640"  # it holds the bridge's password
        assert f"topic calls out 0 motcua/v1/{SITE}/ motcua/v1/{SITE}/" in conf.read_text()
        assert "bridge_cafile /etc/mosquitto/certs/motcua-province-ca.crt\nbridge_insecure false\n" in conf.read_text()
        ca = site.root.file("/etc/mosquitto/certs/motcua-province-ca.crt")
        assert ca.read_bytes() == pki["ca"].read_bytes() and oct(ca.stat().st_mode & 0o777) == "0o644"
        again = site.install("bridge-again", flags)
        assert "motcua-bridge.conf" not in again.stdout and "CA certificate" not in again.stdout
        site.power_cut()
        site.start_all()  # Mosquitto reads its conf.d (and the bridge) when its unit starts it
        board.wait_for(lambda m: m[0] == f"motcua/v1/{SITE}/bridge/state" and m[1] == 1, timeout=60)
        kiosk = site.join_line("kiosk-1")
        r = httpx.post(f"{site.base}/api/v1/sites/{SITE}/tickets", headers={"Authorization": f"Bearer {kiosk.token}"},
                       json={"service": "chungthuc", "idempotency_key": uuid.uuid4().hex}, timeout=10)
        assert r.status_code == 201, r.text
        with site.login("canbo2") as official:
            current = official.get(f"/api/v1/sites/{SITE}/counters", timeout=10).json()["counters"]
            busy = next(c for c in current if c["counter"] == "2")  # the power-cut test left someone there
            steps = {"called": ["start", "finish"], "serving": ["finish"]}.get(busy["ticket_status"], [])
            for step in steps:
                official.post(f"/api/v1/tickets/{busy['ticket_id']}/{step}").raise_for_status()
            official.post(f"/api/v1/sites/{SITE}/counters/2/open")
            r = official.post(f"/api/v1/sites/{SITE}/counters/2/call-next")
            assert r.status_code == 200, r.text
        board.wait_for(lambda m: m[0] == f"motcua/v1/{SITE}/calls" and m[1]["ticket"] == r.json()["number"], timeout=30)
    finally:
        board.stop()
        province.stop()
