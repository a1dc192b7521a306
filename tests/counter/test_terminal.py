"""The official's terminal view-model against a real server: every action, and the refused ones
shown as the plain Vietnamese sentence for the server's error code."""

from __future__ import annotations

import uuid

import pytest

from counter.client import CounterClient, ServerError
from counter.messages import ERRORS_VI, error_sentence
from counter.terminal import TerminalModel
from tests.support.live import PASSWORD


def issue(site, service: str, priority: str | None = None) -> dict:
    body = {"service": service, "idempotency_key": uuid.uuid4().hex}
    if priority:
        body["priority"] = priority
    with site.client("kiosk") as http:
        r = http.post("/api/v1/sites/demo/tickets", json=body)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def terminal(site):
    model = TerminalModel(CounterClient(site.base_url, "demo", "1"))
    notified = []
    model.listen(lambda: notified.append(model.message))
    yield model
    model.client.close()


def refused(model: TerminalModel, code: str) -> None:
    assert model.error_code == code
    assert model.message_is_error
    assert model.message == ERRORS_VI[code]


def test_every_error_code_reads_as_a_sentence():
    for code in ("counter_not_open", "counter_busy", "queue_empty", "invalid_transition", "service_not_served"):
        assert error_sentence(code) == ERRORS_VI[code] and code not in ERRORS_VI[code]
    assert "some_new_code" in error_sentence("some_new_code")  # never blank, names what it is


def test_login_refused_then_accepted(terminal):
    assert not terminal.call_next()
    refused(terminal, "not_logged_in")
    assert not terminal.login("canbo1", "wrong-password")
    refused(terminal, "bad_credentials")
    assert not terminal.logged_in
    assert terminal.login("canbo1", PASSWORD)
    assert terminal.logged_in and not terminal.message_is_error
    assert terminal.counter_label == "Quầy 1" and terminal.counter_status == "closed"
    assert terminal.services == ["hotich", "chungthuc"]
    assert terminal.service_names["hotich"] == "Hộ tịch"


