"""A busy site for concurrency tests and benchmarks: the real server process, many officials.

:func:`crowd_site` writes a site file with ``counters`` counters that all serve ``hotich`` (first)
and ``chungthuc`` (second), loads it into a fresh database (SQLite or PostgreSQL), adds one
official per counter and a kiosk token, starts ``motcua server`` as a child process and logs every
official in over HTTP. Each official then gets their own ``httpx.Client`` (their own connection),
as eight terminals in a hall would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from server.auth import AuthStore
from server.storage import catalog, migrate
from server.storage.db import Database
from tests.support.processes import ServerProcess

PASSWORD = "crowd-password"


def site_file(path: Path, counters: int, settings: dict | None = None, site: str = "demo") -> Path:
    lines = ['[site]', f'id = "{site}"', 'name = "Trung tâm thử tải"', 'timezone = "Asia/Ho_Chi_Minh"']
    if settings:
        lines.append("[site.settings]")
        lines += [f"{k} = {v!r}" for k, v in settings.items()]
    lines += ['[[services]]', 'id = "hotich"', 'prefix = "A"', 'name_vi = "Hộ tịch"', 'procedures = ["1.001193"]',
              '[[services]]', 'id = "chungthuc"', 'prefix = "B"', 'name_vi = "Chứng thực"', 'procedures = ["2.000815"]']
    for n in range(1, counters + 1):
        lines += ['[[counters]]', f'id = "{n}"', f'label = "Quầy {n}"', 'services = ["hotich", "chungthuc"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class CrowdSite:
    server: ServerProcess
    kiosk_token: str
    official_tokens: dict[str, str] = field(default_factory=dict)
    """counter id → the bearer token of the official at that counter"""
    site: str = "demo"

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, counter: str | None = None) -> httpx.Client:
        token = self.official_tokens[counter] if counter else self.kiosk_token
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def issue(self, kiosk: httpx.Client, service: str = "hotich") -> dict:
        r = kiosk.post(f"/api/v1/sites/{self.site}/tickets", json={"service": service, "idempotency_key": str(uuid.uuid4())})
        assert r.status_code == 201, r.text
        return r.json()

    def stop(self) -> None:
        self.server.stop()


def crowd_site(db_url: str, workdir: Path, counters: int = 8, settings: dict | None = None,
               extra_env: dict[str, str] | None = None, site: str = "demo") -> CrowdSite:
    """``site``: the site's id (several crowd sites may push to one province)."""
    db = Database(db_url).open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, site_file(workdir / "crowd-site.toml", counters, settings, site))
        auth = AuthStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        for n in range(1, counters + 1):
            auth.add_user(f"canbo{n}", PASSWORD, "official", site=site)
        auth.add_user("giamdoc", PASSWORD, "manager", site=site)
        kiosk = auth.device_token("kiosk-1", "kiosk", site)
    finally:
        db.close()
    server = ServerProcess(db_url, workdir=workdir, extra_env=extra_env, site=site).start()
    crowd = CrowdSite(server, kiosk, site=site)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            for n in range(1, counters + 1):
                r = c.post("/api/v1/auth/token", data={"username": f"canbo{n}", "password": PASSWORD})
                r.raise_for_status()
                crowd.official_tokens[str(n)] = r.json()["access_token"]
                hdr = {"Authorization": f"Bearer {crowd.official_tokens[str(n)]}"}
                assert c.post(f"/api/v1/sites/{site}/counters/{n}/open", headers=hdr).status_code == 200
    except BaseException:
        server.stop()
        raise
    return crowd
