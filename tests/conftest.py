"""Fixtures shared by every test folder: real SQLite, PostgreSQL and Mosquitto, started here."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Set before anything imports escpos or kivy: keep their caches out of the temp dir and home.
_CACHE = Path(tempfile.gettempdir()) / "motcua-test-cache"
_CACHE.mkdir(exist_ok=True)
(_CACHE / "escpos").mkdir(exist_ok=True)
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(_CACHE / "escpos"))
os.environ.setdefault("KIVY_HOME", str(_CACHE / "kivy"))
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
for key in [k for k in os.environ if k.startswith("MOTCUA_")]:
    del os.environ[key]

from server.broker import SERVER_USER, Mosquitto  # noqa: E402
from server.storage import catalog, migrate  # noqa: E402
from server.storage.db import Database  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

DEVICE_USERS = ("display-hall", "kiosk-1", "announcer", "counter-1")


@pytest.fixture(scope="session")
def postgres_server():
    if not PostgresServer.available():
        pytest.fail("PostgreSQL is not installed (./run test installs it: apt-get install postgresql)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'motcua.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def db(db_url):
    """A migrated database with the demo site loaded."""
    database = Database(db_url, sqlite_synchronous="NORMAL").open()
    migrate.upgrade(database)
    catalog.load_site(database, catalog.demo_site_file())
    yield database
    database.close()


@pytest.fixture
def broker(tmp_path):
    users = {SERVER_USER: "server-pass", **{u: f"{u}-pass" for u in DEVICE_USERS}}
    mosquitto = Mosquitto(tmp_path / "broker", users=users).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def site(tmp_path):
    """A live site (real app on a loopback port, SQLite), without a broker."""
    from tests.support.live import LiveSite

    live = LiveSite(tmp_path).start()
    yield live
    live.stop()


@pytest.fixture
def mqtt_site(tmp_path, broker):
    """A live site whose outbox publishes to a real Mosquitto (``broker``)."""
    from tests.support.live import LiveSite

    live = LiveSite(tmp_path, broker=broker).start()
    yield live
    live.stop()
