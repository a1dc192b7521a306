"""The kiosk's view-model against a live site and sim devices: every citizen flow, no window."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import create_engine, text

from devices.cccd import id_hash_tag, id_key_id
from devices.layout import ticket_blocks
from devices.printer import open_printer
from kiosk.present import present
from kiosk.text import PRIORITIES

from .conftest import CCCD, KEY, Deferred, official_list, waiting, walk_to_priority


def stored_citizen(site, ticket_id: int) -> tuple:
    engine = create_engine(site.settings.database_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT citizen_hash, citizen_name FROM tickets WHERE id = :i"),
                                      {"i": ticket_id}).one())
    finally:
        engine.dispose()


def test_home_lists_the_sites_services_in_vietnamese_then_english(make_vm):
    vm = make_vm()
    screen = present(vm)
    assert screen.name == "home" and screen.title == "Xin mời chọn lĩnh vực"
    assert [tile.label for tile in screen.tiles] == ["Hộ tịch", "Chứng thực", "Cư trú", "Chính sách xã hội",
                                                      "Hộ kinh doanh"]
    assert screen.texts["language"] == "English"
    vm.toggle_language()
    screen = present(vm)
    assert screen.title == "Please choose a service"
    assert [tile.label for tile in screen.tiles][:2] == ["Civil status", "Certification"]
    assert screen.texts["language"] == "Tiếng Việt"


def test_search_without_diacritics_finds_the_procedure(make_vm):
    vm = make_vm()
    vm.search("dang ky khai sinh")
    hits = vm.search_hits()
    assert hits and hits[0].name_vi == "Đăng ký khai sinh" and hits[0].service == "hotich"
    assert [t.label for t in present(vm).tiles][0] == "Đăng ký khai sinh"
    vm.search("ĐĂNG KÝ KHAI SINH")
    assert vm.search_hits()[0].name_vi == "Đăng ký khai sinh"
    vm.search("xyz không có")
    assert present(vm).tiles == () and present(vm).body == "Không tìm thấy thủ tục. Xin mời chọn lĩnh vực."
    vm.search("dang ky khai sinh")
    vm.choose_service(hits[0].service, hits[0].procedure)
    assert vm.state.screen == "identify" and vm.state.procedure == hits[0].procedure and vm.state.query == ""


def test_full_flow_issues_prints_and_shows_the_ticket(make_vm, site):
    vm = make_vm()
    walk_to_priority(vm)
    assert vm.state.screen == "priority"
    vm.choose_priority(None)
    s = vm.state
    assert s.screen == "ticket" and s.print_problem is None and s.attempts == 1
    assert s.ticket["number"] == "A001" and s.ticket["service"] == "hotich"
    assert len(s.flow_key) >= 8 and vm.ticket_body() == {"service": "hotich", "idempotency_key": s.flow_key}
    # The printer got exactly the one ticket layout, with the server's number and tracking URL.
    expected = open_printer("sim://").encode(ticket_blocks(vm.ticket_view(s.ticket, "vi")))
    assert vm.printer.backend.output == expected
    assert s.ticket["track_url"].encode() in vm.printer.backend.output  # native QR carries the URL
    screen = present(vm)
    assert screen.texts["number"] == "A001" and screen.texts["service"] == "Hộ tịch"
    assert screen.body.splitlines()[0] == "Số người chờ trước bạn: 0"
    assert screen.body.splitlines()[1].startswith("Thời gian chờ dự kiến: ")
    assert screen.texts["footer"] == "Xin mời nhận phiếu bên dưới."
    assert waiting(site) == 1


def test_english_flow_prints_a_bilingual_ticket(make_vm):
    vm = make_vm()
    vm.toggle_language()
    walk_to_priority(vm, "chungthuc")
    vm.choose_priority(None)
    view = vm.ticket_view(vm.state.ticket, "en")
    assert view.service_en == "Certification" and vm.state.ticket["number"] == "B001"
    assert vm.printer.backend.output == open_printer("sim://").encode(ticket_blocks(view))
    assert present(vm).title == "Your number"


def test_card_greets_by_name_and_sends_only_hash_and_masked_name(make_vm, site):
    vm = make_vm()
    vm.choose_service("hotich")
    vm.scan_text(CCCD)
    assert present(vm).texts["greeting"] == "Xin chào, Lò Thị Mai"
    assert present(vm).texts["next"] == "Tiếp tục"
    vm.continue_()
    vm.choose_priority("elderly")
    digest = hmac.new(KEY, b"001190012345", hashlib.sha256).hexdigest()
    sent = vm.ticket_body()["citizen"]["id_hash"]  # keyed, with the key's id and tag (server.privacy checks them)
    assert sent == f"v1.{id_key_id(KEY)}.{digest}.{id_hash_tag(digest, KEY)}"
    assert vm.ticket_body() == {"service": "hotich", "idempotency_key": vm.state.flow_key, "priority": "elderly",
                                "citizen": {"id_hash": sent, "name_masked": "L** T** M**"}}
    assert stored_citizen(site, vm.state.ticket["id"]) == (digest, "L** T** M**")  # the server keeps the digest
    assert vm.state.greeting is None  # the name leaves the screen with the ticket
    assert "Lò Thị Mai" not in repr(present(vm))


def test_unreadable_card_is_said_and_the_citizen_carries_on(make_vm, site):
    vm = make_vm()
    vm.choose_service("hotich")
    for garbage in ("12345|x|y", "001190012345||Lò Thị Mai|31021990|Nữ|addr", "\x00\x01garbage"):
        vm.scan_text(garbage)
        assert vm.state.notice.startswith("cccd.")
        assert present(vm).notice == "Không đọc được thẻ. Bạn vẫn có thể lấy số bình thường."
    vm.toggle_language()
    assert present(vm).notice == "The card could not be read. You can still take a number."
    assert present(vm).texts["next"] == "Skip"
    vm.skip_identify()
    vm.choose_priority(None)
    assert vm.state.screen == "ticket" and "citizen" not in vm.ticket_body()
    assert stored_citizen(site, vm.state.ticket["id"]) == (None, None)


def test_every_priority_reaches_the_server(make_vm, site):
    vm = make_vm()
    for priority in PRIORITIES:
        walk_to_priority(vm)
        vm.choose_priority(priority)
        assert vm.state.ticket["priority"] == priority
        vm.go_home()
    assert sorted(t["priority"] for t in official_list(site)) == sorted(PRIORITIES)


def test_priority_screen_in_both_languages(make_vm):
    vm = make_vm()
    walk_to_priority(vm)
    labels = [t.label for t in present(vm).tiles]
    assert labels == ["Người cao tuổi", "Người khuyết tật", "Phụ nữ mang thai", "Người đưa con nhỏ dưới 36 tháng",
                      "Người có công với cách mạng", "Không, lấy số thường"]
    assert [t.action for t in present(vm).tiles][-1] == ("priority", None)
    vm.toggle_language()
    assert present(vm).tiles[1].label == "Person with a disability"


def test_double_tap_issues_one_ticket(make_vm, site):
    run = Deferred()
    vm = make_vm(run=run)
    walk_to_priority(vm)
    vm.choose_priority("pregnant")
    vm.choose_priority("pregnant")  # second tap while the first request is in flight
    vm.choose_priority(None)
    assert len(run.jobs) == 1
    run.run_all()
    assert vm.state.screen == "ticket"
    vm.choose_priority(None)  # a late tap on the ticket screen
    assert run.jobs == []
    assert waiting(site) == 1 and len(official_list(site)) == 1


def test_next_citizen_gets_a_fresh_key(make_vm, site):
    vm = make_vm()
    walk_to_priority(vm)
    vm.choose_priority(None)
    first = vm.state.flow_key
    vm.go_home()
    walk_to_priority(vm)
    vm.choose_priority(None)
    assert vm.state.flow_key != first and vm.state.ticket["number"] == "A002"
    assert waiting(site) == 2
