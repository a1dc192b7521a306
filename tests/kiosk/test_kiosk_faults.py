"""Faults a citizen meets, said in words: server down or slow, printer out of paper, idle screens."""

from __future__ import annotations

import json
import queue

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.mqtt import Topics
from kiosk.client import KioskClient, TrackUnavailable
from kiosk.flow import KioskController, track_token
from kiosk.present import present
from kiosk.status import MqttStatus
from server.broker import free_port

from .conftest import CCCD, KEY, Recorder, official_list, waiting, walk_to_priority
from .proxy import FlakyProxy


@pytest.fixture
def proxy(site):
    flaky = FlakyProxy(site.port, hold_s=1.5).start()
    yield flaky
    flaky.stop()


def test_retry_after_a_timeout_reuses_the_key_and_gives_one_ticket(make_vm, site, proxy):
    vm = make_vm(server=proxy.url, timeout=0.5)
    walk_to_priority(vm)
    proxy.hold_next = 1  # the server issues, but the kiosk times out before the answer
    vm.choose_priority(None)
    assert vm.state.screen == "ticket" and vm.state.attempts == 2
    assert vm.state.ticket["number"] == "A001"
    assert waiting(site) == 1 and [t["number"] for t in official_list(site)] == ["A001"]


def test_server_down_sends_to_reception_then_retry_uses_the_same_key(make_vm, site, proxy):
    vm = make_vm(server=proxy.url, timeout=0.5)
    walk_to_priority(vm)
    key = vm.state.flow_key
    proxy.down()
    vm.choose_priority("merit")
    assert vm.state.screen == "help" and vm.state.attempts == 3  # first try + two retries
    screen = present(vm)
    assert screen.title == "Vui lòng đến bàn hướng dẫn"
    assert screen.texts["retry"] == "Thử lại"
    vm.toggle_language()
    assert present(vm).title == "Please go to the reception desk"
    proxy.up()
    vm.retry()
    assert vm.state.screen == "ticket" and vm.state.flow_key == key and vm.state.ticket["priority"] == "merit"
    vm.retry()  # a tap on a stale "try again" does nothing
    assert waiting(site) == 1


def test_closed_port_is_unreachable_not_a_crash(site, clock):
    port = free_port()
    client = KioskClient(f"http://127.0.0.1:{port}", site.tokens["kiosk"], "demo", timeout=0.5).open()
    vm = KioskController(client, None, id_key=KEY, clock=clock, sleep=lambda _s: None, retry_delays=(0.1,))
    vm.start()
    assert vm.menu_error == "server.unreachable" and present(vm).body.startswith("Máy chưa lấy được số")
    vm.menu = {"site": {"name": "X"}, "services": [{"id": "hotich", "name_vi": "Hộ tịch", "name_en": "Civil status",
                                                     "icon": "family", "procedures": []}]}
    walk_to_priority(vm)
    vm.choose_priority(None)
    assert vm.state.screen == "help" and vm.state.attempts == 2
    client.close()


def test_refused_request_is_not_retried(site, clock):
    client = KioskClient(site.base_url, "not-a-token", "demo").open()
    calls = []
    vm = KioskController(client, None, id_key=KEY, clock=clock, sleep=calls.append)
    vm.menu = {"site": {}, "services": [{"id": "hotich", "name_vi": "Hộ tịch", "procedures": []}]}
    walk_to_priority(vm)
    vm.choose_priority(None)
    assert vm.state.screen == "help" and vm.state.attempts == 1 and calls == []
    assert waiting(site) == 0
    client.close()


@pytest.mark.parametrize("fault, key, words", [
    ("paper_out", "printer.paper_out", "Máy in hết giấy."),
    ("offline", "printer.offline", "Máy in đang không hoạt động."),
    ("timeout", "printer.timeout", "Máy in không phản hồi."),
])
def test_printer_fault_still_issues_and_shows_number_and_qr(make_vm, site, fault, key, words):
    status = Recorder()
    vm = make_vm(printer=f"sim://?fault={fault}&after=2" if fault != "paper_out" else "sim://?fault=paper_out",
                 status=status)
    walk_to_priority(vm)
    vm.choose_priority(None)
    s = vm.state
    assert s.screen == "ticket" and s.print_problem == key and s.ticket["number"] == "A001"
    screen = present(vm)
    assert screen.notice == words
    assert screen.texts["footer"] == "Xin chụp ảnh màn hình này hoặc ghi lại số."
    assert screen.texts["track_url"] == s.ticket["track_url"]
    assert status.reports[-1] == (False, key.split(".", 1)[1])
    assert waiting(site) == 1


def test_printer_that_comes_back_is_reported_ok(make_vm):
    status = Recorder()
    vm = make_vm(printer="sim://?fault=paper_out&clear_after=1", status=status)
    for _ in range(2):
        walk_to_priority(vm)
        vm.choose_priority(None)
        vm.go_home()
    assert status.reports == [(True, "ok"), (False, "paper_out"), (True, "ok")]


