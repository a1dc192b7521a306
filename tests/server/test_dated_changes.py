"""Moments in the dossier API, and changes dated by another system.

* ``POST /dossiers`` and ``GET /dossiers/{code}`` answer the same moments in the same form: the
  site's local time with its offset (before, POST said +07:00 and GET said UTC).
* A connector change dated in the future, before the intake or before the last change is refused
  with a clear code, and the official's real change right after still goes through (before, a
  webhook dated months ahead was accepted and then every real change was 422 out_of_order).
"""

from datetime import datetime, timedelta, timezone

import httpx

from server.connector.base import ConnectorSync
from server.connector.sim import SimOneStop

SECRET = "shared-secret-for-tests-0123456789"


def test_post_and_get_answer_the_same_local_moments(site):
    with site.client("canbo1") as c:
        posted = c.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Lò Thị Mai"})
        assert posted.status_code == 201
        created = posted.json()
        got = c.get(f"/api/v1/dossiers/{created['code']}").json()
    for key in ("received_at", "due_at"):
        assert created[key] == got[key], key
        assert created[key].endswith("+07:00"), created[key]
    assert [h["at"] for h in got["history"]] == [got["received_at"]]
    assert datetime.fromisoformat(got["received_at"]).utcoffset() == timedelta(hours=7)


def test_connector_changes_with_bad_dates_are_refused_and_never_block_the_official(site):
    system = SimOneStop(SECRET)
    site.app.state.connector = ConnectorSync(site.app.state.dossiers, system)
    url = f"{site.base_url}/api/v1/connector/webhook"
    now = datetime.now(timezone.utc)

    def webhook(code, status, at):
        payload = system.change(code, status, at=at)
        system.pull()  # delivered by webhook
        body, headers = system.webhook(payload)
        return httpx.post(url, content=body, headers=headers)

    with site.client("canbo1") as c:
        code = c.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Lò Thị Mai"}
                      ).json()["code"]
        future = webhook(code, "resolved", now + timedelta(days=120))
        before = webhook(code, "processing", now - timedelta(days=2))
        assert (future.status_code, future.json()["error"]["code"]) == (422, "dated_in_future")
        assert (before.status_code, before.json()["error"]["code"]) == (422, "before_intake")
        assert "later than now" in future.json()["error"]["message"]
        # the official's own change goes through
        r = c.post(f"/api/v1/dossiers/{code}/status", json={"status": "processing"})
        assert r.status_code == 200, r.text
        # a change dated between the intake and the official's change: out of order, refused
        intake, changed = (datetime.fromisoformat(h["at"]) for h in r.json()["history"])
        late = webhook(code, "resolved", intake + (changed - intake) / 2)
        assert (late.status_code, late.json()["error"]["code"]) == (422, "out_of_order")
        # a change seconds ahead (clock skew) is recorded at "now", so the next real change is fine
        skewed = webhook(code, "fee_due", datetime.now(timezone.utc) + timedelta(minutes=2))
        assert skewed.status_code == 200, skewed.text
        r = c.post(f"/api/v1/dossiers/{code}/status", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        history = r.json()["history"]
    assert [h["to"] for h in history] == ["received", "processing", "fee_due", "resolved"]
    assert all(datetime.fromisoformat(h["at"]) <= datetime.now(timezone.utc) for h in history)

    # by pull: the bad change is logged and skipped, the good one after it applied
    with site.client("canbo2") as c:
        other = c.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Cà Văn Điện"}
                       ).json()["code"]
    system.change(other, "resolved", at=datetime.now(timezone.utc) + timedelta(days=90))
    system.change(other, "processing", at=datetime.now(timezone.utc))
    assert site.app.state.connector.pull_once() == 1
    with site.client("canbo2") as c:
        assert c.get(f"/api/v1/dossiers/{other}").json()["status"] == "processing"
