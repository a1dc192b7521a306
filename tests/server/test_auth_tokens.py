"""Tokens on the real server process: expiry to the second, logout, revocation from the command line
taking effect on the running server at once (SQLite and PostgreSQL)."""

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from server.storage.catalog import demo_site_file
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow
PASSWORD = "canbo1-password"


def start_server(db_url, tmp_path, ttl_s: int) -> ServerProcess:
    proc = ServerProcess(db_url, workdir=tmp_path, extra_env={"MOTCUA_TOKEN_TTL_S": str(ttl_s)})
    proc.cli("db", "upgrade")
    proc.cli("site", "load", str(demo_site_file()))
    proc.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", PASSWORD)
    proc.kiosk = proc.cli("token", "issue", "--role", "kiosk", "--name", "kiosk-1")
    return proc.start()


@pytest.fixture
def server(db_url, tmp_path):
    proc = start_server(db_url, tmp_path, 3600)
    yield proc
    proc.stop()


@pytest.fixture
def short_server(db_url, tmp_path):
    """Sessions last 3 s."""
    proc = start_server(db_url, tmp_path, 3)
    yield proc
    proc.stop()


def login(server) -> dict:
    r = httpx.post(f"{server.base_url}/api/v1/auth/token", data={"username": "canbo1", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


def waiting_list(server, token):
    return httpx.get(f"{server.base_url}/api/v1/sites/demo/tickets", headers={"Authorization": f"Bearer {token}"})


def issue(server, token):
    return httpx.post(f"{server.base_url}/api/v1/sites/demo/tickets", headers={"Authorization": f"Bearer {token}"},
                      json={"service": "hotich", "idempotency_key": f"k-{time.monotonic_ns()}"})


def refused(r, code):
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == code
    return r.json()["error"]["message"]


def test_a_session_stops_working_at_its_expiry(short_server):
    server = short_server
    before = datetime.now(timezone.utc)
    session = login(server)
    after = datetime.now(timezone.utc)
    ttl = timedelta(seconds=session["expires_in"])
    token = session["access_token"]
    expires = datetime.fromisoformat(session["expires_at"])
    assert before + ttl <= expires <= after + ttl
    # requests up to the expiry keep working (and warm any cache there may be)...
    used = 0
    while (expires - datetime.now(timezone.utc)).total_seconds() > 0.4:
        assert waiting_list(server, token).status_code == 200
        used += 1
        time.sleep(0.1)
    assert used > 0
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.1)
    # ...and the first one after it is refused, saying why (a 30 s login cache used to let it through)
    message = refused(waiting_list(server, token), "token_expired")
    assert "expired" in message and "log in again" in message


def test_logout_revokes_the_presented_token_only(server):
    first, second = login(server)["access_token"], login(server)["access_token"]
    assert waiting_list(server, first).status_code == 200
    r = httpx.post(f"{server.base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 200 and r.json() == {"revoked": True, "subject": "canbo1"}
    assert "revoked" in refused(waiting_list(server, first), "token_revoked")
    assert waiting_list(server, second).status_code == 200  # another login of the same user lives on
    assert httpx.post(f"{server.base_url}/api/v1/auth/logout").status_code == 401


def test_revoking_a_stolen_kiosk_token_from_the_command_line_works_at_once(server):
    spare = server.cli("token", "issue", "--role", "kiosk", "--name", "kiosk-2")
    listed = server.cli("token", "list")
    assert server.kiosk not in listed and spare not in listed  # never the token itself
    rows = {line.split()[2]: line for line in listed.splitlines()[1:]}
    assert set(rows) == {"kiosk-1", "kiosk-2"}
    assert "kiosk" in rows["kiosk-1"] and "demo" in rows["kiosk-1"] and rows["kiosk-1"].endswith("never")

    for _ in range(5):  # the kiosk is busy: its token is hot on the server
        assert issue(server, server.kiosk).status_code == 201
    last_used = {line.split()[2]: line for line in server.cli("token", "list").splitlines()[1:]}["kiosk-1"]
    assert not last_used.rstrip().endswith("never")

    assert server.cli("token", "revoke", "--device", "kiosk-1") == "1 token revoked"
    message = refused(issue(server, server.kiosk), "token_revoked")  # the very next request
    assert "revoked" in message
    assert issue(server, spare).status_code == 201
    listed = server.cli("token", "list")
    assert "kiosk-1" not in listed and "kiosk-2" in listed

    kiosk2_id = next(line.split()[0] for line in listed.splitlines()[1:] if "kiosk-2" in line)
    assert server.cli("token", "revoke", kiosk2_id) == "1 token revoked"
    refused(issue(server, spare), "token_revoked")
    assert "no active tokens" in server.cli("token", "list")


def test_revoking_a_users_sessions_from_the_command_line(server):
    tokens = [login(server)["access_token"] for _ in range(2)]
    assert all(waiting_list(server, t).status_code == 200 for t in tokens)
    sessions = server.cli("token", "list", "--sessions")
    assert sessions.count("canbo1") == 2 and not any(t in sessions for t in tokens)
    assert server.cli("token", "revoke", "--user", "canbo1") == "2 tokens revoked"
    for token in tokens:
        refused(waiting_list(server, token), "token_revoked")
    assert waiting_list(server, login(server)["access_token"]).status_code == 200  # may log in again


def test_token_commands_refuse_bad_input_clearly(server, tmp_path):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "motcua", *args], env=server.env(), cwd=tmp_path,
                              capture_output=True, text=True)

    nothing = run("token", "revoke")
    assert nothing.returncode == 2 and "--device" in nothing.stderr
    unknown = run("token", "revoke", "--device", "no-such-kiosk")
    assert unknown.returncode == 1 and "no active token matched" in unknown.stderr
    bad = run("token", "issue", "--role", "kiosk", "--name", "k", "--counter", "1")
    assert bad.returncode == 2 and "--counter needs --role display" in bad.stderr
