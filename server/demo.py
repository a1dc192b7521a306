"""``motcua demo``: a whole site on embedded defaults, for a first look and for trying things.

SQLite in ``data_dir``, a Mosquitto it starts itself on a free loopback port (with the real ACL),
the seed catalogue, four counters, staff accounts, device tokens, and simulated traffic.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import threading
import time
from pathlib import Path

import uvicorn

from server.api.app import create_app
from server.auth import AuthStore
from server.broker import SERVER_USER, BrokerError, Mosquitto, free_port
from server.config import DEMO_SECRET_KEY, Settings
from server.simulate import TrafficSimulator
from server.storage import catalog, migrate
from server.storage.db import Database

DEMO_PASSWORD = "motcua-demo"
DEVICE_USERS = ("display-hall", "kiosk-1", "announcer")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def prepare(data_dir: Path, port: int) -> tuple[Settings, Mosquitto, dict]:
    """Broker, database, site, accounts and tokens; returns what the demo prints."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    users_file = data_dir / "mqtt-users.json"
    mqtt_users = json.loads(users_file.read_text()) if users_file.exists() else {
        u: secrets.token_urlsafe(12) for u in (SERVER_USER, *DEVICE_USERS)
    }
    users_file.write_text(json.dumps(mqtt_users))
    users_file.chmod(0o600)
    broker = Mosquitto(data_dir / "broker", users=mqtt_users)
    broker.port = free_port()
    broker.write_config()
    settings = Settings(
        demo=True, site="demo", secret_key=DEMO_SECRET_KEY, sqlite_synchronous="NORMAL",
        database_url=f"sqlite:///{data_dir / 'motcua.sqlite3'}",
        mqtt_url=broker.url(SERVER_USER), public_url=f"http://127.0.0.1:{port}", connector="sim",
    )
    db = Database(settings.database_url).open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        auth = AuthStore(db)
        auth.add_user("admin", DEMO_PASSWORD, "admin", full_name="Quản trị")
        auth.add_user("giamdoc", DEMO_PASSWORD, "manager", site="demo", full_name="Giám đốc Trung tâm")
        for n in range(1, 5):
            auth.add_user(f"canbo{n}", DEMO_PASSWORD, "official", site="demo", full_name=f"Cán bộ quầy {n}")
        tokens = {
            "kiosk": auth.device_token("kiosk-1", "kiosk", "demo"),
            "display": auth.device_token("display-hall", "display", "demo"),
        }
    finally:
        db.close()
    return settings, broker, {"mqtt_users": mqtt_users, "tokens": tokens}


def run_demo(port: int, data_dir: Path, traffic: bool = True, duration: float = 0) -> int:
    if not _port_free(port):
        port = free_port()
    try:
        settings, broker, info = prepare(data_dir, port)
        broker.start()
    except BrokerError as err:
        print(f"motcua demo: {err}")
        return 2
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False, proxy_headers=False))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    sim = None
    if traffic:
        import httpx

        officials = {}
        for n in range(2, 5):  # counter 1 is left to a person at its terminal (the line printed below)
            r = httpx.post(f"{base}/api/v1/auth/token", data={"username": f"canbo{n}", "password": DEMO_PASSWORD})
            officials[str(n)] = r.json()["access_token"]
        sim = TrafficSimulator(base, "demo", info["tokens"]["kiosk"], officials)
        sim.start()
    users = info["mqtt_users"]
    mqtt = f"127.0.0.1:{broker.port}"
    kiosk_token = info["tokens"]["kiosk"]
    if sim is not None:
        for _ in range(100):  # let the first simulated citizen take a ticket, to show a tracking page
            if sim.last_track_url:
                break
            time.sleep(0.1)
    track = sim.last_track_url if sim is not None and sim.last_track_url else f"{base}/t/<token>"
    print(f"""
motcua demo is running (data in {data_dir.resolve()}).

Open in a browser
  a citizen's tracking page   {track}
  the director's dashboard    {base}/dashboard/demo      (giamdoc / {DEMO_PASSWORD})
  the API and its docs        {base}/docs
  queues now (JSON)           {base}/api/v1/sites/demo/queues

Run the devices against it (each in its own terminal; they need a screen or SDL_VIDEODRIVER=offscreen)
  kiosk          .venv/bin/motcua kiosk --server {base} --token {kiosk_token} --printer sim:// --mqtt mqtt://kiosk-1:{users['kiosk-1']}@{mqtt} --device-id kiosk-1
  hall display   .venv/bin/motcua display --hall --windowed --server {base} --mqtt mqtt://display-hall:{users['display-hall']}@{mqtt}
  counter 1      .venv/bin/motcua counter --server {base} --counter 1 --user canbo1      (password {DEMO_PASSWORD})
                 (counter 1 is yours: simulated officials work counters 2, 3 and 4)
  voice          .venv/bin/motcua announcer --mqtt mqtt://announcer:{users['announcer']}@{mqtt}
  raw MQTT       mosquitto_sub -h 127.0.0.1 -p {broker.port} -u display-hall -P '{users['display-hall']}' -t 'motcua/v1/demo/#' -v

Staff accounts: admin, giamdoc (manager), canbo1..canbo4 (officials), password {DEMO_PASSWORD}.
Simulated citizens take tickets, counters 2–4 call them and receive dossiers, a back office moves
the dossiers on{'' if traffic else ' (traffic is off)'}. Ctrl+C stops.
""", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(duration if duration > 0 else None)
    if sim is not None:
        sim.stop()
        print(f"simulated {sim.issued} tickets issued, {sim.called} calls, {sim.dossiers} dossiers received")
    server.should_exit = True
    thread.join(timeout=10)
    broker.stop()
    return 0
