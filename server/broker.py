"""Run a real Mosquitto with motcua's config and ACL (demo, tests, benchmarks).

The config comes from ``deploy/mosquitto``; users and passwords are generated here with
``mosquitto_passwd``. Loopback only, on a free port; stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

SERVER_USER = "motcua-server"


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


@dataclass
class Mosquitto:
    """A Mosquitto process in ``workdir``; ``users`` maps username → password."""

    workdir: Path
    users: dict[str, str] = field(default_factory=dict)
    port: int = 0
    host: str = "127.0.0.1"
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
        conf = _deploy_file("mosquitto.conf.in")
        conf = conf.replace("@PORT@", str(self.port)).replace("@HOST@", self.host).replace("@DIR@", str(self.workdir))
        if os.geteuid() == 0:
            conf += "user root\n"  # else it drops to 'mosquitto' and cannot read a root temp dir
        (self.workdir / "acl").write_text(_deploy_file("acl"), encoding="utf-8")
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
