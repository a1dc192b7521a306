"""The real server as a child process (for concurrency, crash and benchmark runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.broker import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_healthy(process: subprocess.Popen, base_url: str, log: Path, deadline: float) -> bool:
    """Whether ``base_url`` answered ``/api/v1/health`` with 200 before ``deadline`` (monotonic);
    a process that exits first raises with the end of its log."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


class ServerProcess:
    def __init__(self, database_url: str, *, mqtt_url: str | None = None, site: str = "demo",
                 workdir: Path, port: int | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.mqtt_url = mqtt_url
        self.site = site
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        env.update({
            "MOTCUA_DATABASE_URL": self.database_url,
            "MOTCUA_PUBLIC_URL": self.base_url,
            "MOTCUA_SECRET_KEY": "test-secret-key-0123456789",
            "MOTCUA_SITE": self.site,
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        })
        if self.mqtt_url:
            env["MOTCUA_MQTT_URL"] = self.mqtt_url
        return env

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "motcua", *args], env=self.env(), cwd=self.workdir,
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def start(self, timeout: float = 30) -> "ServerProcess":
        log = open(self.workdir / f"server-{self.port}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "motcua", "server", "--port", str(self.port)],
            env=self.env(), cwd=self.workdir, stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        if wait_healthy(self.process, self.base_url, self.workdir / f"server-{self.port}.log", deadline):
            return self
        self.stop()
        raise RuntimeError("server did not become healthy")

    def kill9(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.process = None

    def login(self, username: str, password: str) -> str:
        r = httpx.post(f"{self.base_url}/api/v1/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        return r.json()["access_token"]
