"""Issue 9 item 5, driven as an attacker would: rating other people's tickets, dodging the tracking
rate limit with X-Forwarded-For, framing/sniffing the pages, and a guessable secret key."""

import subprocess
import sys
import uuid

import httpx
import pytest

from server.config import ConfigError, Settings
from tests.support.processes import ServerProcess


# ---- ratings ------------------------------------------------------------------------------------
def served(site, counter: str, official: str) -> dict:
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich",
                                                                "idempotency_key": uuid.uuid4().hex}).json()
    with site.client(official) as c:
        c.post(f"/api/v1/sites/demo/counters/{counter}/open")
        assert c.post(f"/api/v1/sites/demo/counters/{counter}/call", json={"ticket": ticket["number"]}).status_code == 200
        c.post(f"/api/v1/tickets/{ticket['id']}/start").raise_for_status()
        c.post(f"/api/v1/tickets/{ticket['id']}/finish").raise_for_status()
    return ticket


def test_a_kiosk_token_cannot_rate_tickets_by_scanning_ids(site):
    tickets = [served(site, "1", "canbo1") for _ in range(3)]
    with site.client("kiosk") as kiosk:
        answers = [kiosk.post(f"/api/v1/tickets/{i}/rating", json={"rating": "not_satisfied"})
                   for i in range(1, tickets[-1]["id"] + 1)]
    assert {r.status_code for r in answers} == {403}
    assert answers[0].json()["error"]["code"] == "rating_not_allowed"
    with site.client("giamdoc") as manager:
        assert manager.get("/api/v1/sites/demo/reports/tickets").json()["ratings"]["total"] == 0


def test_only_the_serving_counters_display_or_the_tickets_own_token_may_rate(site):
    at_1, at_2, at_2b = served(site, "1", "canbo1"), served(site, "2", "canbo2"), served(site, "2", "canbo2")
    anonymous = httpx.Client(base_url=site.base_url, timeout=10)
    with site.client("counter-1") as screen_1, site.client("display") as hall, site.client("canbo1") as official:
        # counter 1's screen: its own ticket yes, counter 2's no; the hall display and officials no
        assert screen_1.post(f"/api/v1/tickets/{at_2['id']}/rating", json={"rating": "satisfied"}).status_code == 403
        assert hall.post(f"/api/v1/tickets/{at_1['id']}/rating", json={"rating": "satisfied"}).status_code == 403
        assert official.post(f"/api/v1/tickets/{at_1['id']}/rating",
                             json={"rating": "very_satisfied"}).status_code == 403
        mine = screen_1.post(f"/api/v1/tickets/{at_1['id']}/rating", json={"rating": "satisfied"})
        assert mine.status_code == 201 and mine.json()["actor"] == "counter-1"
    # the citizen's phone, with the token from the ticket's QR: no device token needed
    wrong = anonymous.post(f"/api/v1/tickets/{at_2['id']}/rating",
                           json={"rating": "satisfied", "ticket_token": at_2b["token"]})
    assert wrong.status_code == 403
    nothing = anonymous.post(f"/api/v1/tickets/{at_2['id']}/rating", json={"rating": "satisfied"})
    assert nothing.status_code == 401
    phone = anonymous.post(f"/api/v1/tickets/{at_2['id']}/rating",
                           json={"rating": "very_satisfied", "ticket_token": at_2["token"]})
    assert phone.status_code == 201 and phone.json()["actor"] == "citizen"
    anonymous.close()
    with site.client("giamdoc") as manager:
        ratings = manager.get("/api/v1/sites/demo/reports/tickets").json()["ratings"]
    assert ratings["total"] == 2 and ratings["by_official"] == {
        "canbo1": {"very_satisfied": 0, "satisfied": 1, "not_satisfied": 0},
        "canbo2": {"very_satisfied": 1, "satisfied": 0, "not_satisfied": 0}}


# ---- X-Forwarded-For ----------------------------------------------------------------------------
def track_burst(proc: ServerProcess, forwarded_for) -> list[int]:
    with httpx.Client(base_url=proc.base_url, timeout=10) as c:
        return [c.get("/api/v1/track/not-a-token", headers={"X-Forwarded-For": forwarded_for(i)}).status_code
                for i in range(12)]


