"""Dossier intake and status changes at the counter terminal, against a live server and a
``sim://`` receipt printer: the printed bytes are decoded back to the slip and its QR."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from PIL import Image, ImageChops
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from counter.client import CounterClient
from counter.dossier_desk import fold
from counter.messages import ERRORS_VI
from counter.terminal import TerminalModel
from devices.printer import open_printer
from server.storage.tables import dossiers as dossiers_table
from tests.support.live import PASSWORD

RASTER = b"\x1dv0"


def issue(site, service: str = "hotich") -> dict:
    with site.client("kiosk") as http:
        r = http.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": uuid.uuid4().hex})
        r.raise_for_status()
        return r.json()


def serving(site, printer_url: str | None = "sim://") -> tuple[TerminalModel, dict]:
    """Counter 1 logged in and open, serving a fresh Hộ tịch ticket."""
    printer = open_printer(printer_url) if printer_url else None
    model = TerminalModel(CounterClient(site.base_url, "demo", "1"), printer=printer)
    assert model.login("canbo1", PASSWORD) and model.open()
    ticket = issue(site)
    assert model.call_next() and model.current["id"] == ticket["id"]
    assert model.start()
    return model, ticket


@pytest.fixture
def models():
    made: list[TerminalModel] = []
    yield made
    for m in made:
        m.client.close()


def printed_images(job: bytes) -> Image.Image:
    """The raster image(s) of one ESC/POS job (GS v 0 blocks, stacked), as a greyscale image."""
    parts, at = [], job.find(RASTER)
    assert at >= 0, "no raster image in the job"
    while job.startswith(RASTER, at):
        width_bytes = job[at + 4] | job[at + 5] << 8
        height = job[at + 6] | job[at + 7] << 8
        data = job[at + 8:at + 8 + width_bytes * height]
        bits = Image.frombytes("1", (width_bytes * 8, height), data)
        parts.append(ImageChops.invert(bits.convert("L")))  # ESC/POS: 1 = black dot
        at += 8 + len(data)
    out = Image.new("L", (parts[0].width, sum(p.height for p in parts)), 255)
    y = 0
    for p in parts:
        out.paste(p, (0, y))
        y += p.height
    return out


def slip_png(site, code: str, form: str = "01") -> Image.Image:
    with site.client("canbo1") as http:
        r = http.get(f"/api/v1/dossiers/{code}/slip.png", params={"form": form})
        r.raise_for_status()
        return Image.open(io.BytesIO(r.content)).convert("L")


def assert_is_slip(site, job: bytes, code: str, track_url: str, form: str = "01") -> None:
    printed = printed_images(job)
    assert [s.data.decode() for s in decode(printed)] == [track_url]
    expected = slip_png(site, code, form).point(lambda v: 255 if v >= 128 else 0)
    assert printed.size == expected.size
    assert ImageChops.difference(printed, expected).getbbox() is None  # dot for dot the server's slip


def dossiers_of_ticket(site, ticket_id: int) -> int:
    with site.app.state.dossiers.db.read() as conn:
        return conn.execute(select(func.count()).select_from(dossiers_table)
                            .where(dossiers_table.c.ticket_id == ticket_id)).scalar_one()


def tracked(site, token: str) -> dict:
    r = httpx.get(f"{site.base_url}/api/v1/track/{token}")
    r.raise_for_status()
    return r.json()


def test_procedures_of_the_ticket_service_searchable_without_marks(site, models):
    model, _ = serving(site, None)
    models.append(model)
    everything = model.procedure_choices()
    assert len(everything) == 9 and everything[0].code == "1.001193"
    assert [p.code for p in model.procedure_choices("dang ky ket hon")] == ["1.000894"]
    assert {p.name for p in model.procedure_choices("KHAI sinh")} == {"Đăng ký khai sinh", "Đăng ký lại khai sinh"}
    assert [p.code for p in model.procedure_choices("1.004873")] == ["1.004873"]
    assert model.procedure_choices("xyz") == []
    assert model.procedure_choices("khai sinh")[0].label == "Đăng ký khai sinh (trong ngày)"
    assert fold("Đăng Ký") == "dang ky"


def test_receive_from_the_served_ticket_prints_mau_01(site, models):
    printer = open_printer("sim://")
    model = TerminalModel(CounterClient(site.base_url, "demo", "1"), printer=printer)
    models.append(model)
    assert model.login("canbo1", PASSWORD) and model.open()
    assert not model.receive_dossier("1.001193", "Nguyễn Văn An")
    assert model.error_code == "no_ticket" and model.message == ERRORS_VI["no_ticket"]
    ticket = issue(site)
    assert model.call_next()
    assert not model.receive_dossier("1.001193", "Nguyễn Văn An")
    assert model.error_code == "not_serving" and model.message == ERRORS_VI["not_serving"]
    assert model.start()
    for args, code in ((("1.001193", "   "), "name_required"), (("", "An"), "procedure_required"),
                       (("1.001193", "An", "12ab"), "phone_invalid"), (("9.999999", "An"), "unknown_procedure")):
        assert not model.receive_dossier(*args)
        assert model.error_code == code and model.message == ERRORS_VI[code] and model.message_is_error
    assert printer.backend.jobs == [] and dossiers_of_ticket(site, ticket["id"]) == 0

    assert model.receive_dossier("1.001193", "  Nguyễn   Văn An ", "0912 345 678")
    d = model.dossier
    assert not model.message_is_error and not model.print_pending
    due = datetime.fromisoformat(d["due_date"]).strftime("%d/%m/%Y")
    assert model.message == f"Đã tiếp nhận hồ sơ {d['code']}, hẹn trả {due}. Đã in phiếu tiếp nhận."
    assert d["applicant_name"] == "Nguyễn Văn An" and d["phone"] == "0912 345 678" and d["ticket_id"] == ticket["id"]
    assert d["token"] == ticket["token"] and d["track_url"] == ticket["track_url"]
    assert model.dossier_codes == [d["code"]] and d["code"] in model.dossier_text

    # the QR the citizen already holds now shows the dossier
    track = tracked(site, ticket["token"])
    assert track["kind"] == "dossier" and track["code"] == d["code"] and track["status"] == "received"
    assert len(printer.backend.jobs) == 1
    assert_is_slip(site, printer.backend.jobs[0], d["code"], ticket["track_url"])

    # a double Enter does not make a second dossier or a second slip
    assert model.receive_dossier("1.001193", "Nguyễn Văn An", "0912 345 678")
    assert model.dossier["code"] == d["code"] and "đã được tiếp nhận" in model.message
    assert dossiers_of_ticket(site, ticket["id"]) == 1 and len(printer.backend.jobs) == 1

    assert model.key("f10") and model.message == f"Đã in lại phiếu hồ sơ {d['code']}."
    assert len(printer.backend.jobs) == 2 and printer.backend.jobs[1] == printer.backend.jobs[0]


def test_paper_out_keeps_the_dossier_and_reprints_once_fixed(site, models):
    model, ticket = serving(site, "sim://?fault=paper_out&clear_after=1")
    models.append(model)
    printer = model.printer
    assert model.receive_dossier("1.004873", "Lò Thị Bình", channel="direct")  # the dossier is received
    d = model.dossier
    due = datetime.fromisoformat(d["due_date"]).strftime("%d/%m/%Y")
    assert model.message_is_error and model.error_code == "printer.paper_out" and model.print_pending
    assert model.message.startswith(f"Máy in hết giấy — hồ sơ đã được tiếp nhận, mã {d['code']}, hẹn trả {due}.")
    assert "In lại" in model.message
    assert printer.backend.jobs == [] and dossiers_of_ticket(site, ticket["id"]) == 1

    # pressing "Tiếp nhận" again instead of "In lại" still does not duplicate it
    assert model.receive_dossier("1.004873", "Lò Thị Bình")
    assert dossiers_of_ticket(site, ticket["id"]) == 1 and model.dossier["code"] == d["code"]

    assert model.reprint()  # paper loaded: the fault has cleared
    assert not model.message_is_error and not model.print_pending
    assert dossiers_of_ticket(site, ticket["id"]) == 1 and len(printer.backend.jobs) == 1
    assert_is_slip(site, printer.backend.jobs[0], d["code"], ticket["track_url"])


def test_printer_still_offline_reprint_says_so(site, models):
    model, ticket = serving(site, "sim://?fault=offline")
    models.append(model)
    assert model.receive_dossier("1.001193", "Quàng Văn Cường")
    code = model.dossier["code"]
    assert model.error_code == "printer.offline" and model.message.startswith("Máy in không kết nối được — hồ sơ")
    assert not model.reprint()
    assert model.error_code == "printer.offline" and f"mã {code}" in model.message and model.print_pending
    assert dossiers_of_ticket(site, ticket["id"]) == 1


def test_no_printer_configured(site, models):
    model, _ = serving(site, None)
    models.append(model)
    assert not model.reprint() and model.error_code == "nothing_to_print"
    assert model.receive_dossier("1.001193", "Lường Thị Dung")
    assert not model.message_is_error and model.message.endswith(".") and "in phiếu" not in model.message
    assert not model.reprint() and model.message == ERRORS_VI["no_printer"]


def test_status_updates_and_refusals_as_sentences(site, models):
    model, _ = serving(site, None)
    models.append(model)
    assert not model.update_dossier_status("", "processing")
    assert model.error_code == "no_dossier"
    assert model.receive_dossier("1.004873", "Vì Văn Em")
    code = model.dossier["code"]

    assert model.update_dossier_status(None, "processing")  # the dossier on screen
    assert model.message == f"Hồ sơ {code}: Đang xử lý." and model.dossier["status"] == "processing"
    assert not model.update_dossier_status(code, "supplement_requested", "  ")
    assert model.error_code == "note_required" and model.message == ERRORS_VI["note_required"]
    assert model.dossier["status"] == "processing"
    assert not model.update_dossier_status(code, "returned")  # not resolved yet
    assert model.error_code == "invalid_transition" and model.message_is_error
    assert model.message.startswith(f"Hồ sơ {code} đang ở trạng thái «Đang xử lý», không chuyển sang «Đã trả kết quả»")
    assert not model.update_dossier_status(code, "bogus")
    assert model.message == ERRORS_VI["unknown_status"]
    assert not model.update_dossier_status("demo-000000-9999", "processing")
    assert model.message == ERRORS_VI["unknown_dossier"]

    assert model.update_dossier_status(code, "supplement_requested", "Thiếu bản sao giấy khai sinh")
    with site.client("canbo2") as http:
        history = http.get(f"/api/v1/dossiers/{code}").json()["history"]
    assert history[-1]["note"] == "Thiếu bản sao giấy khai sinh" and history[-1]["by"] == "canbo1"
    assert model.update_dossier_status(code, "processing") and model.update_dossier_status(code, "resolved")
    assert model.update_dossier_status(code, "returned") and model.message == f"Hồ sơ {code}: Đã trả kết quả."
    assert not model.update_dossier_status(code, "processing")  # final
    assert "«Đã trả kết quả»" in model.message


def test_58mm_printer_gets_a_slip_that_fits(site, models):
    model, ticket = serving(site, "sim://?paper=58")
    models.append(model)
    assert model.receive_dossier("1.001193", "Tòng Thị Lan") and not model.message_is_error
    printed = printed_images(model.printer.backend.jobs[0])
    assert printed.width == 384
    assert [s.data.decode() for s in decode(printed)] == [ticket["track_url"]]


def test_apology_for_a_late_dossier_prints_mau_04(site, models):
    store = site.app.state.dossiers
    late = store.create(site="demo", procedure_code="1.004873", applicant_name="Hà Văn Giang", channel="direct",
                        actor="canbo1", now=datetime.now(timezone.utc) - timedelta(days=30))
    printer = open_printer("sim://")
    model = TerminalModel(CounterClient(site.base_url, "demo", "1"), printer=printer)
    models.append(model)
    assert model.login("canbo1", PASSWORD)
    assert model.open_dossier(late["code"]) and model.dossier["code"] == late["code"]
    assert late["code"] in model.message

    profile = store.profile_for("demo")
    today = profile.calendar.local_date(datetime.now(timezone.utc))
    new_day = profile.calendar.add_working_days(today, 3)
    holiday = next(today + timedelta(days=n) for n in range(1, 15)
                   if not profile.calendar.is_working_day(today + timedelta(days=n)))
    assert not model.apology(None, "31/02/2099", "Chờ xác minh")
    assert model.message == ERRORS_VI["invalid_date"]
    assert not model.apology(None, new_day, "  ")
    assert model.message == ERRORS_VI["note_required"]
    assert not model.apology(None, holiday, "Chờ xác minh")
    assert model.message == ERRORS_VI["invalid_appointment"]
    assert printer.backend.jobs == []

    assert model.apology(None, new_day.strftime("%d/%m/%Y"), "Chờ xác minh của công an xã")
    assert model.message == (f"Đã ghi và in văn bản xin lỗi hồ sơ {late['code']}, "
                             f"hẹn trả mới {new_day:%d/%m/%Y}.")
    assert model.dossier["promised_date"] == new_day.isoformat()
    assert len(printer.backend.jobs) == 1
    assert_is_slip(site, printer.backend.jobs[0], late["code"], late["track_url"], form="04")

    fresh = store.create(site="demo", procedure_code="1.004873", applicant_name="Hà Thị Hoa", channel="direct",
                         actor="canbo1")
    assert not model.apology(fresh["code"], new_day, "Chờ xác minh")
    assert model.message == ERRORS_VI["apology_not_due"]


def test_a_bad_printer_url_is_a_configuration_error():
    from typer.testing import CliRunner

    from tests.counter.test_cli import app

    result = CliRunner().invoke(app(), ["counter", "--server", "http://127.0.0.1:9", "--counter", "1",
                                        "--printer", "bogus://x"])
    assert result.exit_code == 2 and "bogus" in result.output


@pytest.mark.parametrize("name, printer, keys", [
    ("terminal-intake", "sim://", "f1,f3,f9"),
    ("terminal-intake-paper-out", "sim://?fault=paper_out", "f1,f3,f9,enter"),
])
def test_intake_panel_screenshot(site, tmp_path, name, printer, keys):
    """The real window: F1, F3, then F9 opens the intake panel, typed into like an official would;
    then Enter receives on a printer out of paper (the code and due date stay on screen)."""
    from tests.counter.test_screens import ARTIFACTS, finish, kivy_env, motcua

    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    with site.client("canbo1") as http:
        http.post("/api/v1/sites/demo/counters/1/open").raise_for_status()
    ticket = issue(site)
    proc = motcua("counter", "--server", site.base_url, "--site", "demo", "--counter", "1", "--user", "canbo1",
                  "--printer", printer, "--screenshot", str(shot), "--screenshot-keys", keys,
                  "--screenshot-intake", "khai sinh|Nguyễn Văn An|0912 345 678",
                  env=kivy_env(tmp_path, MOTCUA_PASSWORD=PASSWORD))
    image = finish(proc, shot)
    assert image.size[0] < 1000
    assert dossiers_of_ticket(site, ticket["id"]) == (1 if keys.endswith("enter") else 0)


def test_intake_whose_answer_was_lost_is_not_received_twice(site, models):
    """The server received the dossier but the answer never came back (held past the timeout):
    pressing «Tiếp nhận» again gets the same dossier, because the terminal resends the same key."""
    from tests.kiosk.proxy import FlakyProxy

    proxy = FlakyProxy(site.port, hold_s=3.0).start()
    try:
        model = TerminalModel(CounterClient(proxy.url, "demo", "1", timeout=1.0), printer=None)
        models.append(model)
        assert model.login("canbo1", PASSWORD) and model.open()
        ticket = issue(site)
        assert model.call_next() and model.start()
        proxy.hold_next = 1
        assert not model.receive_dossier("1.001193", "Lò Thị Mai")  # timed out: the official sees an error
        assert dossiers_of_ticket(site, ticket["id"]) == 1  # … but the server did receive it
        assert model.receive_dossier("1.001193", "Lò Thị Mai")
        assert dossiers_of_ticket(site, ticket["id"]) == 1
        assert tracked(site, ticket["token"])["kind"] == "dossier"
    finally:
        proxy.stop()


def test_the_official_states_the_766_facts_with_the_changes(site, models):
    """Decision 766 3.6 / 4.1 / 4.2: "Đã số hóa thành phần" at intake, "TT trực tuyến" when the
    fee step ends, "Đã số hóa" when resolving; ticked on the wrong change it is a sentence."""
    model, _ = serving(site, None)
    models.append(model)
    assert model.receive_dossier("1.004873", "Lò Văn Khánh", digitised=True)
    code = model.dossier["code"]
    assert model.update_dossier_status(code, "fee_due")
    assert not model.update_dossier_status(code, "withdrawn", "Công dân xin rút", paid_online=True)
    assert model.error_code == "fact_not_applicable" and model.message == ERRORS_VI["fact_not_applicable"]
    assert model.update_dossier_status(code, "processing", paid_online=True)
    assert model.update_dossier_status(code, "resolved", digitised=True)
    with site.client("canbo2") as http:
        view = http.get(f"/api/v1/dossiers/{code}").json()
    history = view["history"]
    assert [(h["to"], h.get("components_digitised"), h.get("paid_online"), h.get("result_digitised"))
            for h in history] == [("received", True, None, None), ("fee_due", None, None, None),
                                  ("processing", None, True, None), ("resolved", None, None, True)]
    assert view["status"] == "resolved"
