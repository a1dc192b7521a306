"""The HTTP API as kiosks and counter terminals use it: a live server on a loopback port."""

import uuid

import httpx
import pytest


def issue(client, service="hotich", **extra):
    return client.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": str(uuid.uuid4()), **extra})


def test_kiosk_menu_lists_services_with_procedures(site):
    with site.client() as c:
        menu = c.get("/api/v1/sites/demo/services").json()
    hotich = next(s for s in menu["services"] if s["id"] == "hotich")
    assert hotich["prefix"] == "A" and hotich["name_vi"] == "Hộ tịch"
    birth = next(p for p in hotich["procedures"] if p["code"] == "1.001193")
    assert (birth["name_vi"], birth["legal_days"], birth["fee_vnd"]) == ("Đăng ký khai sinh", 0, 0)


def test_ticket_issue_replay_and_official_flow(site):
    with site.client("kiosk") as kiosk, site.client("canbo1") as official:
        body = {"service": "hotich", "idempotency_key": "kiosk-1-flow-0001", "priority": "elderly"}
        first = kiosk.post("/api/v1/sites/demo/tickets", json=body)
        again = kiosk.post("/api/v1/sites/demo/tickets", json=body)
        assert first.status_code == 201 and again.status_code == 200
        assert first.json()["id"] == again.json()["id"] and first.json()["number"] == "A001"
        assert first.json()["track_url"] == f"{site.base_url}/t/{first.json()['token']}"
        second = issue(kiosk).json()
        assert second["ahead"] == 1  # behind the priority ticket

        assert official.post("/api/v1/sites/demo/counters/1/open").json()["status"] == "open"
        called = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        assert (called["number"], called["status"], called["counter"]) == ("A001", "called", "1")
        tid = called["id"]
        assert official.post(f"/api/v1/tickets/{tid}/recall").json()["recall_count"] == 1
        assert official.post(f"/api/v1/tickets/{tid}/start").json()["status"] == "serving"
        # call-next while serving finishes the current one
        nxt = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        assert nxt["number"] == "A002"
        assert official.get(f"/api/v1/tickets/{tid}").json()["status"] == "done"
        waiting = official.get("/api/v1/sites/demo/tickets").json()["tickets"]
        assert waiting == []
        counters = official.get("/api/v1/sites/demo/counters").json()["counters"]
        assert next(c for c in counters if c["counter"] == "1")["ticket"] == "A002"


def test_call_a_chosen_ticket_park_resume_transfer(site):
    with site.client("kiosk") as kiosk, site.client("canbo3") as official:
        a = issue(kiosk, "cutru").json()
        b = issue(kiosk, "cutru").json()
        official.post("/api/v1/sites/demo/counters/3/open")
        chosen = official.post("/api/v1/sites/demo/counters/3/call", json={"ticket": b["number"]}).json()
        assert chosen["id"] == b["id"]
        assert official.post(f"/api/v1/tickets/{b['id']}/park").json()["status"] == "parked"
        listed = {t["number"]: t["status"] for t in official.get("/api/v1/sites/demo/tickets").json()["tickets"]}
        assert listed == {a["number"]: "waiting", b["number"]: "parked"}
        assert official.post(f"/api/v1/tickets/{b['id']}/resume").json()["status"] == "waiting"
        # the parked citizen goes back to the same counter, ahead of others
        assert official.post("/api/v1/sites/demo/counters/3/call-next").json()["id"] == b["id"]
        moved = official.post(f"/api/v1/tickets/{b['id']}/transfer", json={"service": "hotich"}).json()
        assert (moved["service"], moved["number"], moved["status"]) == ("hotich", b["number"], "waiting")


