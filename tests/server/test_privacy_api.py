"""The privacy rule on a live server: what a citizen's token and an anonymous client can read,
and what a kiosk may send about a person (issue 9, item 4)."""

import hashlib
import json

import httpx
import pytest
from sqlalchemy import create_engine, text

from devices import cccd
from tests.support.leaks import digits_only, id_runs, name_leaks

MARITAL = "1.004873"
NAME = "Nguyễn Văn An"
CCCD = "001099012345"
INTERNAL = "thiếu bản sao CCCD 001099012345 của Nguyễn Văn An, gọi 0912345678"
PUBLIC_NOTES = [
    "Ông NGUYEN VAN AN (CCCD 001.099.012.345) bổ sung bản sao",
    "Liên hệ anh An, ĐT +84 912 345 678",
    "NguyễnVănAn: số ٠٠١٠٩٩٠١٢٣٤٥",
    "Mời bổ sung 2 bản sao giấy khai sinh trước 12/05/2026",
]


def dossier_with_notes(site, name=NAME):
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "priv-0001"})
    with site.client("canbo1") as c:
        d = c.post("/api/v1/dossiers", json={"ticket_id": ticket.json()["id"], "procedure_code": MARITAL,
                                             "applicant_name": name, "channel": "direct"}).json()
        steps = [("supplement_requested", INTERNAL, PUBLIC_NOTES[0]), ("processing", INTERNAL, PUBLIC_NOTES[1]),
                 ("supplement_requested", INTERNAL, PUBLIC_NOTES[2]), ("processing", None, PUBLIC_NOTES[3]),
                 ("paused", INTERNAL, None)]
        for status, note, public in steps:
            body = {"status": status, "note": note}
            if status == "supplement_requested":
                body["reason"] = "Giấy tờ bổ sung lần trước chưa đủ"  # needed by the second request
            if public is not None:
                body["public_note"] = public
            r = c.post(f"/api/v1/dossiers/{d['code']}/status", json=body)
            assert r.status_code == 200, r.text
        official_view = c.get(f"/api/v1/dossiers/{d['code']}").json()
    return d, official_view


def assert_nothing_personal(body: str, shown: list[str]):
    assert CCCD not in digits_only(body)
    assert "0912345678" not in digits_only(body) and "84912345678" not in digits_only(body)
    assert "001099012345" not in body and "Nguyễn Văn An" not in body and "nguyen van an" not in body.lower()
    for piece in shown:
        assert id_runs(piece) == [] and name_leaks(piece, NAME) == [], piece


def test_tracking_json_html_and_stream_show_only_masked_public_notes(site):
    d, official_view = dossier_with_notes(site)
    # officials still see both notes, as typed
    assert [h["note"] for h in official_view["history"]][1:] == [INTERNAL, INTERNAL, INTERNAL, None, INTERNAL]
    assert [h["public_note"] for h in official_view["history"]][1:] == [*PUBLIC_NOTES, None]

    with httpx.Client(base_url=site.base_url) as anonymous:
        state = anonymous.get(f"/api/v1/track/{d['token']}").json()
        page = anonymous.get(f"/t/{d['token']}").text
        page_en = anonymous.get(f"/t/{d['token']}?lang=en").text
        with anonymous.stream("GET", f"/api/v1/track/{d['token']}/events") as stream:
            first = next(line for line in stream.iter_lines() if line.startswith("data:"))
    notes = [e["note"] for e in state["timeline"]]
    assert notes == [
        "Hồ sơ đã được tiếp nhận tại Bộ phận Một cửa.",
        "Ông N** V** A** (CCCD ***) bổ sung bản sao",
        "Liên hệ anh A**, ĐT +***",
        "N** V** A**: số ***",
        "Mời bổ sung 2 bản sao giấy khai sinh trước 12/05/2026",
        "Hồ sơ tạm dừng xử lý. Vui lòng liên hệ Bộ phận Một cửa để biết lý do.",
    ]
    assert state["timeline"][-1]["note_en"] == "Processing is stopped. Please ask the one-stop desk why."
    assert [e["note_by_official"] for e in state["timeline"]] == [False, True, True, True, True, False]
    assert state["applicant"] == "N** V** A**"
    for body in (json.dumps(state, ensure_ascii=False), page, page_en, first):
        assert "gọi" not in body and "thiếu bản sao" not in body  # the internal note, in no form
        assert_nothing_personal(body, notes + [state["applicant"]])
    assert "Processing is stopped. Please ask the one-stop desk why." in page_en


def test_a_note_from_before_the_split_counts_as_internal(site):
    """Rows written before revision 0007 have only ``note``: the page shows the standard sentence."""
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": "priv-0002"})
    with site.client("canbo1") as c:
        d = c.post("/api/v1/dossiers", json={"ticket_id": ticket.json()["id"], "procedure_code": MARITAL,
                                             "applicant_name": NAME, "channel": "direct"}).json()
        c.post(f"/api/v1/dossiers/{d['code']}/status", json={"status": "supplement_requested", "note": INTERNAL})
    state = httpx.get(f"{site.base_url}/api/v1/track/{d['token']}").json()
    assert state["timeline"][-1]["note"] == \
        "Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết."
    assert CCCD not in json.dumps(state)