def test_a_day_at_the_counter(site, terminal):
    assert terminal.login("canbo1", PASSWORD)
    assert not terminal.call_next()
    refused(terminal, "counter_not_open")
    assert terminal.open() and terminal.counter_status == "open" and terminal.message == "Quầy đã mở."
    assert not terminal.call_next()
    refused(terminal, "queue_empty")

    a1, a2 = issue(site, "hotich"), issue(site, "hotich")
    b1 = issue(site, "chungthuc", priority="elderly")
    issue(site, "cutru")  # counter 1 does not serve it: not in its list
    assert terminal.refresh()
    rows = {r.number: r for r in terminal.waiting}
    assert set(rows) == {"A001", "A002", "B001"}
    assert rows["B001"].priority == "Người cao tuổi" and rows["B001"].service_name == "Chứng thực"
    assert rows["A001"].waited_text.endswith("phút")
    assert not hasattr(rows["A001"], "name")  # numbers, services, priority, time — no names

    # F1 calls next; finishing before starting is refused, and the state stays as it was
    assert terminal.key("f1")
    assert terminal.current["number"] == a1["number"] and terminal.message == "Đã gọi số A001."
    assert not terminal.finish()
    refused(terminal, "invalid_transition")
    assert terminal.current["number"] == "A001" and terminal.current["status"] == "called"
    assert not terminal.call_next()
    assert terminal.error_code == "counter_busy" and terminal.message_is_error
    assert terminal.message == "Số A001 đang ở quầy này. " + ERRORS_VI["counter_busy"]

    assert terminal.key("f2") and terminal.message == "Đã gọi lại số A001."
    assert terminal.current["recall_count"] == 1
    assert terminal.key("f3") and terminal.current["status"] == "serving"
    assert terminal.key("f4") and terminal.current is None and terminal.message == "Đã xong số A001."
    assert not terminal.finish()
    refused(terminal, "no_ticket")

    assert terminal.call_next() and terminal.current["number"] == a2["number"]
    assert terminal.key("f5") and terminal.current is None and terminal.message == "Số A002 vắng mặt."

    # pausing needs a reason; while paused nobody can be called
    assert not terminal.pause("   ")
    refused(terminal, "reason_required")
    assert terminal.pause("Họp giao ban") and terminal.status_text == "Tạm dừng: Họp giao ban"
    assert not terminal.call_next()
    refused(terminal, "counter_not_open")
    assert terminal.open()

    # a chosen ticket from the waiting list, parked, back, called again, then transferred
    assert not terminal.call_selected()
    refused(terminal, "no_selection")
    terminal.select("B001")
    assert terminal.key("f7") and terminal.current["number"] == b1["number"]
    assert terminal.start() and terminal.key("f6")
    assert terminal.current is None and terminal.message == "Đã tạm gác số B001."
    parked = {r.number: r for r in terminal.waiting}["B001"]
    assert parked.status == "parked" and parked.for_me
    assert not terminal.call_ticket("B001")
    refused(terminal, "invalid_transition")  # a parked citizen must be back first
    terminal.select("B001")
    assert terminal.key("f8") and terminal.message == "Số B001 đã quay lại hàng chờ."
    assert terminal.call_ticket("b001") and terminal.current["number"] == "B001"
    assert not terminal.close()
    refused(terminal, "counter_busy")
    assert terminal.transfer(service="cutru")
    assert terminal.current is None and terminal.message == "Đã chuyển số B001."
    assert "B001" not in {r.number for r in terminal.waiting}  # now in a queue counter 1 does not serve

    # another service's ticket cannot be called here; one transferred to this counter can
    c1 = issue(site, "cutru")
    with site.client("canbo3") as http:
        assert http.post("/api/v1/sites/demo/counters/3/open").status_code == 200
    assert not terminal.call_ticket(c1["number"])
    refused(terminal, "service_not_served")
    assert not terminal.call_ticket("Z999")
    refused(terminal, "unknown_ticket")
    with site.client("canbo3") as http:
        http.post(f"/api/v1/tickets/{c1['id']}/transfer", json={"counter": "1"}).raise_for_status()
    assert terminal.refresh()
    assert {r.number: r for r in terminal.waiting}[c1["number"]].for_me
    assert terminal.call_next() and terminal.current["number"] == c1["number"]  # its own come first
    assert terminal.start() and terminal.transfer(counter="3")

    assert terminal.counts == {"called": 5, "served": 1, "no_show": 1, "parked": 1, "transferred": 2}
    assert terminal.close() and terminal.counter_status == "closed"
    assert terminal.key("f12") is None
    terminal.logout()
    assert not terminal.logged_in


def test_server_unreachable_is_said_plainly():
    with CounterClient("http://127.0.0.1:9", "demo", "1", timeout=2) as client:
        model = TerminalModel(client)
        assert not model.login("canbo1", PASSWORD)
        refused(model, "offline")
        with pytest.raises(ServerError) as err:
            client.counters()
        assert err.value.retry


def test_a_call_whose_answer_was_lost_is_taken_up_from_the_counter_busy_answer(site, terminal):
    """The server called A001 but the terminal never heard back (crash, cable): pressing call-next
    again is refused, and the refusal names A001, so the official carries on with it."""
    assert terminal.login("canbo1", PASSWORD) and terminal.open()
    a1, _ = issue(site, "hotich"), issue(site, "hotich")
    with site.client("canbo1") as http:  # the call the terminal lost the answer to
        assert http.post("/api/v1/sites/demo/counters/1/call-next").json()["id"] == a1["id"]
    assert terminal.current is None
    assert not terminal.call_next()
    assert terminal.error_code == "counter_busy" and "A001" in terminal.message
    assert (terminal.current["id"], terminal.current["status"]) == (a1["id"], "called")
    assert terminal.start() and terminal.current["status"] == "serving"
    assert terminal.call_next() and terminal.current["number"] == "A002"
