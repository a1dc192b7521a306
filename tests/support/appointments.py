"""Helpers for appointment tests: open today at a live site, a plan whose slot covers now, and a
verified phone (the code read from the modem simulator, as the citizen reads it from the SMS)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from server.storage.db import Database
from server.storage.tables import sites
from tests.support.live import LiveSite

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_now() -> datetime:
    return datetime.now(TZ)


def open_days(live: LiveSite, *days) -> None:
    """Make ``days`` working days at the site (so a test on a Sunday can still book today)."""
    db = Database(live.settings.database_url).open()
    try:
        with db.write() as conn:
            settings = json.loads(conn.execute(select(sites.c.settings).where(sites.c.id == "demo")).scalar() or "{}")
            cal = settings.setdefault("calendar", {})
            cal["extra_working_days"] = sorted({*cal.get("extra_working_days", []), *(d.isoformat() for d in days)})
            conn.execute(update(sites).where(sites.c.id == "demo").values(settings=json.dumps(settings)))
    finally:
        db.close()
    live.app.state.dossiers.forget_profiles()


def slot_around_now(capacity: int) -> dict:
    """A slot from the start of the last hour to the end of the next one (within today)."""
    now = local_now()
    start = max(now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
                now.replace(hour=0, minute=0, second=0, microsecond=0))
    end = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=0, microsecond=0))
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "capacity": capacity}


def sms_to(live: LiveSite, phone: str, marker: str, after: int = 0, timeout: float = 10.0):
    modem = live.app.state.notice_sender.notifier.modem
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sms in modem.sent[after:]:
            if sms.to == phone and marker in sms.text:
                return sms
        time.sleep(0.05)
    raise AssertionError(f"no SMS with {marker!r} to {phone}: {[s.text for s in modem.sent]}")


def verify(live: LiveSite, web: httpx.Client, phone_text: str, phone: str, purpose: str = "booking") -> str:
    """Ask for a code, read it from the SMS, confirm it. → the proof."""
    before = len(live.app.state.notice_sender.notifier.modem.sent)
    r = web.post("/api/v1/phone/verify/start", json={"phone": phone_text, "purpose": purpose})
    assert r.status_code == 200, r.text
    code = re.search(r"\b(\d{6})\b", sms_to(live, phone, "Ma xac nhan", before).text).group(1)
    r = web.post("/api/v1/phone/verify/confirm", json={"verification": r.json()["verification"], "code": code})
    assert r.status_code == 200, r.text
    return r.json()["proof"]
