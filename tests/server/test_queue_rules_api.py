"""Queue rules through the HTTP API on both databases: the starvation limit, a busy counter named."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from server.storage import catalog
from server.storage.db import Database
from server.storage.tables import tickets
from tests.support.live import LiveSite


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_site(request, tmp_path):
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server").create_database(f"t_{uuid.uuid4().hex[:12]}")
    live = LiveSite(tmp_path, database_url=url).start()
    yield live
    live.stop()


def issue(kiosk, service: str) -> dict:
    r = kiosk.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


def demo_with_settings(tmp_path, settings: str):
    text = catalog.demo_site_file().read_text(encoding="utf-8")
    assert "\nmax_wait_minutes = 30\n" in text
    text = text.replace("\nmax_wait_minutes = 30\n", f"\n{settings}\n")
    path = tmp_path / f"site-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def age(site: LiveSite, ticket_id: int, minutes: int) -> None:
    """As if the citizen had taken the ticket ``minutes`` earlier (the clock cannot be waited on)."""
    with Database(site.settings.database_url) as db, db.write() as conn:
        issued = conn.execute(select(tickets.c.issued_at).where(tickets.c.id == ticket_id)).scalar_one()
        conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                     .values(issued_at=issued - timedelta(minutes=minutes)))


def test_a_second_choice_ticket_past_the_site_limit_is_called_first(any_site, tmp_path):
    with Database(any_site.settings.database_url) as db:
        catalog.load_site(db, demo_with_settings(tmp_path, "max_wait_minutes = 20"))
    with any_site.client("kiosk") as kiosk, any_site.client("canbo1") as official:
        official.post("/api/v1/sites/demo/counters/1/open")  # hotich first, chungthuc second
        stamp = issue(kiosk, "chungthuc")
        issue(kiosk, "hotich")
        issue(kiosk, "hotich")
        age(any_site, stamp["id"], 19)
        first = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        assert first["service"] == "hotich"  # 19 minutes: still within the limit, preference holds
        official.post(f"/api/v1/tickets/{first['id']}/start")
        age(any_site, stamp["id"], 2)
        second = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        assert second["id"] == stamp["id"]  # 21 minutes: reached although hotich still has people


def test_a_limit_of_zero_turns_the_rule_off_and_a_reload_applies_at_once(any_site, tmp_path):
    with any_site.client("kiosk") as kiosk, any_site.client("canbo1") as official:
        official.post("/api/v1/sites/demo/counters/1/open")
        stamp = issue(kiosk, "chungthuc")
        issue(kiosk, "hotich")
        age(any_site, stamp["id"], 600)
        with Database(any_site.settings.database_url) as db:
            catalog.load_site(db, demo_with_settings(tmp_path, "max_wait_minutes = 0"))
        assert official.post("/api/v1/sites/demo/counters/1/call-next").json()["service"] == "hotich"


@pytest.mark.parametrize("value", ["-5", "'soon'", "1.5", "true", "100000"])
def test_a_bad_limit_in_the_site_file_is_refused_naming_the_key(tmp_path, value):
    with pytest.raises(catalog.SiteFileError, match="max_wait_minutes"):
        catalog.parse_site_file(demo_with_settings(tmp_path, f"max_wait_minutes = {value}"))


def test_a_busy_counter_names_its_ticket_so_a_terminal_can_resume(any_site):
    """After a crash the official's call-next answer was lost; pressing again says who is there."""
    with any_site.client("kiosk") as kiosk, any_site.client("canbo2") as official:
        issue(kiosk, "chungthuc")
        official.post("/api/v1/sites/demo/counters/2/open")
        called = official.post("/api/v1/sites/demo/counters/2/call-next").json()  # the answer "lost"
        again = official.post("/api/v1/sites/demo/counters/2/call-next")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "counter_busy")
        assert again.json()["error"]["ticket"] == {"id": called["id"], "number": called["number"], "status": "called"}
        closing = official.post("/api/v1/sites/demo/counters/2/close")
        assert (closing.status_code, closing.json()["error"]["ticket"]["id"]) == (409, called["id"])
