"""A site's devices on the server: join lines, broker users and the per-site ACL, kept in step.

Each device is one file ``<devices_dir>/<name>.join`` holding its join line (server URL, site,
device token, broker user and password). From those files and the server's own broker user,
the Mosquitto password file (users added, never re-hashed) and the ACL (rendered whole, the
same bytes for the same devices) are brought in step, and Mosquitto is told to reload.
Nothing is ever regenerated when it exists: running it again changes nothing.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from devices.mqtt import MqttUrl
from server.broker import SERVER_USER, BrokerError, check_name, render_acl

from . import join

DEFAULT_CONFIG = Path("/etc/motcua/motcua.toml")
TOKEN_ROLE = {"kiosk": "kiosk", "display": "display", "counter": "display", "announcer": None}
"""The server role of each device's token (an announcer only listens to the broker: no token)."""


class SiteDevicesError(RuntimeError):
    """Says what is wrong and what to do."""


@dataclass(frozen=True)
class BrokerLayout:
    """The ``[broker]`` table of the site's config file (the installer writes it)."""

    host: str
    port: int = 1883
    password_file: Path = Path("/etc/mosquitto/motcua.passwd")
    acl_file: Path = Path("/etc/mosquitto/motcua.acl")
    pid_file: Path = Path("/run/mosquitto/mosquitto.pid")
    devices_dir: Path = Path("/etc/motcua/devices")
    group: str = "motcua"

    @classmethod
    def from_config(cls, config: Path, public_url: str) -> "BrokerLayout":
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8")).get("broker", {})
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise SiteDevicesError(f"cannot read [broker] from {config}: {err}") from err
        paths = {k: Path(data[k]) for k in ("password_file", "acl_file", "pid_file", "devices_dir") if k in data}
        host = data.get("host") or urlsplit(public_url).hostname or "127.0.0.1"
        return cls(host=host, port=int(data.get("port", 1883)), group=data.get("group", "motcua"), **paths)


def _gid(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return -1


def _broker_owner() -> tuple[int, int]:
    try:
        user = pwd.getpwnam("mosquitto")
        return user.pw_uid, user.pw_gid
    except KeyError:
        return 0, 0


def write_if_changed(path: Path, text: str, *, mode: int, group: str | None = None) -> bool:
    """Write only when the content differs (same bytes, same checksum on a re-run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    if changed:
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    path.chmod(mode)
    if group and os.geteuid() == 0:
        os.chown(path, 0, _gid(group))
    return changed


def load_devices(layout: BrokerLayout) -> dict[str, join.JoinInfo]:
    devices = {}
    if layout.devices_dir.is_dir():
        for path in sorted(layout.devices_dir.glob("*.join")):
            try:
                devices[path.stem] = join.read_file(path)
            except join.JoinError as err:
                raise SiteDevicesError(f"{path}: {err}; remove it and add the device again") from err
    return devices


def passwd_users(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line.split(":", 1)[0] for line in path.read_text().splitlines() if ":" in line}


def set_password(path: Path, user: str, password: str) -> None:
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(tool).exists():
        raise SiteDevicesError("mosquitto_passwd is missing (apt-get install mosquitto)")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o640)
    subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True)


def sync_broker(layout: BrokerLayout, server_mqtt_url: str | None, devices: dict[str, join.JoinInfo],
                *, force_passwords: tuple[str, ...] = ()) -> bool:
    """Add missing users to the password file and render the ACL; True if either changed."""
    users: dict[str, str] = {}
    if server_mqtt_url:
        url = MqttUrl.parse(server_mqtt_url)
        if url.username != SERVER_USER or not url.password:
            raise SiteDevicesError(f"the server's MOTCUA_MQTT_URL must use the broker user {SERVER_USER} with a password")
        users[SERVER_USER] = url.password
    for name, info in devices.items():
        users[name] = MqttUrl.parse(info.mqtt).password or ""
    present = passwd_users(layout.password_file)
    changed = False
    for user, password in users.items():
        if user not in present or user in force_passwords:
            set_password(layout.password_file, user, password)
            changed = True
    try:
        acl = render_acl({name: info.site for name, info in devices.items()})
    except BrokerError as err:
        raise SiteDevicesError(str(err)) from err
    changed |= write_if_changed(layout.acl_file, acl, mode=0o600)
    for path in (layout.password_file, layout.acl_file):
        # Mosquitto re-reads both on SIGHUP as its own user; 2.0.16+ warns unless they are its own and 0600
        path.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(path, *_broker_owner())
    return changed


def reload_broker(layout: BrokerLayout) -> str:
    """SIGHUP makes Mosquitto re-read its password file and ACL without dropping anyone."""
    try:
        pid = int(layout.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
        return f"Mosquitto (pid {pid}) reloaded"
    except (OSError, ValueError):
        pass
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        subprocess.run(["systemctl", "reload-or-restart", "mosquitto"], check=False)
        return "Mosquitto reloaded (systemctl)"
    return "Mosquitto is not running; it reads the new users when it starts"


def add_device(db, settings, layout: BrokerLayout, name: str, role: str, *, counter: str | None = None,
               renew: bool = False) -> tuple[join.JoinInfo, bool]:
    """The device's join line (made once; ``renew`` makes a new token and password)."""
    from server.auth import AuthStore

    try:
        check_name(name, "device name")
    except BrokerError as err:
        raise SiteDevicesError(str(err)) from err
    if name == SERVER_USER:
        raise SiteDevicesError(f"{SERVER_USER} is the server's own broker user")
    if role not in join.ROLES:
        raise SiteDevicesError(f"role must be one of {', '.join(join.ROLES)}")
    path = layout.devices_dir / f"{name}.join"
    old = load_devices(layout).get(name)
    if old is not None and not renew:
        if old.role != role or (counter is not None and old.counter != counter):
            raise SiteDevicesError(f"device {name} is already a {old.role}"
                                   f"{f' of counter {old.counter}' if old.counter else ''}; "
                                   "give --renew to replace it (its old line stops working)")
        return old, False
    store = AuthStore(db)
    if old is not None and old.token:
        store.revoke(old.token)
    # a counter's own screen is bound to its counter: it may then send that counter's ratings
    token = (store.device_token(name, TOKEN_ROLE[role], settings.site,
                                counter=counter if role == "counter" else None)
             if TOKEN_ROLE[role] else None)
    password = secrets.token_urlsafe(18)
    info = join.JoinInfo(server=settings.public_url, site=settings.site, device=name, role=role,
                         mqtt=f"mqtt://{name}:{password}@{layout.host}:{layout.port}", token=token,
                         counter=counter)
    layout.devices_dir.mkdir(parents=True, exist_ok=True)
    layout.devices_dir.chmod(0o750)
    if os.geteuid() == 0:
        os.chown(layout.devices_dir, 0, _gid(layout.group))
    write_if_changed(path, f"# {role} {name} of site {settings.site}\n{info.encode()}\n", mode=0o640,
                     group=layout.group)
    return info, True
