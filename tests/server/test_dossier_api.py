"""The dossier, tracking, rating and report endpoints on a live site (real app, loopback HTTP)."""

import io
import json

import httpx
import openpyxl
from PIL import Image
from pyzbar.pyzbar import decode

MARITAL = "1.004873"


def issue(site, key="api-ticket-0001", service="hotich"):
    with site.client("kiosk") as c:
        r = c.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": key})
        assert r.status_code == 201, r.text
        return r.json()


def intake(site, ticket_id=None, name="Lò Thị Mai", who="canbo1"):
    body = {"procedure_code": MARITAL, "applicant_name": name, "channel": "direct"}
    if ticket_id:
        body["ticket_id"] = ticket_id
    with site.client(who) as c:
        r = c.post("/api/v1/dossiers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_intake_status_and_the_slip_qr_leads_to_the_dossier(site):
    ticket = issue(site)
    d = intake(site, ticket["id"])
    assert set(d) >= {"code", "received_at", "due_at", "token", "track_url"}
    assert d["token"] == ticket["token"] and d["track_url"] == f"{site.base_url}/t/{ticket['token']}"
    with site.client("canbo2") as c:
        r = c.post(f"/api/v1/dossiers/{d['code']}/status", json={"status": "supplement_requested",
                                                                  "note": "Thiếu giấy khai sinh"})
        assert r.status_code == 200 and r.json()["history"][-1]["by"] == "canbo2"
        assert c.post(f"/api/v1/dossiers/{d['code']}/status", json={"status": "returned"}).json()["error"][
            "code"] == "invalid_transition"
        assert c.get(f"/api/v1/dossiers/{d['code']}").json()["status"] == "supplement_requested"
        png = c.get(f"/api/v1/dossiers/{d['code']}/slip.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    found = decode(Image.open(io.BytesIO(png.content)).convert("L"))
    assert [f.data.decode() for f in found] == [d["track_url"]]
    page = httpx.get(d["track_url"])
    assert page.status_code == 200 and d["code"] in page.text and "L** T** M**" in page.text
    assert "Lò Thị Mai" not in page.text and "Yêu cầu bổ sung giấy tờ" in page.text
    assert "Thiếu giấy khai sinh" not in page.text  # an internal note; the citizen gets the standard sentence
    assert "Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết." in page.text


def test_bad_input_gets_clear_errors_never_500(site):
    ticket = issue(site)
    with site.client("canbo1") as c:
        cases = [
            (c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "001203004567",
                                              "channel": "direct"}), 422, "invalid_request"),
            (c.post("/api/v1/dossiers", json={"procedure_code": "9.999999", "applicant_name": "A B",
                                              "channel": "direct"}), 404, "unknown_procedure"),
            (c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "A B",
                                              "ticket_id": 10**12, "channel": "direct"}), 422, "invalid_request"),
            (c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "A B",
                                              "ticket_id": 99999, "channel": "direct"}), 404, "unknown_ticket"),
            (c.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "A B",
                                              "channel": "fax"}), 422, "invalid_request"),
            (c.post("/api/v1/dossiers", content=b"{not json", headers={"content-type": "application/json"}),
             422, "invalid_request"),
            (c.get("/api/v1/dossiers/nope-000000-0000"), 404, "unknown_dossier"),
            (c.get("/api/v1/dossiers/%00%27;DROP"), 404, "unknown_dossier"),
            (c.post("/api/v1/tickets/1/rating", json={"rating": "meh"}), 422, "invalid_request"),
        ]
        d = intake(site, ticket["id"])
        cases += [
            (c.post(f"/api/v1/dossiers/{d['code']}/status", json={"status": "teleported"}), 422, "unknown_status"),
            (c.post(f"/api/v1/dossiers/{d['code']}/status", json={"status": "refused"}), 422, "note_required"),
            (c.post(f"/api/v1/dossiers/{d['code']}/apology", json={"new_date": "2026-02-30", "reason": "x"}),
             422, "invalid_request"),
            (c.post(f"/api/v1/dossiers/{d['code']}/apology", json={"new_date": "2099-01-05", "reason": "x"}),
             409, "apology_not_due"),
            (c.get("/api/v1/sites/demo/reports/dossiers"), 403, "forbidden"),
        ]
    with site.client("kiosk") as k:
        cases.append((k.post("/api/v1/dossiers", json={"procedure_code": MARITAL, "applicant_name": "A B"}),
                      403, "forbidden"))
    cases.append((httpx.post(f"{site.base_url}/api/v1/dossiers", json={}), 401, "unauthorized"))
    with site.client("giamdoc") as g:
        cases += [
            (g.get("/api/v1/sites/demo/reports/dossiers", params={"from": "2026-11-30", "to": "2026-11-01"}),
             422, "invalid_period"),
            (g.get("/api/v1/sites/demo/reports/tickets", params={"from": "yesterday"}), 422, "invalid_request"),
            (g.get("/api/v1/sites/nowhere/reports/dossiers"), 403, "wrong_site"),
            (g.get("/api/v1/reports/dossiers"), 403, "wrong_site"),
        ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.request.url


def test_unknown_tokens_all_look_the_same_and_lookups_are_rate_limited(site):
    pages = [httpx.get(f"{site.base_url}/t/{token}") for token in
             ("x", "A" * 22, "a-very-long-token-that-looks-plausible-00000", "%3Cscript%3E", "..%2F..%2Fetc")]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1 and "Không tìm thấy" in pages[0].text
    jsons = [httpx.get(f"{site.base_url}/api/v1/track/{t}") for t in ("x", "B" * 22)]
    assert {j.status_code for j in jsons} == {404} and jsons[0].json() == jsons[1].json()
    ticket = issue(site)
    site.app.state.track_limiter.rate = 1e-9  # refill off: a token earned mid-burst on a slow machine flaked it
    statuses = [httpx.get(f"{site.base_url}/api/v1/track/{ticket['token']}").status_code for _ in range(150)]
    assert statuses[0] == 200 and 429 in statuses
    assert statuses.index(429) >= 100  # the bucket holds a minute's worth (120) before refusing
    busy = httpx.get(f"{site.base_url}/t/{ticket['token']}")
    assert busy.status_code == 429 and "Vui lòng chờ" in busy.text and int(busy.headers["retry-after"]) >= 1
    limited = httpx.get(f"{site.base_url}/api/v1/track/{ticket['token']}")
    assert limited.json()["error"]["code"] == "rate_limited"


def test_tracking_json_and_the_event_stream_follow_the_queue(site):
    ticket = issue(site, "sse-ticket-1")
    mine = issue(site, "sse-ticket-2")
    state = httpx.get(f"{site.base_url}/api/v1/track/{mine['token']}").json()
    assert (state["kind"], state["number"], state["ahead"], state["now_serving"]) == ("ticket", "A002", 1, [])
    with site.client("canbo1") as c:
        c.post("/api/v1/sites/demo/counters/1/open")
        with httpx.stream("GET", f"{site.base_url}/api/v1/track/{mine['token']}/events", timeout=10) as stream:
            events = stream.iter_lines()
            first = next(line for line in events if line.startswith("data: "))
            assert json.loads(first[6:])["ahead"] == 1
            assert c.post("/api/v1/sites/demo/counters/1/call-next").json()["number"] == "A001"
            update = json.loads(next(line for line in events if line.startswith("data: "))[6:])
    assert update["ahead"] == 0 and update["now_serving"] == [
        {"counter": "Quầy 1", "ticket": "A001", "same_service": True}]
    assert ticket["number"] == "A001"


def test_rating_once_per_finished_ticket(site):
    ticket = issue(site, "rating-ticket-1")
    with site.client("canbo1") as c:
        c.post("/api/v1/sites/demo/counters/1/open")
        c.post("/api/v1/sites/demo/counters/1/call-next")
        with site.client("counter-1") as display:
            early = display.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"rating": "satisfied"})
            c.post(f"/api/v1/tickets/{ticket['id']}/start")
            c.post(f"/api/v1/tickets/{ticket['id']}/finish")
            d = intake(site, ticket["id"])
            first = display.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"rating": "very_satisfied"})
            second = display.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"rating": "not_satisfied"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "ticket_not_finished"
    assert first.status_code == 201 and first.json()["official"] == "canbo1" and first.json()["dossier_id"] == 1
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_rated"
    assert d["token"] == ticket["token"]