def test_printer_status_is_published_retained_over_mqtt(mqtt_site, broker, clock):
    status = MqttStatus(broker.url("kiosk-1"), "demo", "kiosk-1")
    client = KioskClient(mqtt_site.base_url, mqtt_site.tokens["kiosk"], "demo").open()
    from devices.printer import open_printer

    vm = KioskController(client, open_printer("sim://?fault=paper_out"), id_key=KEY, clock=clock, status=status)
    status.start()
    try:
        assert status.link.connected.wait(10)
        vm.start()
        walk_to_priority(vm)
        vm.choose_priority(None)
        assert vm.state.print_problem == "printer.paper_out"
        topics = Topics("demo")
        got: queue.Queue = queue.Queue()
        reader = paho.Client(CallbackAPIVersion.VERSION2, client_id="t-display")
        reader.username_pw_set("display-hall", "display-hall-pass")
        reader.on_message = lambda _c, _u, m: got.put((m.topic, m.payload, m.retain))
        reader.on_connect = lambda c, *_: c.subscribe([(topics.device_status("kiosk-1"), 1),
                                                       (topics.device_availability("kiosk-1"), 1)])
        reader.connect(broker.host, broker.port)
        reader.loop_start()
        seen = {}
        while len(seen) < 2:
            topic, payload, retained = got.get(timeout=10)
            assert retained
            seen[topic] = payload
        reader.loop_stop()
        reader.disconnect()
        body = json.loads(seen[topics.device_status("kiosk-1")])
        assert {k: body[k] for k in ("kind", "ok", "detail", "v")} == {"kind": "printer", "ok": False,
                                                                       "detail": "paper_out", "v": 1}
        assert seen[topics.device_availability("kiosk-1")] == b"online"
    finally:
        status.stop()
        client.close()


def test_idle_returns_home_and_forgets_the_citizen(make_vm, clock):
    vm = make_vm()
    vm.toggle_language()
    vm.choose_service("hotich")
    vm.scan_text(CCCD)
    clock.advance(59)
    vm.tick()
    assert vm.state.screen == "identify" and vm.state.greeting == "Lò Thị Mai"
    clock.advance(1)
    vm.tick()
    assert vm.state.screen == "home" and vm.state.greeting is None and vm.state.citizen is None
    assert vm.state.lang == "vi" and vm.state.flow_key is None


def test_ticket_screen_stays_longer_when_not_printed(make_vm, clock):
    vm = make_vm()
    walk_to_priority(vm)
    vm.choose_priority(None)
    clock.advance(12)
    vm.tick()
    assert vm.state.screen == "home"
    vm2 = make_vm(printer="sim://?fault=paper_out")
    walk_to_priority(vm2)
    vm2.choose_priority(None)
    clock.advance(44)
    vm2.tick()
    assert vm2.state.screen == "ticket"
    clock.advance(1)
    vm2.tick()
    assert vm2.state.screen == "home" and vm2.state.ticket is None


def test_touch_keeps_a_screen_alive(make_vm, clock):
    vm = make_vm()
    vm.choose_service("hotich")
    clock.advance(50)
    vm.touch()
    clock.advance(50)
    vm.tick()
    assert vm.state.screen == "identify"


def test_track_scan_shows_the_status(make_vm, site):
    vm = make_vm()
    walk_to_priority(vm)
    vm.choose_priority(None)
    url = vm.state.ticket["track_url"]
    vm.go_home()
    vm.scan_text(url)
    assert vm.state.screen == "track"
    screen = present(vm)
    assert screen.texts["number"] == "A001"
    if vm.state.track is not None and "status" in vm.state.track:  # the server's tracking endpoint
        assert screen.body.splitlines()[0] == "Trạng thái: đang chờ"
    else:  # no endpoint on this server: the kiosk remembers its own ticket
        assert screen.notice.startswith("Chưa xem được trạng thái")


def test_track_falls_back_when_the_server_cannot_tell(site, clock):
    class NoTracking(KioskClient):
        def track(self, token):
            raise TrackUnavailable("absent", code="server.refused", status=404)

    client = NoTracking(site.base_url, site.tokens["kiosk"], "demo").open()
    vm = KioskController(client, None, id_key=KEY, clock=clock)
    vm.start()
    walk_to_priority(vm)
    vm.choose_priority(None)
    token = vm.state.ticket["token"]
    vm.go_home()
    vm.scan_text(f"http://kiosk.invalid/t/{token}")
    assert vm.state.track == {"number": "A001"} and vm.state.notice == "track.unavailable"
    vm.scan_text("http://kiosk.invalid/t/unknownunknown")
    assert vm.state.track is None
    assert present(vm).notice == ("Chưa xem được trạng thái lượt tại đây. "
                                  "Xin mời theo dõi màn hình trong sảnh.")
    client.close()


def test_track_token_parsing():
    assert track_token("https://x.vn/t/abcDEF_-12345678") == "abcDEF_-12345678"
    assert track_token("https://x.vn/t/abcDEF_-12345678?lang=en") == "abcDEF_-12345678"
    assert track_token("https://x.vn/tickets/12") is None
    assert track_token("t/short") is None