@pytest.mark.parametrize("method,path,body,status,code", [
    ("post", "/api/v1/sites/nowhere/tickets", {"service": "hotich", "idempotency_key": "k-12345678"}, 404, "unknown_site"),
    ("post", "/api/v1/sites/demo/tickets", {"service": "nosuch", "idempotency_key": "k-12345678"}, 404, "unknown_service"),
    ("post", "/api/v1/sites/demo/counters/99/open", None, 404, "unknown_counter"),
    ("post", "/api/v1/tickets/999999/start", None, 404, "unknown_ticket"),
    ("get", "/api/v1/sites/nowhere/services", None, 404, "unknown_site"),
    ("get", "/api/v1/sites/nowhere/queues", None, 404, "unknown_site"),
    ("post", "/api/v1/sites/demo/tickets", {"service": "hotich"}, 422, "invalid_request"),
    ("post", "/api/v1/sites/demo/tickets", {"service": "hotich", "idempotency_key": "k-12345678", "priority": "vip"}, 422, "invalid_request"),
    ("post", "/api/v1/sites/demo/tickets", {"service": "hotich", "idempotency_key": "k-12345678", "citizen": {"id_hash": "011095001234"}}, 422, "invalid_request"),
    ("post", "/api/v1/sites/demo/tickets", {"service": "a/b", "idempotency_key": "k-12345678"}, 422, "invalid_request"),
    ("post", "/api/v1/sites/demo/counters/1/pause", {}, 422, "invalid_request"),
    ("post", "/api/v1/tickets/abc/start", None, 422, "invalid_request"),
    ("post", "/api/v1/tickets/1/fly", None, 422, "invalid_request"),
])
def test_bad_input_gets_a_coded_error_never_500(site, method, path, body, status, code):
    with site.client("admin") as c:
        r = c.request(method.upper(), path, json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert r.json()["error"]["message"]


def test_malformed_json_and_wrong_types(site):
    with site.client("kiosk") as c:
        r = c.post("/api/v1/sites/demo/tickets", content=b"{not json", headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
        r = c.post("/api/v1/sites/demo/tickets", json=["a", "list"])
        assert r.status_code == 422
        r = c.post("/api/v1/sites/demo/tickets", json={"service": 5, "idempotency_key": None})
        assert r.status_code == 422


def test_impossible_transitions_are_409_with_codes(site):
    with site.client("kiosk") as kiosk, site.client("canbo2") as official:
        t = issue(kiosk, "chungthuc").json()
        r = official.post(f"/api/v1/tickets/{t['id']}/finish")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
        r = official.post("/api/v1/sites/demo/counters/2/call-next")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "counter_not_open")
        official.post("/api/v1/sites/demo/counters/2/open")
        r = official.post("/api/v1/sites/demo/counters/2/pause", json={"reason": "Nghỉ trưa"})
        assert r.json()["status"] == "paused" and r.json()["pause_reason"] == "Nghỉ trưa"
        r = official.post("/api/v1/sites/demo/counters/2/call-next")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "counter_not_open")
        official.post("/api/v1/sites/demo/counters/2/open")
        official.post("/api/v1/sites/demo/counters/2/call-next")
        r = official.post(f"/api/v1/tickets/{t['id']}/finish")  # finish before start
        assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
        r = official.post("/api/v1/sites/demo/counters/2/call-next")  # last call not answered
        assert (r.status_code, r.json()["error"]["code"]) == (409, "counter_busy")
        official.post(f"/api/v1/tickets/{t['id']}/start")
        official.post(f"/api/v1/tickets/{t['id']}/finish")
        r = official.post("/api/v1/sites/demo/counters/2/call-next")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "queue_empty")
        kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "reuse-key-1"})
        r = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "cutru", "idempotency_key": "reuse-key-1"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "idempotency_conflict")


def test_auth_tokens_and_roles(site):
    with site.client() as anon:
        r = anon.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "k-12345678"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
        r = anon.post("/api/v1/sites/demo/counters/1/call-next", headers={"Authorization": "Bearer forged"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")
        r = anon.post("/api/v1/auth/token", data={"username": "canbo1", "password": "wrong-password"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "bad_credentials")
        r = anon.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
        assert r.status_code == 401
        r = anon.post("/api/v1/auth/token", data={})
        assert r.status_code == 422
    with site.client("kiosk") as kiosk:
        r = kiosk.post("/api/v1/sites/demo/counters/1/call-next")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    with site.client("display") as display:
        r = issue(display)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    with site.client("canbo1") as official:
        assert issue(official).status_code == 201  # an official may issue at the counter
        r = official.post("/api/v1/sites/other/counters/1/open")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_site")


def test_openapi_lists_the_contract(site):
    paths = httpx.get(f"{site.base_url}/openapi.json").json()["paths"]
    for path in ["/api/v1/auth/token", "/api/v1/sites/{site}/services", "/api/v1/sites/{site}/tickets",
                 "/api/v1/sites/{site}/queues", "/api/v1/sites/{site}/counters/{counter}/call-next",
                 "/api/v1/sites/{site}/counters/{counter}/call", "/api/v1/tickets/{ticket_id}/{action}"]:
        assert path in paths
