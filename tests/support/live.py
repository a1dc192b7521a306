"""A live site for tests: the real app under uvicorn on a free loopback port, in this process.

Users (password ``motcua-test``): ``admin``, ``giamdoc`` (manager), ``canbo1``..``canbo4``
(officials); device tokens for ``kiosk-1``, ``display-hall`` and counter 1's own display
``counter-1`` (the one that may rate counter 1's tickets). Pass a started
:class:`server.broker.Mosquitto` to publish the outbox to it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn
from argon2 import PasswordHasher

from server.api.app import create_app
from server.auth import AuthStore
from server.broker import SERVER_USER, Mosquitto, free_port
from server.config import Settings
from server.storage import catalog, migrate
from server.storage.db import Database

PASSWORD = "motcua-test"


class LiveSite:
    def __init__(self, workdir: Path, broker: Mosquitto | None = None, database_url: str | None = None) -> None:
        self.workdir = workdir
        self.broker = broker
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            demo=True, site="demo", secret_key="test-secret-key-0123456789", sqlite_synchronous="NORMAL",
            kiosk_id_key="test-kiosk-key",  # what tests/kiosk hash CCCD numbers with
            database_url=database_url or f"sqlite:///{workdir / 'site.sqlite3'}",
            mqtt_url=broker.url(SERVER_USER) if broker else None, public_url=self.base_url,
        )
        self.tokens: dict[str, str] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "LiveSite":
        db = Database(self.settings.database_url).open()
        try:
            migrate.upgrade(db)
            catalog.load_site(db, catalog.demo_site_file())
            # cheap hashes: the app verifies with the cost stored in each hash, so logins are fast too
            auth = AuthStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
            auth.add_user("admin", PASSWORD, "admin")
            auth.add_user("giamdoc", PASSWORD, "manager", site="demo")
            for n in range(1, 5):
                auth.add_user(f"canbo{n}", PASSWORD, "official", site="demo")
            self.tokens["kiosk"] = auth.device_token("kiosk-1", "kiosk", "demo")
            self.tokens["display"] = auth.device_token("display-hall", "display", "demo")
            self.tokens["counter-1"] = auth.device_token("counter-1", "display", "demo", counter="1")
        finally:
            db.close()
        self.app = create_app(self.settings)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", access_log=False, proxy_headers=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("live site did not start")
            time.sleep(0.02)
        for who in ("admin", "giamdoc", "canbo1", "canbo2", "canbo3", "canbo4"):
            self.tokens[who] = self.login(who)
        return self

    def login(self, username: str, password: str = PASSWORD) -> str:
        r = httpx.post(f"{self.base_url}/api/v1/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        return r.json()["access_token"]

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
