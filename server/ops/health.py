"""The checks behind ``motcua doctor`` and ``GET /api/v1/health``: one line each, with what to do.

Both callers run :func:`run_checks`; they differ only in how they see the broker and the
devices (the server through its own MQTT connection, the doctor through a fresh one with the
server's credentials). A check is ``ok``, ``warn`` (the site works, something needs a look) or
``fail`` (the site cannot serve: the health endpoint answers 503).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, text

from server.storage.db import Database
from server.storage.tables import outbox

from .dburl import describe, sqlite_path
from .problems import first_line

CLOCK_FLOOR = datetime(2025, 1, 1, tzinfo=timezone.utc)
"""No motcua site runs before this: a clock earlier than it lost its time (flat CMOS battery)."""
LAG_WARN_S = 30
SYNC_WARN_S = 15 * 60
"""Events older than this not yet at the province make the sync line a warning."""
DISK_WARN_BYTES = 1 << 30


@dataclass
class Check:
    name: str
    level: str  # ok | warn | fail
    detail: str
    action: str = ""

    def line(self) -> str:
        mark = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL"}[self.level]
        return f"{mark} {self.name}: {self.detail}" + (f" — {self.action}" if self.action else "")


@dataclass
class BrokerView:
    configured: bool
    connected: bool
    detail: str = ""
    bridge: str | None = None
    """The site broker's retained ``bridge/state`` for its province bridge: ``1``, ``0``, or None (no bridge)."""


@dataclass
class DeviceView:
    availability: str | None = None  # online | offline | None (never seen)
    status: dict | None = None  # {"kind", "ok", "detail"}


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.level != "fail" for c in self.checks)

    @property
    def status(self) -> str:
        levels = {c.level for c in self.checks}
        return "fail" if "fail" in levels else "warn" if "warn" in levels else "ok"

    def as_dict(self) -> dict:
        return {"ok": self.ok, "status": self.status, "checks": [asdict(c) for c in self.checks]}

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]


def run_checks(db: Database, *, broker: BrokerView, devices: dict[str, DeviceView],
               now: datetime | None = None, sync: SyncView | None = None) -> Report:
    now = now or datetime.now(timezone.utc)
    report = Report()
    reachable = _database(db, report)
    if reachable:
        _migrations(db, report)
        _publisher(db, broker, report, now)
        if sync is not None:
            _sync(db, sync, report, now)
    _broker(broker, report)
    _bridge(broker, report)
    _disk(db, report)
    _clock(db if reachable else None, report, now)
    _devices(broker, devices, report)
    return report


def _database(db: Database, report: Report) -> bool:
    path = sqlite_path(db.url)
    if path is not None and not path.exists():
        report.checks.append(Check(
            "database", "fail", f"{describe(db.url)}: the file does not exist",
            "sai đường dẫn? / wrong path? check MOTCUA_DATABASE_URL; a new site runs: motcua db upgrade"))
        return False
    try:
        with db.read() as conn:
            conn.execute(text("SELECT 1")).scalar()
    except Exception as err:
        report.checks.append(Check(
            "database", "fail", f"{describe(db.url)} unreachable ({first_line(err)})",
            "Không kết nối được cơ sở dữ liệu: kiểm tra MOTCUA_DATABASE_URL, ổ đĩa, dịch vụ PostgreSQL / "
            "check MOTCUA_DATABASE_URL, the disk (df -h) and that PostgreSQL runs (systemctl status postgresql)"))
        return False
    report.checks.append(Check("database", "ok", f"{describe(db.url)} reachable"))
    return True


def _migrations(db: Database, report: Report) -> None:
    from .upgrade import schema_state, too_new_message

    try:
        state = schema_state(db)
    except Exception as err:
        report.checks.append(Check("migrations", "fail", f"cannot read the schema revision ({first_line(err)})",
                                   "run: motcua db upgrade"))
        return
    if state.newer:
        report.checks.append(Check("migrations", "fail", too_new_message(db, state),
                                   "cài lại bản motcua mới hơn / reinstall the newer motcua"))
    elif not state.up_to_date:
        report.checks.append(Check(
            "migrations", "fail", f"schema at {state.current or 'empty'}, this motcua needs {state.head}",
            "chạy / run: motcua db upgrade (or restart the server: it upgrades at start)"))
    else:
        report.checks.append(Check("migrations", "ok", f"schema current (revision {state.head})"))


