"""Hosts for tests as Linux network namespaces joined by veth links through a router namespace.

Each :class:`Host` is a namespace with its own loopback and one address on a virtual link to the
router (10.x only; never a real network). Processes started from :meth:`Host.call` run inside
the host: ``setns`` moves only the calling *thread* into a network namespace, and a child process
forked from that thread (``subprocess``) is born there, so the existing fixtures (``ServerProcess``,
``PostgresServer``, ``HaProxy``) start a server "on" a host unchanged, and their health checks and
a test's HTTP clients, run in the same thread, reach it at its addresses. The test process itself
stays in the root namespace. Files are shared (one filesystem), so a test reads a site's SQLite
database or a PostgreSQL Unix socket directly.

:meth:`Net.cut` / :meth:`Net.restore` take a host's WAN link down and up again on the router
side (the site sees a dead link, as when the uplink drops, not a refused connection).
:meth:`Net.close` kills what is still running in the namespaces (by the ids ``ip netns pids``
lists: only what the test started) and deletes them, whatever happened before.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsUnavailable(RuntimeError):
    """The kernel or the user may not create network namespaces here (the reason is the message)."""


def _ip(*args: str) -> str:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise NetnsUnavailable(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def check_available() -> None:
    """Raise :class:`NetnsUnavailable` saying why when namespaces and veth links cannot be made."""
    if shutil.which("ip") is None:
        raise NetnsUnavailable("the ip command is missing (apt-get install iproute2)")
    if os.geteuid() != 0:
        raise NetnsUnavailable("creating network namespaces needs root")
    probe = f"mcprobe-{uuid.uuid4().hex[:6]}"
    _ip("netns", "add", probe)
    try:
        _ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def _enter(name: str) -> None:
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


class Host:
    """One namespace: ``address`` on its link to the router, default route through it."""

    def __init__(self, net: "Net", label: str, index: int) -> None:
        self.label = label
        self.name = f"{net.prefix}-{label}"
        self.address = f"10.77.{index}.2"
        self.gateway = f"10.77.{index}.1"
        self.router_link = f"wan-{label}"[:15]
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=self.name,
                                        initializer=_enter, initargs=(self.name,))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` in a thread inside this host and return its result (raising what it raised)."""
        return self._pool.submit(fn, *args, **kwargs).result()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        """Like :meth:`call` without waiting: a future (a client busy while the test does other things)."""
        return self._pool.submit(fn, *args, **kwargs)

    def run(self, *cmd: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], check=True, capture_output=True,
                              text=True).stdout


class Net:
    """A router namespace and hosts hanging off it, each on its own 10.77.N.0/24 link."""

    def __init__(self) -> None:
        self.prefix = f"mc{uuid.uuid4().hex[:6]}"
        self.router = f"{self.prefix}-router"
        self.hosts: dict[str, Host] = {}
        self._made: list[str] = []

    def open(self, *labels: str) -> "Net":
        _ip("netns", "add", self.router)
        self._made.append(self.router)
        _ip("-n", self.router, "link", "set", "lo", "up")
        subprocess.run(["ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        for index, label in enumerate(labels, start=1):
            host = Host(self, label, index)
            _ip("netns", "add", host.name)
            self._made.append(host.name)
            _ip("-n", host.name, "link", "set", "lo", "up")
            _ip("link", "add", "name", host.router_link, "netns", self.router, "type", "veth",
                "peer", "name", "eth0", "netns", host.name)
            _ip("-n", self.router, "addr", "add", f"{host.gateway}/24", "dev", host.router_link)
            _ip("-n", self.router, "link", "set", host.router_link, "up")
            _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.name, "link", "set", "eth0", "up")
            _ip("-n", host.name, "route", "add", "default", "via", host.gateway)
            self.hosts[label] = host
        return self

    def __getitem__(self, label: str) -> Host:
        return self.hosts[label]

    def cut(self, label: str) -> None:
        _ip("-n", self.router, "link", "set", self.hosts[label].router_link, "down")

    def restore(self, label: str) -> None:
        _ip("-n", self.router, "link", "set", self.hosts[label].router_link, "up")

    def close(self) -> None:
        for host in self.hosts.values():
            host._pool.shutdown(wait=False, cancel_futures=True)
        for name in reversed(self._made):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
            for pid in pids:
                if int(pid) == os.getpid():
                    continue
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self._made.clear()
