"""Run a real Mosquitto with motcua's config and ACL (demo, tests, benchmarks).

The config comes from ``deploy/mosquitto``; users and passwords are generated here with
``mosquitto_passwd``. Loopback only, on a free port; stopped by PID. :func:`render_acl` and
:func:`render_site_conf` are also what a site install writes (``motcua device add``, the installer).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

SERVER_USER = "motcua-server"
ROOT_TOPIC = "motcua/v1"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
"""Device and site ids that may become an MQTT user, a topic level and an ACL line."""


class BrokerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _deploy_file(name: str) -> str:
    here = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / name
    if here.exists():
        return here.read_text(encoding="utf-8")
    return resources.files("deploy").joinpath("mosquitto", name).read_text(encoding="utf-8")


def check_name(value: str, what: str) -> str:
    if not NAME_RE.match(value or ""):
        raise BrokerError(f"{what} {value!r} must be 1–63 of a-z, 0-9, '.', '_', '-' (starting with a letter or digit)")
    return value


def render_acl(device_sites: dict[str, str]) -> str:
    """The whole ACL: the shipped header (the server) and one block per device, scoped to its site.

    A device reads only ``motcua/v1/<its site>/#`` and writes only its own availability and
    status there. Blocks are sorted, so the same devices give the same bytes (a re-run of the
    installer changes nothing).
    """
    parts = [_deploy_file("acl").rstrip("\n") + "\n"]
    for user, site in sorted(device_sites.items()):
        check_name(user, "device")
        check_name(site, "site")
        if user == SERVER_USER:
            raise BrokerError(f"{SERVER_USER!r} is the server's broker user, not a device")
        own = f"{ROOT_TOPIC}/{site}/devices/{user}"
        parts.append(f"\nuser {user}\ntopic read {ROOT_TOPIC}/{site}/#\n"
                     f"topic write {own}/availability\ntopic write {own}/status\n")
    return "".join(parts)


def render_site_conf(*, port: int, host: str, password_file: str, acl_file: str) -> str:
    """motcua's conf.d file for a Mosquitto whose main file is Debian's stock one."""
    conf = _deploy_file("motcua.conf.in")
    for key, value in {"@PORT@": str(port), "@HOST@": host, "@PASSWD@": password_file, "@ACL@": acl_file}.items():
        conf = conf.replace(key, value)
    return conf


@dataclass
class Mosquitto:
    """A Mosquitto process in ``workdir``; ``users`` maps username → password.

    Every user but the server is a device of ``site`` unless ``sites`` names another one.
    ``acl``: the whole ACL text instead (a province broker's); ``extra_conf``: lines appended to
    the configuration (a bridge's conf.d file); ``conf``: motcua's part of the configuration
    instead of the site's (a province broker's, with its TLS listener), followed by a plain
    listener on ``port`` for the test's own clients.
    """

    workdir: Path
    users: dict[str, str] = field(default_factory=dict)
    site: str = "demo"
    sites: dict[str, str] = field(default_factory=dict)
    port: int = 0
    host: str = "127.0.0.1"
    acl: str | None = None
    extra_conf: str = ""
    conf: str | None = None
    process: subprocess.Popen | None = None

    def url(self, user: str) -> str:
        return f"mqtt://{user}:{self.users[user]}@{self.host}:{self.port}"

    def write_config(self) -> Path:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        conf = _deploy_file("mosquitto.conf.in").replace("@DIR@", str(self.workdir))
        if self.conf is not None:
            conf += self.conf + f"listener {self.port} {self.host}\n"
        else:
            conf += render_site_conf(port=self.port, host=self.host, password_file=str(self.workdir / "passwd"),
                                     acl_file=str(self.workdir / "acl"))
        if os.geteuid() == 0:
            conf += "user root\n"  # else it drops to 'mosquitto' and cannot read a root temp dir
        conf += self.extra_conf
        devices = {u: self.sites.get(u, self.site) for u in self.users if u != SERVER_USER}
        acl = self.acl if self.acl is not None else render_acl(devices)
        (self.workdir / "acl").write_text(acl, encoding="utf-8")
        passwd = self.workdir / "passwd"
        passwd.write_text("")
        for user, password in self.users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True,
                           capture_output=True)
        passwd.chmod(0o600)
        path = self.workdir / "mosquitto.conf"
        path.write_text(conf, encoding="utf-8")
        return path

    def start(self, timeout: float = 10.0) -> "Mosquitto":
        conf = self.workdir / "mosquitto.conf"
        if not conf.exists():
            conf = self.write_config()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "mosquitto.log")
                raise BrokerError(f"mosquitto exited: {log.read_text()[-500:] if log.exists() else ''}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
