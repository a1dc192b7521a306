"""HAProxy in front of province replicas, as a province runs them (round robin, health-checked)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from server.broker import free_port
from tests.support.processes import wait_healthy


class HaProxy:
    def __init__(self, workdir: Path, backends: list[int], host: str = "127.0.0.1") -> None:
        """``host``: the address HAProxy listens on (a namespace host's own address in the netns test)."""
        self.workdir = workdir
        self.host = host
        self.backends = backends
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("haproxy") is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15) -> "HaProxy":
        servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check inter 300ms fall 1 rise 2"
                            for i, p in enumerate(self.backends))
        config = self.workdir / "haproxy.cfg"
        config.write_text(f"""global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch
frontend province
    bind {self.host}:{self.port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /api/v1/health
{servers}
""")
        log = open(self.workdir / "haproxy.log", "ab")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=log, stderr=log,
                                        start_new_session=True)
        if wait_healthy(self.process, self.base_url, self.workdir / "haproxy.log", time.monotonic() + timeout):
            return self
        self.stop()
        raise RuntimeError("haproxy did not come up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