@pytest.mark.slow
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path):
    env = {"MOTCUA_RATE_LIMIT_PER_MINUTE": "5"}
    plain = ServerProcess(f"sqlite:///{tmp_path / 'a.sqlite3'}", workdir=tmp_path, extra_env=env).start()
    try:  # anyone may send the header: a new made-up address each time must not earn new look-ups
        codes = track_burst(plain, lambda i: f"203.0.113.{i}")
        assert codes[:5] == [404] * 5 and codes.count(429) >= 6
    finally:
        plain.stop()
    behind_proxy = ServerProcess(f"sqlite:///{tmp_path / 'b.sqlite3'}", workdir=tmp_path,
                                 extra_env={**env, "MOTCUA_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}).start()
    try:  # behind the centre's nginx: each phone is its own client, and one phone is still limited
        assert track_burst(behind_proxy, lambda i: f"198.51.100.{i}") == [404] * 12
        same = track_burst(behind_proxy, lambda i: f"203.0.113.{i}, 198.51.100.99, 10.0.0.5")
        assert same[:5] == [404] * 5 and same.count(429) >= 6  # rightmost untrusted hop: 198.51.100.99
    finally:
        behind_proxy.stop()


# ---- headers ------------------------------------------------------------------------------------
def test_every_answer_carries_the_security_headers(site):
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": uuid.uuid4().hex}).json()
    with httpx.Client(base_url=site.base_url, timeout=10) as c:
        answers = {
            "page": c.get(f"/t/{ticket['token']}"), "unknown page": c.get("/t/nope"),
            "dashboard": c.get("/dashboard/demo"), "json": c.get(f"/api/v1/track/{ticket['token']}"),
            "static js": c.get("/static/track.js"), "static css": c.get("/static/track.css"),
            "401": c.post("/api/v1/sites/demo/tickets", json={}), "422": c.post("/api/v1/auth/token", data={}),
            "health": c.get("/api/v1/health"),
        }
    nonces = set()
    for name, r in answers.items():
        assert r.status_code < 500, name
        assert r.headers.get("x-frame-options") == "DENY", name
        assert r.headers.get("x-content-type-options") == "nosniff", name
        assert r.headers.get("referrer-policy") == "no-referrer", name
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, name
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, name
        nonces.add(csp.split("'nonce-")[1].split("'")[0])
    assert len(nonces) == len(answers)  # a fresh nonce per answer
    page = answers["page"]
    nonce = page.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text  # the page's one inline script carries it


# ---- secret key ---------------------------------------------------------------------------------
# A database URL is given so that only the key decides (outside the demo an unset URL is refused too).
_DB = "sqlite:////var/lib/motcua/motcua.sqlite3"


@pytest.mark.parametrize("key", ["aaaaaaaaaaaaaaaa", "abcdefghijklmnopqrstuvwxyz", "1234567890123456",
                                 "abababababababababababab", "Passw0rd"])
def test_a_guessable_secret_key_is_refused_outside_the_demo(key):
    with pytest.raises(ConfigError) as err:
        Settings(secret_key=key, demo=False, database_url=_DB).check()
    assert "secrets.token_urlsafe(32)" in str(err.value) and "\n" not in str(err.value)


def test_a_random_secret_key_passes():
    import secrets

    for _ in range(20):
        for key in (secrets.token_urlsafe(32), secrets.token_hex(16)):
            assert Settings(secret_key=key, demo=False, database_url=_DB).check().secret_key == key


def test_the_server_refuses_to_start_with_a_guessable_key(tmp_path):
    env = ServerProcess(f"sqlite:///{tmp_path / 's.sqlite3'}", workdir=tmp_path).env()
    env["MOTCUA_SECRET_KEY"] = "aaaaaaaaaaaaaaaa"
    try:
        out = subprocess.run([sys.executable, "-m", "motcua", "server", "--port", "1"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started with MOTCUA_SECRET_KEY=aaaaaaaaaaaaaaaa")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "MOTCUA_SECRET_KEY" in lines[0] and "token_urlsafe" in lines[0]
