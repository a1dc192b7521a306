"""The one-stop system connector: events out, status changes in (pull and signed webhook)."""

import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from server.connector.base import ConnectorSync
from server.connector.signing import HEADER, SignatureError, sign, verify
from server.connector.sim import SimOneStop
from server.storage.dossier_store import DossierStore

SECRET = "shared-secret-for-tests-0123456789"
VN = timezone(timedelta(hours=7))


def test_signature_rules():
    body = b'{"a": 1}'
    header = sign(SECRET, body, timestamp=1_000_000)
    assert verify(SECRET, body, header, now=1_000_100) == 1_000_000
    for bad_body, bad_header, now, code in [
        (body + b" ", header, 1_000_100, "signature_invalid"),
        (body, sign("another-secret", body, 1_000_000), 1_000_100, "signature_invalid"),
        (body, header, 1_000_000 + 301, "signature_expired"),
        (body, "v1=abc", 1_000_000, "signature_malformed"),
        (body, None, 1_000_000, "signature_missing"),
    ]:
        with pytest.raises(SignatureError) as err:
            verify(SECRET, bad_body, bad_header, now=now)
        assert err.value.code == code


def test_push_and_pull_both_ways(db):
    store = DossierStore(db, public_url="http://qr.test")
    system = SimOneStop(SECRET, fail_pushes=1)
    sync = ConnectorSync(store, system)
    d = store.create(site="demo", procedure_code="1.004873", applicant_name="Lò Thị Mai", channel="direct",
                     actor="canbo1", now=datetime(2026, 11, 9, 8, tzinfo=VN))
    with pytest.raises(ConnectionError):
        sync.push_pending()  # scripted fault: nothing marked, retried next round
    assert sync.push_pending() == 1 and sync.push_pending() == 0
    assert [(e["code"], e["status"], e["national_code"]) for e in system.received] == [(d["code"], "received", 2)]
    system.change(d["code"], 4, at=datetime(2026, 11, 10, 9, tzinfo=VN))  # national code 4 = processing
    system.change(d["code"], "resolved", at=datetime(2026, 11, 11, 9, tzinfo=VN))
    assert sync.pull_once() == 2
    view = store.get(d["code"])
    assert [h["to"] for h in view["history"]] == ["received", "processing", "resolved"]
    assert view["history"][-1]["by"] == "connector:sim" and view["timeliness"] == "ahead"
    assert sync.push_pending() == 0  # changes that came from the system are not echoed back


def test_signed_webhook_on_a_live_site(site):
    system = SimOneStop(SECRET)
    site.app.state.connector = ConnectorSync(site.app.state.dossiers, system)
    with site.client("canbo1") as c:
        d = c.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Lò Thị Mai"}).json()
    url = f"{site.base_url}/api/v1/connector/webhook"
    payload = system.change(d["code"], "processing")
    system.pull()  # delivered by webhook this time, not by pull
    body, headers = system.webhook(payload)
    first = httpx.post(url, content=body, headers=headers)
    replay = httpx.post(url, content=body, headers=headers)
    tampered = httpx.post(url, content=body.replace(b"processing", b"resolved"), headers=headers)
    old_body, old_headers = system.webhook(payload, timestamp=int(time.time()) - 3600)
    old = httpx.post(url, content=old_body, headers=old_headers)
    unsigned = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    garbage_body = b"not json"
    garbage = httpx.post(url, content=garbage_body, headers={HEADER: sign(SECRET, garbage_body)})
    assert (first.status_code, first.json()["applied"]) == (200, True)
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
    assert [r.status_code for r in (tampered, old, unsigned, garbage)] == [401, 401, 401, 422]
    assert [r.json()["error"]["code"] for r in (tampered, old, unsigned)] == [
        "signature_invalid", "signature_expired", "signature_missing"]
    with site.client("canbo1") as c:
        history = c.get(f"/api/v1/dossiers/{d['code']}").json()["history"]
    assert [h["to"] for h in history] == ["received", "processing"]
    assert json.loads(body)["delivery_id"] == payload["delivery_id"]