def _publisher(db: Database, broker: BrokerView, report: Report, now: datetime) -> None:
    c = outbox.c
    with db.read() as conn:
        waiting, oldest = conn.execute(
            select(func.count(), func.min(c.created_at)).where(c.published_at.is_(None))).one()
    if not waiting:
        report.checks.append(Check("publisher", "ok", "every event has reached the broker"))
        return
    if isinstance(oldest, str):  # pragma: no cover - raw SQLite text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    detail = f"{waiting} event(s) not yet sent to the broker, oldest {age:.0f} s old"
    if age < LAG_WARN_S:
        report.checks.append(Check("publisher", "ok", detail))
    elif not broker.configured:
        report.checks.append(Check("publisher", "warn", detail,
                                   "no broker configured: set MOTCUA_MQTT_URL so displays and voice get calls"))
    else:
        report.checks.append(Check("publisher", "warn", detail,
                                   "màn hình/loa chưa nhận số gọi: xem dòng broker / displays lag: see the broker line"))


@dataclass(frozen=True)
class SyncView:
    """What the site's settings say about the up-sync (``MOTCUA_PROVINCE_URL``)."""
    site: str
    province_url: str | None
    tz: str = "Asia/Ho_Chi_Minh"


def _sync(db: Database, sync: SyncView, report: Report, now: datetime) -> None:
    """The province lag: "chưa đồng bộ: 1.240 sự kiện, từ 08:12" (local time of the first one)."""
    from zoneinfo import ZoneInfo

    from server.storage.journal import lag

    with db.read() as conn:
        state = lag(conn, sync.site)
    if not sync.province_url:
        report.checks.append(Check("sync", "ok", f"no province configured (MOTCUA_PROVINCE_URL unset); "
                                                 f"{state.pending} event(s) kept at the site"))
        return
    if state.pending == 0:
        report.checks.append(Check("sync", "ok", f"đã đồng bộ / in step with the province (seq {state.acked_seq})"))
        return
    count = f"{state.pending:,}".replace(",", ".")
    since = state.since.astimezone(ZoneInfo(sync.tz)) if state.since else None
    shown = since.strftime("%H:%M") if since and since.date() == now.astimezone(ZoneInfo(sync.tz)).date() \
        else since.strftime("%d/%m %H:%M") if since else "?"
    detail = f"chưa đồng bộ: {count} sự kiện, từ {shown} / not yet at the province: {state.pending} events"
    if state.error:
        detail += f"; last try: {state.error}"
    old = state.since is not None and (now - state.since).total_seconds() > SYNC_WARN_S
    if old or state.error:
        report.checks.append(Check("sync", "warn", detail,
                                   "mạng tới tỉnh? / check the WAN and MOTCUA_PROVINCE_URL/KEY; the site keeps "
                                   "working and catches up by itself (docs/province.md)"))
    else:
        report.checks.append(Check("sync", "ok", detail))


def _broker(broker: BrokerView, report: Report) -> None:
    if not broker.configured:
        report.checks.append(Check("broker", "warn", "no broker configured (MOTCUA_MQTT_URL unset)",
                                   "hall display, counter displays and voice get nothing; set MOTCUA_MQTT_URL"))
    elif broker.connected:
        report.checks.append(Check("broker", "ok", f"connected{': ' + broker.detail if broker.detail else ''}"))
    else:
        report.checks.append(Check(
            "broker", "warn", f"unreachable ({broker.detail or 'not connected'})",
            "Kiểm tra Mosquitto / check Mosquitto: systemctl status mosquitto; the user and password in "
            "MOTCUA_MQTT_URL must match the broker's passwd file. Calls wait in the database meanwhile"))


BRIDGE_ACTION = (
    "bảng theo dõi của tỉnh không thấy trung tâm này; quầy và màn hình vẫn chạy / the province's live board "
    "misses this centre, the site itself works. Why, in /var/log/mosquitto/mosquitto.log: "
    "'certificate verify failed' = the CA file does not hold the province's CA (--province-broker-cafile); "
    "'host name verification failed' = the URL's host is not in the province's certificate; "
    "'Unable to load CA certificates' = the CA file is "
    "missing or unreadable to mosquitto; 'not authorised' = the password (ask the province for a new URL); "
    "'Connecting bridge' lines with none of those (or 'Error creating bridge') = the WAN or the province "
    "broker (docs/province.md)")


