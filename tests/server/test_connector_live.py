"""The connector runs by itself in the server: received dossiers go out, changes made there come in."""

import time

import pytest

from tests.support.live import LiveSite


@pytest.fixture
def connected_site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"connector": "sim", "connector_interval_s": 0.1})
    live.start()
    yield live
    live.stop()


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_dossiers_sync_both_ways_in_the_background(connected_site):
    system = connected_site.app.state.connector.system
    with connected_site.client("canbo1") as official:
        r = official.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Lò Thị Mai",
                                                    "channel": "direct"})
        assert r.status_code == 201
        code = r.json()["code"]
        wait_until(lambda: any(e["code"] == code and e["status"] == "received" for e in system.received))
        system.change(code, "processing", note="chuyển phòng Tư pháp")
        wait_until(lambda: official.get(f"/api/v1/dossiers/{code}").json()["status"] == "processing")
    pushed = [e for e in system.received if e["code"] == code]
    assert [e["status"] for e in pushed] == ["received"]  # the change that came from there is not echoed back


def test_unknown_connector_is_refused_with_a_clear_message():
    from server.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="not a known one-stop connector"):
        Settings(demo=True, connector="egov-x").check()