def test_public_counter_list_masks_a_pause_reason(site):
    with site.client("canbo1") as c:
        c.post("/api/v1/sites/demo/counters/1/open")
        c.post("/api/v1/sites/demo/counters/1/pause", json={"reason": "Gặp công dân CCCD 001 099 012 345"})
    counters = httpx.get(f"{site.base_url}/api/v1/sites/demo/counters").json()["counters"]
    reason = next(c["pause_reason"] for c in counters if c["counter"] == "1")
    assert reason == "Gặp công dân CCCD ***"


# -- what a kiosk may send --------------------------------------------------------------------

def kiosk_key(site) -> bytes:
    with site.client("kiosk") as kiosk:
        r = kiosk.get("/api/v1/kiosk/id-key")
    assert r.status_code == 200
    assert r.json()["key_id"] == cccd.id_key_id(r.json()["key"].encode())
    return r.json()["key"].encode()


def stored(site, ticket_id):
    engine = create_engine(site.settings.database_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT citizen_hash, citizen_name FROM tickets WHERE id = :i"),
                                      {"i": ticket_id}).one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("citizen,code,says", [
    ({"name_masked": "Nguyễn Văn An"}, "invalid_request", "masked"),
    ({"name_masked": "N** Văn A**"}, "invalid_request", "masked"),
    ({"id_hash": CCCD}, "invalid_request", "raw ID"),
    ({"id_hash": hashlib.sha256(CCCD.encode()).hexdigest()}, "invalid_request", "plain SHA-256"),
    ({"id_hash": cccd.id_hash(CCCD, b"some-other-key")}, "invalid_id_hash", "another key"),
])
def test_kiosk_cannot_send_an_unmasked_name_or_an_unkeyed_hash(site, citizen, code, says):
    with site.client("kiosk") as kiosk:
        r = kiosk.post("/api/v1/sites/demo/tickets",
                       json={"service": "hotich", "idempotency_key": "priv-kiosk-1", "citizen": citizen})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code and says in r.json()["error"]["message"]
    with site.client("canbo1") as c:
        assert c.get("/api/v1/sites/demo/tickets").json()["tickets"] == []  # nothing was issued


def test_kiosk_hash_with_the_site_key_is_kept_as_its_digest_only(site):
    key = kiosk_key(site)
    sent = cccd.id_hash(CCCD, key)
    with site.client("kiosk") as kiosk:
        r = kiosk.post("/api/v1/sites/demo/tickets", json={
            "service": "hotich", "idempotency_key": "priv-kiosk-2",
            "citizen": {"id_hash": sent, "name_masked": cccd.mask_name(NAME)}})
    assert r.status_code == 201, r.text
    digest, name = stored(site, r.json()["id"])
    assert (digest, name) == (sent.split(".")[2], "N** V** A**")
    assert CCCD not in digest


def test_only_a_kiosk_gets_the_id_key(site):
    for who in (None, "display", "canbo1"):
        with site.client(who) as c:
            assert c.get("/api/v1/kiosk/id-key").status_code in (401, 403)


def test_notes_written_before_revision_0007_become_internal(db_url):
    """A database at 0004 with a note a citizen used to see: after the upgrade officials still read
    it, the tracking answer shows the status's standard sentence instead."""
    from datetime import datetime, timezone

    from server.storage import catalog, migrate
    from server.storage.db import Database
    from server.storage.dossier_store import DossierStore
    from server.storage.queue_store import QueueStore
    from server.storage.tracking import TrackingStore

    db = Database(db_url, sqlite_synchronous="NORMAL").open()
    try:
        migrate.upgrade(db, "0004")
        catalog.load_site(db, catalog.demo_site_file())
        now = datetime.now(timezone.utc)
        with db.write() as conn:
            conn.execute(text(
                "INSERT INTO dossiers (site, code, procedure_code, legal_days, channel, status, token, "
                "applicant_name, filed_on, received_on, due_date, received_at, created_at, updated_at) VALUES ('demo', "
                "'H1-260101-0001', :proc, 5, 'direct', 'supplement_requested', 'old-token-0123456789', :name, :day, "
                ":day, :day, :now, :now, :now)"),
                {"proc": MARITAL, "name": NAME, "day": now.date(), "now": now.replace(tzinfo=None)})
            dossier_id = conn.execute(text("SELECT id FROM dossiers")).scalar_one()
            for to_status, note in (("received", None), ("supplement_requested", INTERNAL)):
                conn.execute(text("INSERT INTO dossier_events (dossier_id, at, to_status, actor, note) "
                                  "VALUES (:d, :at, :s, 'canbo1', :n)"),
                             {"d": dossier_id, "at": now.replace(tzinfo=None), "s": to_status, "n": note})
        migrate.upgrade(db)
        dossiers = DossierStore(db, public_url="http://t")
        history = dossiers.get("H1-260101-0001")["history"]
        assert [(h["note"], h["public_note"]) for h in history] == [(None, None), (INTERNAL, None)]
        state = TrackingStore(QueueStore(db, public_url="http://t"), dossiers).lookup("old-token-0123456789")
        assert [e["note"] for e in state["timeline"]] == [
            "Hồ sơ đã được tiếp nhận tại Bộ phận Một cửa.",
            "Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết."]
        assert CCCD not in json.dumps(state) and state["applicant"] == "N** V** A**"
    finally:
        db.close()