def _bridge(broker: BrokerView, report: Report) -> None:
    """Only where the site's broker runs a province bridge (it keeps the bridge's state retained)."""
    if not broker.connected or broker.bridge is None:
        return
    if broker.bridge == "1":
        report.checks.append(Check("province bridge", "ok", "connected to the province broker (live board)"))
    else:
        report.checks.append(Check("province bridge", "warn", "not connected to the province broker", BRIDGE_ACTION))


def _disk(db: Database, report: Report) -> None:
    path = sqlite_path(db.url)
    where = path.parent if path is not None and path.parent.exists() else Path.cwd()
    usage = shutil.disk_usage(where)
    free_gb = usage.free / (1 << 30)
    detail = f"{free_gb:.1f} GiB free of {usage.total / (1 << 30):.1f} GiB at {where}"
    if usage.free < DISK_WARN_BYTES or usage.free < usage.total * 0.05:
        report.checks.append(Check("disk", "warn", detail,
                                   "ổ đĩa sắp đầy: xóa bản sao lưu cũ, nhật ký / disk nearly full: remove old "
                                   "backups (motcua backup --keep 7), journalctl --vacuum-size=200M"))
    else:
        report.checks.append(Check("disk", "ok", detail))


def _clock(db: Database | None, report: Report, now: datetime) -> None:
    action = ("đặt lại giờ hệ thống / set the clock: timedatectl set-ntp true, or "
              "timedatectl set-time 'YYYY-MM-DD HH:MM:SS'")
    if now < CLOCK_FLOOR:
        report.checks.append(Check("clock", "fail", f"system clock says {now:%Y-%m-%d %H:%M} UTC, before 2025",
                                   action + "; ticket numbers and due dates depend on it"))
        return
    if db is not None:
        try:
            with db.read() as conn:
                latest = conn.execute(select(func.max(outbox.c.created_at))).scalar()
                db_now = conn.execute(text("SELECT now()")).scalar() if not db.is_sqlite else None
        except Exception:
            latest = db_now = None
        if isinstance(latest, datetime):
            latest = latest if latest.tzinfo else latest.replace(tzinfo=timezone.utc)
            if latest - now > timedelta(minutes=5):
                report.checks.append(Check(
                    "clock", "warn", f"system clock is {(latest - now).total_seconds() / 60:.0f} min behind "
                    "the newest recorded event (the clock went back)", action))
                return
        if isinstance(db_now, datetime) and abs((db_now - now).total_seconds()) > 60:
            report.checks.append(Check(
                "clock", "warn", f"this machine and the database server differ by "
                f"{abs((db_now - now).total_seconds()):.0f} s", "enable NTP on both: timedatectl set-ntp true"))
            return
    report.checks.append(Check("clock", "ok", f"{now:%Y-%m-%d %H:%M:%S} UTC"))


DEVICE_ACTIONS = {
    "paper": "thay cuộn giấy / load a new paper roll",
    "cover": "đóng nắp máy in / close the printer cover",
    "not reachable": "kiểm tra cáp và nguồn máy in / check the printer's cable and power",
    "not found": "kiểm tra cáp USB và quyền truy cập (deploy/udev) / check the USB cable and the udev rule",
}


def _devices(broker: BrokerView, devices: dict[str, DeviceView], report: Report) -> None:
    if not broker.configured or not broker.connected:
        if broker.configured:
            report.checks.append(Check("devices", "warn", "unknown while the broker is unreachable"))
        return
    if not devices:
        report.checks.append(Check("devices", "ok", "no device has reported yet"))
        return
    for device_id, view in sorted(devices.items()):
        name = f"device {device_id}"
        if view.availability == "offline":
            report.checks.append(Check(name, "warn", "offline",
                                       "bật máy / start the device; check its network and journalctl on it"))
            continue
        status = view.status or {}
        kind = status.get("kind", "device")
        if status and status.get("ok") is False:
            detail = str(status.get("detail", "fault"))
            action = next((a for key, a in DEVICE_ACTIONS.items() if key in detail.lower()), "")
            report.checks.append(Check(name, "warn", f"{kind}: {detail}", action))
        else:
            report.checks.append(Check(name, "ok", f"{view.availability or 'seen'}"
                                       + (f"; {kind} ok" if status else "")))
