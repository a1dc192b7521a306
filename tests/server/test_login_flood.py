"""Login throttling, lock-out and a flood of bogus logins, against the real server process with the
real argon2 cost (~64 MiB a hash). The server believes X-Forwarded-For from 127.0.0.1 here, so
each test client can play a different address (as clients behind the centre's proxy would)."""

import threading
import time
import uuid

import httpx
import pytest

from server.storage.catalog import demo_site_file
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow
PASSWORD = "canbo1-password"


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture
def server(tmp_path):
    proc = ServerProcess(f"sqlite:///{tmp_path / 'site.sqlite3'}", workdir=tmp_path,
                         extra_env={"MOTCUA_TRUSTED_PROXIES": "127.0.0.1", "MOTCUA_LOGIN_WAIT_S": "0.5"})
    proc.cli("db", "upgrade")
    proc.cli("site", "load", str(demo_site_file()))
    for name in ("canbo1", "canbo2"):
        proc.cli("user", "add", name, "--role", "official", "--site", "demo", "--password", PASSWORD)
    proc.kiosk = proc.cli("token", "issue", "--role", "kiosk", "--name", "kiosk-1")
    proc.start()
    yield proc
    proc.stop()


def attempt(client: httpx.Client, username: str, password: str, address: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password},
                       headers={"X-Forwarded-For": address})


def test_thirty_wrong_passwords_lock_the_account_with_a_clear_message(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        answers = [attempt(c, "canbo1", f"guess-{i}", "10.0.0.7") for i in range(30)]
        codes = [r.status_code for r in answers]
        assert codes[:4] == [401] * 4  # four wrong passwords are just wrong
        assert codes[4:] == [429] * 26  # the fifth locks the account; the rest never reach the hasher
        locked = answers[-1]
        assert locked.json()["error"]["code"] == "account_locked"
        assert "Tài khoản tạm thời bị khoá" in locked.json()["error"]["message"]
        assert int(locked.headers["Retry-After"]) > 60
        # the right password from another address does not open a locked account either
        right = attempt(c, "canbo1", PASSWORD, "10.0.0.8")
        assert right.status_code == 429 and right.json()["error"]["code"] == "account_locked"
        # other accounts are not affected
        assert attempt(c, "canbo2", PASSWORD, "10.0.0.8").status_code == 200


def test_one_address_spraying_many_accounts_is_throttled(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        answers = [attempt(c, f"user-{i}", "wrong-password", "10.0.0.9") for i in range(30)]
        codes = [r.status_code for r in answers]
        # ten wrong passwords a minute: the bucket refills one every 6 s, so a slow hasher may earn one more
        assert codes[:10] == [401] * 10 and set(codes[10:]) <= {401, 429}
        assert codes.count(429) >= 15 and codes[-1] == 429
        assert answers[-1].json()["error"]["code"] == "too_many_attempts"
        assert "Quá nhiều lần đăng nhập sai" in answers[-1].json()["error"]["message"]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        # another address (another official's PC) still logs in
        assert attempt(c, "canbo2", PASSWORD, "10.0.0.10").status_code == 200


def test_without_trusted_proxies_x_forwarded_for_does_not_dodge_the_throttle(tmp_path):
    proc = ServerProcess(f"sqlite:///{tmp_path / 'site.sqlite3'}", workdir=tmp_path)
    proc.cli("db", "upgrade")
    proc.start()
    try:
        with httpx.Client(base_url=proc.base_url, timeout=30) as c:
            codes = [attempt(c, f"user-{i}", "wrong-password", f"10.1.0.{i}").status_code for i in range(20)]
        # one address whatever the header says (the bucket refills one try every 6 s while argon2 works)
        assert codes[:10] == [401] * 10 and set(codes[10:]) <= {401, 429}
        assert codes.count(429) >= 6 and codes[-1] == 429
    finally:
        proc.stop()


def test_a_flood_of_bogus_logins_is_bounded_and_kiosks_keep_issuing(server):
    pid = server.process.pid
    with httpx.Client(base_url=server.base_url, timeout=30) as warm:  # one real login: the hasher's memory is used once
        assert attempt(warm, "canbo2", PASSWORD, "10.2.0.1").status_code == 200
    baseline = rss_mib(pid)
    stop = threading.Event()
    outcomes: list[int] = []
    refusals: list[dict] = []
    tickets: list[int] = []
    lock = threading.Lock()

    def attacker(i: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=60) as c:
            n = 0
            while not stop.is_set():
                n += 1  # a new account and address each time: no lock-out or address throttle helps
                r = attempt(c, f"bogus-{i}-{n}-{uuid.uuid4().hex[:6]}", "wrong-password", f"10.3.{i}.{n % 250}")
                with lock:
                    outcomes.append(r.status_code)
                    if r.status_code == 503 and "Retry-After" in r.headers:
                        refusals.append(r.json()["error"])

    def kiosk() -> None:
        with httpx.Client(base_url=server.base_url, timeout=60,
                          headers={"Authorization": f"Bearer {server.kiosk}"}) as c:
            while not stop.is_set():
                r = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": uuid.uuid4().hex})
                tickets.append(r.status_code)
                time.sleep(0.05)

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(32)] + [threading.Thread(target=kiosk)]
    for t in threads:
        t.start()
    peak = baseline
    try:
        while len(outcomes) < 150:
            peak = max(peak, rss_mib(pid))
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    peak = max(peak, rss_mib(pid, "VmHWM"))
    busy = refusals[0] if refusals else None
    # unbounded, 32 parallel argon2 checks took ~1.8 GB; two slots take ~2 × 64 MiB (+ the runtime's slack)
    assert peak - baseline < 500, f"RSS grew from {baseline:.0f} to {peak:.0f} MiB"
    assert set(outcomes) <= {401, 503} and outcomes.count(503) > 0 and outcomes.count(401) > 0
    assert busy is not None and busy["code"] == "login_busy" and "bận" in busy["message"]
    assert tickets and set(tickets) == {201}  # the kiosk was never refused while the flood ran
    with httpx.Client(base_url=server.base_url, timeout=30) as c:  # and the flood leaves nothing behind
        assert attempt(c, "canbo1", PASSWORD, "10.2.0.2").status_code == 200
