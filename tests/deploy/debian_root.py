"""A throwaway Debian 12 root for running the site installer as on a fresh mini-PC.

Built with ``mmdebstrap`` (minbase plus the packages the installer would fetch, so a cached
root only costs an untar) and cached as a tarball keyed by suite + package list under
``$MOTCUA_TEST_CACHE`` (default ``~/.cache/motcua-test``). Commands run in it with ``chroot``
inside a private mount namespace (``unshare -m``) that mounts /proc, /sys and /dev for that
command only, so nothing is left mounted on the host. systemd is not PID 1 here: services are
started by running the commands their units name (:func:`unit_commands`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
ROOT = Path(__file__).resolve().parents[2]
BASE_PACKAGES = ["systemd", "iproute2", "procps"]  # what a real mini-PC has besides minbase


def installer_packages() -> list[str]:
    """The packages the installers install, read from deploy/common.sh (one list to keep)."""
    text = (ROOT / "deploy" / "common.sh").read_text()
    found: list[str] = []
    for name in ("APP_PACKAGES", "SITE_PACKAGES", "SESSION_PACKAGES"):
        match = re.search(rf"^{name}=\((.*?)\)", text, re.S | re.M)
        assert match, f"{name} not found in deploy/common.sh"
        found += match.group(1).split()
    return found


def cache_dir() -> Path:
    path = Path(os.environ.get("MOTCUA_TEST_CACHE", Path.home() / ".cache" / "motcua-test"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def root_tarball(packages: list[str], *, log: Path | None = None) -> tuple[Path, bool]:
    """(tarball, built_now): the cached root for this package list, built if missing."""
    key = hashlib.sha256(" ".join([SUITE, *sorted(packages)]).encode()).hexdigest()[:16]
    tarball = cache_dir() / f"debian-{SUITE}-{key}.tar"
    if tarball.exists():
        return tarball, False
    tmp = tarball.with_suffix(".tar.part")
    out = open(log, "ab") if log else subprocess.DEVNULL
    subprocess.run(["mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}",
                    "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                    "--format=tar", SUITE, str(tmp), MIRROR], check=True, stdout=out, stderr=out)
    os.replace(tmp, tarball)
    return tarball, True


class DebianRoot:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def unpack(cls, tarball: Path, path: Path) -> "DebianRoot":
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-C", str(path), "--numeric-owner", "-xpf", str(tarball)], check=True)
        shutil.copy("/etc/resolv.conf", path / "etc" / "resolv.conf")  # for apt and pip inside
        return cls(path)

    def _argv(self, command: str, user: str | None, env: dict[str, str], binds: dict[str, str]) -> list[str]:
        r = shlex.quote(str(self.path))
        mounts = [f"mount -t proc proc {r}/proc", f"mount -t sysfs sys {r}/sys",
                  f"mount --rbind /dev {r}/dev"]
        for host, inside in binds.items():
            mounts += [f"mkdir -p {r}{inside}", f"mount --bind {shlex.quote(host)} {r}{inside}"]
        who = f"--userspec={user}:{user}" if user else ""
        envs = " ".join(shlex.quote(f"{k}={v}") for k, v in {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": "/root" if not user else "/var/lib/motcua", **env}.items())
        inner = (f"{' && '.join(mounts)} && cd {r} && exec chroot {who} {r} /usr/bin/env -i {envs} "
                 f"/bin/sh -c {shlex.quote('cd / && exec ' + command)}")
        return ["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c", inner]

    def run(self, command: str, *, user: str | None = None, env: dict[str, str] | None = None,
            binds: dict[str, str] | None = None, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run(self._argv(command, user, env or {}, binds or {}), capture_output=True, text=True,
                              check=check, timeout=timeout)

    def start(self, command: str, *, log: Path, user: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
        out = open(log, "ab")
        return subprocess.Popen(self._argv(command, user, env or {}, {}), stdout=out, stderr=out,
                                start_new_session=True)

    def pids(self) -> list[int]:
        """Every process whose root is this tree: what a power cut takes down."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "root") == str(self.path):
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def kill_all(self, sig: int = signal.SIGKILL, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def file(self, inside: str) -> Path:
        return self.path / inside.lstrip("/")


def unit_commands(unit_text: str) -> dict[str, list[str] | str | None]:
    """``ExecStartPre``s, ``ExecStart`` and ``User`` of a unit, as systemd would read them."""
    pre, start, user = [], None, None
    for raw in unit_text.splitlines():
        line = raw.strip()
        if line.startswith("ExecStartPre="):
            pre.append(line.split("=", 1)[1].lstrip("-+!@"))
        elif line.startswith("ExecStart="):
            start = line.split("=", 1)[1].lstrip("-+!@")
        elif line.startswith("User="):
            user = line.split("=", 1)[1]
    return {"pre": pre, "start": start, "user": user}