def test_reports_over_http_json_and_xlsx(site):
    ticket = issue(site, "report-ticket-1")
    intake(site, ticket["id"])
    intake(site, name="Quàng Văn Nam")
    with site.client("giamdoc") as g:
        report = g.get("/api/v1/sites/demo/reports/dossiers").json()
        xlsx = g.get("/api/v1/sites/demo/reports/dossiers", params={"format": "xlsx"})
        tickets_xlsx = g.get("/api/v1/sites/demo/reports/tickets", params={"format": "xlsx"})
    with site.client("admin") as a:
        province = a.get("/api/v1/reports/dossiers").json()
    assert report["figures"]["received_direct"] == 2 and report["figures"]["open_within"] == 2
    assert province["sites"][0]["figures"]["received"] == 2
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == "Trung tâm Phục vụ hành chính công xã Mường Phăng"
    assert next(r for r in rows if r[1] == "Tiếp nhận mới – trực tiếp")[2] == 2
    ticket_rows = list(openpyxl.load_workbook(io.BytesIO(tickets_xlsx.content)).active.iter_rows(values_only=True))
    assert ticket_rows[4][1:3] == ("Số phiếu đã cấp", 1)
    dashboard = httpx.get(f"{site.base_url}/dashboard/demo")
    assert dashboard.status_code == 200 and "dashboard.js" in dashboard.text
    assert httpx.get(f"{site.base_url}/dashboard/nowhere").status_code == 404


def test_a_retried_intake_returns_the_first_dossier(site):
    """A terminal that timed out sends the same key again: one dossier, the same code and token."""
    with site.client("kiosk") as kiosk, site.client("canbo1") as official:
        ticket = kiosk.post("/api/v1/sites/demo/tickets",
                            json={"service": "hotich", "idempotency_key": "intake-retry-ticket"}).json()
        body = {"ticket_id": ticket["id"], "procedure_code": "1.001193", "applicant_name": "Lò Thị Mai",
                "channel": "direct", "idempotency_key": "intake-retry-0001"}
        first = official.post("/api/v1/dossiers", json=body)
        again = official.post("/api/v1/dossiers", json=body)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["code"] == first.json()["code"] and again.json()["token"] == ticket["token"]
        other = official.post("/api/v1/dossiers", json={**body, "procedure_code": "1.000656"})
        assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_conflict")
        without_key = {k: v for k, v in body.items() if k != "idempotency_key"}
        second = official.post("/api/v1/dossiers", json=without_key)  # a second procedure, same visit
        assert second.status_code == 201 and second.json()["code"] != first.json()["code"]
